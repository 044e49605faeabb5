package main_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestRoutingWithVsctl builds two subnets with router interfaces through
// vsctl, routes between them, checks route/show, neigh/show and typed
// errors, and finds routes and addresses again after kill -9 and restart.
func TestRoutingWithVsctl(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	d.must("add-br", "bra")
	d.must("add-br", "brb")
	d.must("add-port", "bra", "ra"+nettest.Suffix(), "type=veth", "netns="+a.Path(), "ip=10.62.1.2/24", "gw=10.62.1.1")
	d.must("add-port", "brb", "rb"+nettest.Suffix(), "type=veth", "netns="+b.Path(), "ip=10.62.2.2/24", "gw=10.62.2.1")
	d.must("rif/add", "ra", "bridge=bra", "addr=10.62.1.1/24")
	d.must("rif/add", "rb", "bridge=brb", "mtu=1400")
	d.must("addr/add", "rb", "10.62.2.1/24")
	require.NoError(t, ping(a, "10.62.2.2"))

	d.must("route/add", "10.99.0.0/16", "via=10.62.2.2")
	d.must("route/add", "10.98.0.0/16", "blackhole")
	_, err := d.vsctl("route/add", "10.97.0.0/16", "via=10.77.0.1")
	require.ErrorContains(t, err, "no connected subnet")
	d.must("route/add", "10.99.0.0/16", "via=10.62.2.2") // the same route again: a no-op
	_, err = d.vsctl("route/add", "10.99.0.0/16", "blackhole")
	require.ErrorContains(t, err, "exists")
	_, err = d.vsctl("route/add", "10.99.0.1/16", "via=10.62.2.2")
	require.ErrorContains(t, err, "host bits")
	_, err = d.vsctl("addr/add", "nope", "10.0.0.1/24")
	require.ErrorContains(t, err, "no interface")

	var routes []vswitch.RouteEntry
	require.NoError(t, d.vsctlJSON(&routes, "route/show"))
	types := map[string]string{}
	for _, r := range routes {
		types[r.Prefix] = r.Type
	}
	require.Equal(t, map[string]string{"10.62.1.0/24": "connected", "10.62.1.1/32": "local", "10.62.2.0/24": "connected",
		"10.62.2.1/32": "local", "10.99.0.0/16": "static", "10.98.0.0/16": "blackhole"}, types)
	require.Contains(t, d.must("neigh/show"), "10.62.2.2")
	require.Contains(t, d.must("rif/show"), "1400")
	require.Contains(t, d.must("fdb/show", "bra"), "rif:ra")

	d.stop(syscall.SIGKILL)
	d.start()
	// Learned neighbors are not kept across a restart: the first packets
	// to each host are dropped while the switch resolves it again.
	require.Eventually(t, func() bool { return ping(b, "10.62.1.2") == nil }, 10*time.Second, 100*time.Millisecond,
		"routing works again after kill -9 and restart")
	require.Contains(t, d.must("route/show"), "10.99.0.0/16")

	d.must("route/del", "10.99.0.0/16")
	_, err = d.vsctl("route/del", "10.99.0.0/16")
	require.ErrorContains(t, err, "no static route")
	d.must("rif/del", "rb")
	require.Error(t, ping(a, "10.62.2.2"), "rb is gone")
	require.NotContains(t, d.must("route/show"), "10.62.2.0/24")
}
