package vhostuser_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/vhostuser"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The guest's (testpmd's) MAC and the addresses on the test subnet.
const (
	guestMAC = "02:00:00:00:91:02"
	nsAddr   = "10.91.0.1"
	guestIP  = "10.91.0.2"
)

// TestTestpmdThroughSwitch plugs DPDK's virtio_user driver (testpmd, as
// the guest) into a vhost-user port of a running switch whose other port
// is a veth into a namespace: frames from the namespace reach testpmd,
// frames from testpmd reach the namespace's UDP layer intact, and when
// testpmd is killed mid-traffic and started again, traffic resumes.
func TestTestpmdThroughSwitch(t *testing.T) {
	needTestpmd(t)
	sw, err := vswitch.New(vswitch.Options{Workers: 1, PoolFrames: 8192, Idle: pipeline.IdleSleep})
	require.NoError(t, err)
	t.Cleanup(func() { sw.Close() })

	ns := nettest.NewNS(t)
	host := "vsvu" + nettest.Suffix()
	nsMAC := nettest.Veth(t, host, ns, nsAddr+"/24", 1)
	xp, err := afxdp.New(afxdp.Config{Name: "ns", Ifname: host, RingSize: 1024})
	require.NoError(t, err)
	require.NoError(t, sw.AddPort(xp))
	sock := filepath.Join(t.TempDir(), "vm1.sock")
	vp, err := vhostuser.New(vhostuser.Config{Name: "vm1", Socket: sock, Logger: quietUnlessVerbose()})
	require.NoError(t, err)
	require.NoError(t, sw.AddPort(vp))
	require.NoError(t, sw.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
		{Name: "br0", Ports: []vswitch.Port{{Name: "ns"}, {Name: "vm1"}}},
	}}))
	require.NoError(t, sw.Start())

	// testpmd sends UDP from guestIP to the namespace's address and MAC.
	pmdArgs := []string{"--eth-peer=0," + macString(nsMAC), "--tx-ip=" + guestIP + "," + nsAddr}
	pmd := startTestpmd(t, sock, "--lcores=0@0,1@0", "mac="+guestMAC, pmdArgs...)
	require.True(t, waitUntil(10*time.Second, func() bool { return vp.Status().RunningRings == 2 }), "%+v", vp.Status())

	// Namespace to guest: pings to guestIP, resolved statically.
	pmd.run("set fwd rxonly")
	pmd.run("start")
	out, err := ns.Command("ip", "neigh", "replace", guestIP, "lladdr", guestMAC, "dev", "eth0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	ns.Command("ping", "-c", "50", "-i", "0.01", "-W", "1", guestIP).Run() // no reply: rxonly
	require.True(t, waitUntil(5*time.Second, func() bool { rx, _ := pmd.stats(); return rx >= 50 }),
		"testpmd received too little; port %+v", vp.Stats())
	pmd.run("stop")

	// Guest to namespace: a burst of testpmd's UDP datagrams, each of
	// which the namespace's kernel checks (IP checksum, lengths) and
	// counts as NoPorts (nothing listens on testpmd's port 9).
	burst := func(p *testpmd) uint64 {
		before := snmp(t, ns, "Udp", "NoPorts")
		p.run("set fwd txonly")
		p.run("start")
		ok := waitUntil(5*time.Second, func() bool { return snmp(t, ns, "Udp", "NoPorts")-before >= 1000 })
		p.run("stop")
		require.True(t, ok, "datagrams from testpmd did not reach the namespace; port %+v", vp.Stats())
		return snmp(t, ns, "Udp", "NoPorts") - before
	}
	t.Logf("namespace got %d datagrams from testpmd", burst(pmd))

	// The VMM dies mid-traffic; a new one connects and traffic resumes.
	pmd.run("set fwd txonly")
	pmd.run("start")
	time.Sleep(200 * time.Millisecond)
	pmd.kill()
	require.True(t, waitUntil(5*time.Second, func() bool { return !vp.Status().Connected }), "disconnect not seen")
	pmd = startTestpmd(t, sock, "--lcores=0@0,1@0", "mac="+guestMAC, pmdArgs...)
	require.True(t, waitUntil(10*time.Second, func() bool { return vp.Status().RunningRings == 2 }), "%+v", vp.Status())
	t.Logf("after the restart the namespace got %d datagrams", burst(pmd))
	pmd.run("set fwd rxonly")
	pmd.run("start")
	rx0, _ := pmd.stats()
	ns.Command("ping", "-c", "20", "-i", "0.01", "-W", "1", guestIP).Run()
	require.True(t, waitUntil(5*time.Second, func() bool { rx, _ := pmd.stats(); return rx-rx0 >= 20 }))

	s := vp.Stats()
	t.Logf("vhost-user port: %+v", s)
	require.Equal(t, uint64(2), s.Connections)
	require.Zero(t, s.RxBadDesc+s.RxBadAddr+s.TxBadDesc+s.TxBadAddr+s.RxBrokenRings+s.TxBrokenRings, "bad descriptors")
	require.Zero(t, s.ProtocolErrors+s.Faults+s.RxRunt+s.RxOversize+s.RxGSO+s.RxBadHeader)
	require.NotZero(t, s.RxPackets)
	require.NotZero(t, s.TxPackets)
}

func quietUnlessVerbose() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.DiscardHandler)
}
