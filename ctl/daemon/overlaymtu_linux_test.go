package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestOverlayMTUFollowsVTEP: a container port whose MTU the daemon chose
// from the overlay follows it when the VTEP moves to an IPv6 underlay and
// back, and when the bridge loses its VNI; a port with the user's mtu=
// keeps it.
func TestOverlayMTUFollowsVTEP(t *testing.T) {
	nettest.NeedRoot(t)
	ns1, ns2 := nettest.NewNS(t), nettest.NewNS(t)
	sfx := nettest.Suffix()
	d := newTestDaemon(t, t.TempDir())
	ok := func(cmd string, args ...string) {
		t.Helper()
		r := run(t, d, cmd, args...)
		require.True(t, r.OK, "%s %v: %+v", cmd, args, r.Error)
	}
	ok("add-br", "under")
	ok("rif/add", "up", "bridge=under", "addr=192.168.88.1/24,fd88::1/64")
	ok("vtep/set", "192.168.88.1")
	ok("add-br", "ov")
	ok("vni/add", "ov", "100")
	ok("add-port", "ov", "va"+sfx, "type=veth", "netns="+ns1.Path(), "ip=10.220.0.1/24")
	ok("add-port", "ov", "vb"+sfx, "type=veth", "netns="+ns2.Path(), "ip=10.220.0.2/24", "mtu=1400")
	mtu := func(ns *nettest.NS) int {
		t.Helper()
		l, err := netdev.LinkByName(ns.Path(), "eth0")
		require.NoError(t, err)
		return l.MTU
	}
	require.Equal(t, 1450, mtu(ns1))
	require.Equal(t, 1400, mtu(ns2))

	ok("vtep/set", "fd88::1")
	require.Equal(t, 1430, mtu(ns1), "the port kept the IPv4 overlay MTU after the VTEP moved to IPv6")
	require.Equal(t, 1400, mtu(ns2), "the user's MTU changed")
	spec, _ := d.state.port("va" + sfx)
	require.Equal(t, "1430", spec.Options["mtu"], "the stored MTU is the new one")

	ok("vtep/set", "192.168.88.1")
	require.Equal(t, 1450, mtu(ns1))

	ok("vni/del", "ov", "100")
	require.Equal(t, 1500, mtu(ns1), "a bridge without VNI gives its ports the plain MTU back")
	require.Equal(t, 1400, mtu(ns2))

	ok("set-port", "va"+sfx, "mtu=1300")
	ok("vni/add", "ov", "100")
	require.Equal(t, 1300, mtu(ns1), "set-port mtu= makes the MTU the user's")
}
