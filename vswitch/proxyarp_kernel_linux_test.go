package vswitch_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/vswitch"
)

// TestProxyARPRoutedPorts: two namespaces on routed ports with proxy ARP,
// Calico style: each has one /32 and one /128 and default routes via
// 169.254.1.1 and fe80::1 (on-link), nothing else; the switch's interfaces
// have no address at all. They ping each other over IPv4 and IPv6 and
// move TCP data: the switch answers their ARP and ND for the gateway,
// learns them from it, resolves them from the link-local gateway, and
// routes every packet (no broadcast domain between them). (That probes
// are not answered is TestProxyARP's: Debian's arping is not installed.)
func TestProxyARPRoutedPorts(t *testing.T) {
	r := newKernelRig(t, 1)
	r.vethContainer("a", "10.94.0.2/32", 1)
	r.vethContainer("b", "10.94.7.9/32", 1)
	for _, c := range []struct{ name, addr6 string }{{"a", "fd00:94::2/128"}, {"b", "fd00:94:7::9/128"}} {
		for _, args := range [][]string{
			{"ip", "-6", "addr", "add", c.addr6, "dev", "eth0", "nodad"},
			{"ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0", "onlink"},
			{"ip", "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0"},
		} {
			out, err := r.ns[c.name].Command(args...).CombinedOutput()
			require.NoError(t, err, "%v: %s", args, out)
		}
	}
	cfg := vswitch.Config{
		Interfaces: []vswitch.Interface{
			{Name: "ra", Port: "a", ProxyARP: true},
			{Name: "rb", Port: "b", ProxyARP: true},
		},
		Routes: []vswitch.Route{
			{Prefix: "10.94.0.2/32", Via: []vswitch.NextHop{{Interface: "ra"}}},
			{Prefix: "fd00:94::2/128", Via: []vswitch.NextHop{{Interface: "ra"}}},
			{Prefix: "10.94.7.9/32", Via: []vswitch.NextHop{{Interface: "rb"}}},
			{Prefix: "fd00:94:7::9/128", Via: []vswitch.NextHop{{Interface: "rb"}}},
		},
	}
	require.NoError(t, r.s.Reconfigure(cfg))
	require.NoError(t, r.s.Start())

	// The first pings make the switch resolve the far container (glean
	// from the link-local gateway; the packet is dropped meanwhile):
	// r.ping sends two and passes on one reply.
	for _, c := range [][2]string{{"a", "10.94.7.9"}, {"b", "10.94.0.2"}, {"a", "fd00:94:7::9"}, {"b", "fd00:94::2"}} {
		require.NoError(t, r.ping(c[0], c[1]), "%v", c)
	}
	r.transfer("a", "b", "10.94.7.9", false)
	r.transfer("b", "a", "fd00:94::2", false)

	// Each container's neighbor entry for its gateway is the switch's
	// interface MAC, and the switch learned both containers.
	for _, c := range []struct{ ns, gw, iface string }{{"a", "169.254.1.1", "ra"}, {"b", "fe80::1", "rb"}} {
		out, err := r.ns[c.ns].Command("ip", "neigh", "show", c.gw).CombinedOutput()
		require.NoError(t, err)
		require.Contains(t, string(out), "lladdr", "%s has no neighbor entry for %s: %s", c.ns, c.gw, out)
	}
	learned := map[string]bool{}
	for _, n := range r.s.Neighbors() {
		learned[n.Interface+" "+n.Addr] = true
	}
	for _, k := range []string{"ra 10.94.0.2", "rb 10.94.7.9", "ra fd00:94::2", "rb fd00:94:7::9"} {
		require.True(t, learned[k], "neighbor %s not learned: %v", k, learned)
	}

}
