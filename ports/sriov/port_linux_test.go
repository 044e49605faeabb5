package sriov_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
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

// TestAdoptRefuses: a hand-off port is adopted only as the same VF with
// the same netdev; an adopted one applies no VF setting (the kernel kept
// them) and keeps what Restore would put back.
func TestAdoptRefuses(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	vfdev := "vsw" + nettest.Suffix()
	nettest.Veth(t, vfdev, ns, "10.92.0.1/24", 1)
	sys := sriovtest.NewSysfs(t)
	sys.AddPF(pf, "0000:03:00.0", 4)
	sys.AddVF(pf, 2, "0000:03:02.2", vfdev)
	sys.AddVF(pf, 3, "0000:03:02.3", "")
	rec := sriovtest.NewRecorder()
	rec.AddPF(pf, 7, netlink.VfInfo{ID: 2, Spoofchk: true}, netlink.VfInfo{ID: 3})
	h := &sriov.Host{Netlink: rec, Sysfs: sys.Root}
	cfg := sriov.VFConfig{SpoofCheck: ptr(false)}
	p, err := h.NewPort(sriov.PortConfig{Name: "pf0vf2", PF: pf, VF: 2, Config: cfg, XDP: afxdp.Config{RingSize: 512}})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 4096, Shared: true})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	rx, err := p.OpenRx(0, pool)
	require.NoError(t, err)
	t.Cleanup(func() { rx.Close() })
	ho, fds, err := p.Handover()
	require.NoError(t, err)
	require.Equal(t, []any{pf, 2, vfdev}, []any{ho.PF, ho.VF, ho.Netdev})

	for name, pc := range map[string]sriov.PortConfig{
		"another VF": {Name: "x", PF: pf, VF: 3},
		"another PF": {Name: "x", PF: "ens9", VF: 2},
		"no name":    {PF: pf, VF: 2},
	} {
		_, err := h.Adopt(pc, ho, fds)
		require.Error(t, err, name)
	}
	moved := ho
	moved.Netdev = "elsewhere0"
	_, err = h.Adopt(sriov.PortConfig{Name: "x", PF: pf, VF: 2}, moved, fds)
	require.ErrorIs(t, err, sriov.ErrNoNetdev)

	rec.Reset()
	q, err := h.Adopt(sriov.PortConfig{Name: "new", PF: pf, VF: 2, XDP: afxdp.Config{RingSize: 512}}, ho, nettest.DupFDs(t, fds))
	require.NoError(t, err)
	require.Empty(t, rec.Sets(), "adopting applies no VF setting")
	require.Equal(t, p.Saved(), q.Saved())
	require.Equal(t, vfdev, q.Netdev())
	require.NoError(t, q.Swap(), "the adopter's XDP program goes into the link")
	require.NoError(t, q.Swap(), "once")
	q.Port.Release() // the giver still runs
	require.NoError(t, q.Close())
	require.NoError(t, p.TakeBack(), "an abandoned takeover: the giver's program back")
	require.ErrorIs(t, q.Swap(), ports.ErrClosed)
}
