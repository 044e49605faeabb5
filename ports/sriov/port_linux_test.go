package sriov_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/ports/sriov/sriovtest"
)

// TestPortDataPath: a veth stands in for VF 2's netdev (fake sysfs names
// it, the recording netlink takes the VF settings). The namespace at the
// veth's far end pings an address that only the port's rx and tx answer:
// the ping succeeds only if frames arriving on the "VF netdev" reach Rx and
// frames given to Tx leave on it.
func TestPortDataPath(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	vfdev := "vsv" + nettest.Suffix()
	nettest.Veth(t, vfdev, ns, "10.91.0.1/24", 1)

	sys := sriovtest.NewSysfs(t)
	sys.AddPF(pf, "0000:03:00.0", 4)
	sys.AddVF(pf, 2, "0000:03:02.2", vfdev)
	rec := sriovtest.NewRecorder()
	rec.AddPF(pf, 7, netlink.VfInfo{ID: 2, Spoofchk: true, LinkState: 0})
	h := &sriov.Host{Netlink: rec, Sysfs: sys.Root}

	cfg := sriov.VFConfig{SpoofCheck: ptr(false), Trust: ptr(true), LinkState: sriov.StateEnable}
	p, err := h.NewPort(sriov.PortConfig{Name: "pf0vf2", PF: pf, VF: 2, Config: cfg, XDP: afxdp.Config{RingSize: 512}})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	require.Equal(t, "pf0vf2", p.Name())
	require.Equal(t, vfdev, p.Netdev())
	require.Equal(t, []string{
		"LinkSetVfSpoofchk ens1f0 vf=2 false",
		"LinkSetVfTrust ens1f0 vf=2 true",
		"LinkSetVfState ens1f0 vf=2 1",
	}, rec.Sets())

	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	rx, err := p.OpenRx(0, pool)
	require.NoError(t, err)
	tx, err := p.OpenTx(0, pool)
	require.NoError(t, err)

	ip, mac := net.IP{10, 91, 0, 2}, net.HardwareAddr{2, 0, 0, 0x91, 0, 2}
	ping := ns.Command("ping", "-c", "3", "-i", "0.2", "-W", "2", ip.String())
	done := make(chan error, 1)
	var out []byte
	go func() { var err error; out, err = ping.CombinedOutput(); done <- err }()
	r := nettest.NewResponder(ip, mac)
	perr := r.Serve(t, rx, tx, pool, done, 15*time.Second)
	require.NoError(t, perr, "ping through the sriov port failed: %s", out)
	require.GreaterOrEqual(t, r.Seen["arp"], 1)
	require.GreaterOrEqual(t, r.Seen["echo"], 3)

	require.NoError(t, rx.Close())
	require.NoError(t, tx.Close())
	require.NoError(t, p.Close())
	pool.Reclaim()
	require.Equal(t, pool.Size(), pool.Available())

	// Close left the VF settings alone; Restore puts back the old ones.
	got, _ := rec.VF(pf, 2)
	require.Equal(t, uint32(1), got.Trust)
	rec.Reset()
	require.NoError(t, p.Restore())
	require.Equal(t, []string{
		"LinkSetVfSpoofchk ens1f0 vf=2 true",
		"LinkSetVfTrust ens1f0 vf=2 false",
		"LinkSetVfState ens1f0 vf=2 0",
	}, rec.Sets())
}
