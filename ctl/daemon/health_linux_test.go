package daemon

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// portView returns the port's view as show presents it.
func portView(t *testing.T, d *Daemon, name string) ctl.PortView {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, v := range d.portViews("") {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no port %s", name)
	return ctl.PortView{}
}

func pingOK(ns *nettest.NS, to string) bool {
	return ns.Command("ping", "-c", "1", "-W", "1", to).Run() == nil
}

// TestVanishedInterfaceGoesDownAndRecovers: a port whose interface is
// deleted is shown down with the reason and counted, and comes back up
// by itself, forwarding again, when the interface is back.
func TestVanishedInterfaceGoesDownAndRecovers(t *testing.T) {
	nettest.NeedRoot(t)
	ns1, ns2 := nettest.NewNS(t), nettest.NewNS(t)
	sfx := nettest.Suffix()
	dev := "vsh" + sfx
	nettest.Veth(t, dev, ns1, "10.77.0.1/24", 1)
	d := newTestDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	r := run(t, d, "add-port", "br0", "x1", "type=afxdp", "dev="+dev)
	require.True(t, r.OK, "%+v", r.Error)
	r = run(t, d, "add-port", "br0", "vc"+sfx, "type=veth", "netns="+ns2.Path(), "ip=10.77.0.2/24")
	require.True(t, r.OK, "%+v", r.Error)
	require.Eventually(t, func() bool { return pingOK(ns1, "10.77.0.2") }, 10*time.Second, 100*time.Millisecond)
	require.True(t, portView(t, d, "x1").Up)

	l, err := netlink.LinkByName(dev)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkDel(l))
	require.Eventually(t, func() bool { return portView(t, d, "x1").Down != "" }, 5*time.Second, 50*time.Millisecond,
		"the port still shows up after its interface was deleted")
	v := portView(t, d, "x1")
	require.False(t, v.Up)
	require.False(t, v.Attached)
	require.Contains(t, v.Down, dev+" was deleted")
	require.Equal(t, uint64(1), v.Losses)
	time.Sleep(2*healthInterval + 500*time.Millisecond) // retries fail while it is gone
	v = portView(t, d, "x1")
	require.NotEmpty(t, v.Down)
	require.Contains(t, v.LastTry, "no device "+dev)
	require.True(t, portView(t, d, "vc"+sfx).Up, "the other port was disturbed")

	nettest.Veth(t, dev, ns1, "10.77.0.1/24", 1) // the interface comes back (ns1's eth0 too)
	require.Eventually(t, func() bool { return portView(t, d, "x1").Up }, 5*time.Second, 50*time.Millisecond,
		"the port did not come back with its interface")
	v = portView(t, d, "x1")
	require.Empty(t, v.Down)
	require.Equal(t, uint64(1), v.Losses)
	require.Eventually(t, func() bool { return pingOK(ns1, "10.77.0.2") }, 10*time.Second, 100*time.Millisecond,
		"no traffic after the interface came back")
}

// TestSweepStaleDump: the health sweep's dump of the host's links is
// taken before the daemon's lock, so it may be older than a port's
// interface: a link it does not show, or shows with another index, is
// looked up again, and its port is taken down only if that lookup does
// not find it either.
func TestSweepStaleDump(t *testing.T) {
	nettest.NeedRoot(t)
	ns1 := nettest.NewNS(t)
	dev := "vss" + nettest.Suffix()
	nettest.Veth(t, dev, ns1, "10.78.0.1/24", 1)
	d := newTestDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	r := run(t, d, "add-port", "br0", "x1", "type=afxdp", "dev="+dev)
	require.True(t, r.OK, "%+v", r.Error)
	l, err := netlink.LinkByName(dev)
	require.NoError(t, err)
	sweep := func(links map[string]int) {
		d.mu.Lock()
		d.sweep(links, nil)
		d.mu.Unlock()
	}
	sweep(map[string]int{}) // a dump from before the interface existed
	require.True(t, portView(t, d, "x1").Up, "taken down on a stale dump")
	sweep(map[string]int{dev: l.Attrs().Index + 1000}) // ... or from before it was replaced
	require.True(t, portView(t, d, "x1").Up, "taken down on a stale index")
	sweep(map[string]int{dev: l.Attrs().Index})
	require.True(t, portView(t, d, "x1").Up)

	require.NoError(t, netlink.LinkDel(l))
	sweep(map[string]int{dev: l.Attrs().Index}) // a dump from before the delete: the event or the next sweep sees it
	require.Eventually(t, func() bool {
		sweep(map[string]int{})
		return portView(t, d, "x1").Down != ""
	}, 5*time.Second, 50*time.Millisecond, "the port stays up after its interface was deleted")
	require.Contains(t, portView(t, d, "x1").Down, dev+" was deleted")
}
