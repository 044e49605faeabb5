package daemon

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ipam"
	"github.com/vecswitch/vecswitch/vswitch"
)

func routedReq(cid string, mut ...func(*ctl.EndpointRequest)) string {
	return epReq("rnet", cid, append([]func(*ctl.EndpointRequest){func(r *ctl.EndpointRequest) {
		r.Bridge, r.Routed, r.Routes = "", true, nil
		r.Pool, r.PoolDef = "rpods", &ctl.PoolDef{"subnet": "10.31.0.0/24,fd00:31::/64"}
	}}, mut...)...)
}

// TestRoutedEndpoint: a routed endpoint gets host prefixes, link-local
// gateways and default routes; the switch gets a proxy-ARP interface on
// its port, host routes and static neighbors, all gone with the endpoint.
func TestRoutedEndpoint(t *testing.T) {
	m := startMem(t, t.TempDir())
	var ep ctl.EndpointView
	m.ok(t, &ep, "endpoint/add", routedReq("c1"))
	require.True(t, ep.Routed)
	require.Equal(t, "default", ep.VRF)
	require.Empty(t, ep.Bridge)
	require.Equal(t, []string{"10.31.0.2/32", "fd00:31::2/128"}, ep.Addrs)
	require.Equal(t, []string{"169.254.1.1", "fe80::1"}, ep.Gateways)
	require.Equal(t, []ctl.RouteSpec{{Dst: "0.0.0.0/0", Gw: "169.254.1.1"}, {Dst: "::/0", Gw: "fe80::1"}}, ep.Routes)
	require.NotNil(t, m.port(ep.Port), "the port was made")

	m.d.mu.Lock()
	st := m.d.state.clone()
	m.d.mu.Unlock()
	ifc := st.rif(ep.Port)
	require.NotNil(t, ifc)
	require.Equal(t, vswitch.Interface{Name: ep.Port, Port: ep.Port, ProxyARP: true}, *ifc)
	require.Contains(t, st.Routes, vswitch.Route{Prefix: "10.31.0.2/32", Via: []vswitch.NextHop{{Interface: ep.Port}}})
	require.Contains(t, st.Routes, vswitch.Route{Prefix: "fd00:31::2/128", Via: []vswitch.NextHop{{Interface: ep.Port}}})
	require.Contains(t, st.Neighbors, vswitch.Neighbor{Interface: ep.Port, Addr: "10.31.0.2", MAC: ep.MAC})
	require.Equal(t, []string{"10.31.0.0/24", "fd00:31::/64"}, ep.Blocks)
	// The blocks are blackholed on this host (more specific host routes
	// reach the containers).
	require.Contains(t, st.allRoutes(), vswitch.Route{Prefix: "10.31.0.0/24", Blackhole: true})
	require.Contains(t, st.allRoutes(), vswitch.Route{Prefix: "fd00:31::/64", Blackhole: true})
	var sv ctl.ShowView
	m.ok(t, &sv, "show")
	require.Len(t, sv.RoutedPorts, 1, "show lists the routed port")
	require.Equal(t, ep.Port, sv.RoutedPorts[0].Name)
	require.True(t, sv.RoutedPorts[0].Up)

	// Again: the same; CHECK-free commands work on the routed port.
	var again ctl.EndpointView
	m.ok(t, &again, "endpoint/add", routedReq("c1"))
	require.Equal(t, ep, again)
	m.fails(t, ctl.CodeInvalid, "set-port", ep.Port, "vlan=5")
	// The link-local gateways are the interface's own; the interface has
	// no subnet, and a neighbor outside one is taken (like the
	// endpoint's own, a /32 behind a host route).
	m.failsWith(t, ctl.CodeInvalid, "169.254.1.1 is interface "+ep.Port+"'s own address", "neigh/add", ep.Port, "169.254.1.1", "02:00:00:00:00:fe")
	m.failsWith(t, ctl.CodeInvalid, "fe80::1 is interface "+ep.Port+"'s own address", "neigh/add", ep.Port, "fe80::1", "02:00:00:00:00:fe")
	m.ok(t, nil, "neigh/add", ep.Port, "10.31.0.9", "02:00:00:00:00:fe")
	m.ok(t, nil, "neigh/del", ep.Port, "10.31.0.9")

	// Bad requests: typed errors, nothing changes.
	m.ok(t, nil, "add-br", "br0")
	before := m.stateBytes(t)
	for _, c := range []struct {
		code ctl.Code
		req  string
	}{
		{ctl.CodeInvalid, routedReq("x", func(r *ctl.EndpointRequest) { r.Bridge = "br0" })},
		{ctl.CodeNotFound, routedReq("x", func(r *ctl.EndpointRequest) { r.VRF = "red" })},
		{ctl.CodeInvalid, routedReq("x", func(r *ctl.EndpointRequest) { r.VLAN = 5 })},
		{ctl.CodeInvalid, routedReq("x", func(r *ctl.EndpointRequest) {
			r.Pool, r.PoolDef, r.Addrs, r.Gateways = "", nil, []string{"10.32.0.5/24"}, []string{"10.32.0.1"}
		})},
		{ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.VRF = "default" })}, // bridged with a VRF
	} {
		m.fails(t, c.code, "endpoint/add", c.req)
	}
	require.Equal(t, string(before), string(m.stateBytes(t)))
	m.fails(t, ctl.CodeNotFound, "endpoint/status", `{"network":"rnet","routed":true,"vrf":"red"}`)
	m.ok(t, nil, "endpoint/status", `{"network":"rnet","routed":true,"pool":"rpods"}`)

	// Given addresses: made host prefixes too.
	var given ctl.EndpointView
	m.ok(t, &given, "endpoint/add", routedReq("c2", func(r *ctl.EndpointRequest) {
		r.Pool, r.PoolDef, r.Addrs = "", nil, []string{"10.32.0.5/24"}
	}))
	require.Equal(t, []string{"10.32.0.5/32"}, given.Addrs)
	require.Equal(t, []string{"169.254.1.1"}, given.Gateways)
	require.Equal(t, []string{"10.32.0.5/32"}, given.Blocks, "no pool: the host route is the block")
	// A configured route for a block replaces its blackhole.
	m.ok(t, nil, "route/add", "10.31.0.0/24", "blackhole")
	m.d.mu.Lock()
	n := 0
	for _, r := range m.d.state.allRoutes() {
		if r.Prefix == "10.31.0.0/24" {
			n++
		}
	}
	m.d.mu.Unlock()
	require.Equal(t, 1, n)
	m.ok(t, nil, "route/del", "10.31.0.0/24")

	// peer_here (Docker): addresses recorded as host prefixes, the
	// link-local gateways reported for the runtime to configure.
	var here ctl.EndpointView
	m.ok(t, &here, "endpoint/add", routedReq("c3", func(r *ctl.EndpointRequest) {
		r.Netns, r.PeerHere, r.Pool, r.PoolDef, r.Addrs = "", true, "", nil, []string{"10.32.0.6/24"}
	}))
	require.Equal(t, []string{"10.32.0.6/32"}, here.Addrs)
	require.Equal(t, []string{"169.254.1.1"}, here.Gateways)
	m.ok(t, nil, "endpoint/del", routedReq("c3"))

	// DEL: port, interface, routes, neighbors and lease go.
	m.ok(t, nil, "endpoint/del", routedReq("c1"))
	m.ok(t, nil, "endpoint/del", routedReq("c2"))
	m.d.mu.Lock()
	st = m.d.state.clone()
	m.d.mu.Unlock()
	require.Empty(t, st.Interfaces)
	require.Empty(t, st.Routes)
	require.Empty(t, st.allRoutes(), "blackholes go with the last endpoint of their block")
	require.Empty(t, st.Neighbors)
	require.Empty(t, st.Ports)
	require.Equal(t, 0, m.pool(t, "rpods").Ranges[0].Used)
}

// TestRoutedEndpointBlocks: with BGP running, routed endpoints' blocks are
// announced (one per pool subnet here: no block claims), with
// endpoint-nexthop=, withdrawn with their last endpoint, left to
// bgp/announce when it names them, and announced again after a restart.
func TestRoutedEndpointBlocks(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	m.ok(t, nil, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0", "endpoint-nexthop=10.180.1.1")
	announced := func() []ctl.BGPAnnouncedView {
		var v ctl.BGPShowView
		m.ok(t, &v, "bgp/show")
		return v.Announced
	}
	require.Empty(t, announced())
	m.ok(t, nil, "endpoint/add", routedReq("c1"))
	m.ok(t, nil, "endpoint/add", routedReq("c2"))
	want := []ctl.BGPAnnouncedView{
		{Prefix: "10.31.0.0/24", NextHop: "10.180.1.1", Endpoints: true},
		{Prefix: "fd00:31::/64", Endpoints: true}, // no IPv6 next hop given: self
	}
	require.Equal(t, want, announced())

	// bgp/announce of the same block takes it over; bgp/withdraw gives
	// it back to the endpoints.
	m.ok(t, nil, "bgp/announce", "10.31.0.0/24")
	require.Equal(t, []ctl.BGPAnnouncedView{{Prefix: "10.31.0.0/24"}, want[1]}, announced())
	m.ok(t, nil, "bgp/withdraw", "10.31.0.0/24")
	require.Equal(t, want, announced())

	// A change of the next hop re-announces.
	m.ok(t, nil, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0", "endpoint-nexthop=10.180.1.9,fd00:180::1")
	want[0].NextHop, want[1].NextHop = "10.180.1.9", "fd00:180::1"
	require.Equal(t, want, announced())
	m.fails(t, ctl.CodeInvalid, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0", "endpoint-nexthop=10.1.1.1,10.1.1.2")
	m.fails(t, ctl.CodeInvalid, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0", "endpoint-nexthop=ff02::1")

	// A restart announces what the stored endpoints need.
	m.stop()
	m = startMem(t, dir)
	require.Equal(t, want, announced())

	// The last endpoint of the block takes it away.
	m.ok(t, nil, "endpoint/del", routedReq("c1"))
	require.Equal(t, want, announced())
	m.ok(t, nil, "endpoint/del", routedReq("c2"))
	require.Empty(t, announced())
}

// seqClaims is a BlockClaims that hands out a pool range's blocks in
// order, for one host (the multi-host store itself is ipam/etcdblocks').
type seqClaims struct {
	mu    sync.Mutex
	owned map[string][][]netip.Prefix
}

func (c *seqClaims) Register(context.Context, ipam.Pool) error { return nil }

func (c *seqClaims) Owned(_ context.Context, p ipam.Pool) ([][]netip.Prefix, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]netip.Prefix, len(p.Ranges))
	copy(out, c.owned[p.Name])
	return out, nil
}

func (c *seqClaims) Claim(_ context.Context, p ipam.Pool, i int) (netip.Prefix, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owned == nil {
		c.owned = map[string][][]netip.Prefix{}
	}
	o := c.owned[p.Name]
	for len(o) < len(p.Ranges) {
		o = append(o, nil)
	}
	bits := p.BlockBits[i]
	next := p.Ranges[i].Subnet.Addr()
	if n := len(o[i]); n > 0 {
		last := o[i][n-1]
		next = last.Addr()
		for range 1 << (last.Addr().BitLen() - bits) {
			next = next.Next()
		}
	}
	b := netip.PrefixFrom(next, bits)
	o[i] = append(o[i], b)
	c.owned[p.Name] = o
	return b, nil
}

func (c *seqClaims) Release(_ context.Context, pool string, block netip.Prefix) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.owned[pool] {
		c.owned[pool][i] = slices.DeleteFunc(c.owned[pool][i], func(b netip.Prefix) bool { return b == block })
	}
	return nil
}

func (c *seqClaims) ReleaseAll(_ context.Context, pool string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.owned, pool)
	return nil
}

// TestRoutedEndpointClaimedBlocks: with block claims, each claimed block
// that holds a routed endpoint is announced (not the pool's subnet), a
// second block when the first is full, and each goes with its last
// endpoint.
func TestRoutedEndpointClaimedBlocks(t *testing.T) {
	claims := &seqClaims{}
	m := startMem(t, t.TempDir(), func(c *Config) {
		c.Claims = func(string) (BlockClaims, error) { return claims, nil }
	})
	m.ok(t, nil, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0")
	m.ok(t, nil, "ipam/pool-add", "cl", "subnet=10.33.0.0/16", "block=30")
	announced := func() []string {
		var v ctl.BGPShowView
		m.ok(t, &v, "bgp/show")
		var out []string
		for _, a := range v.Announced {
			require.True(t, a.Endpoints)
			out = append(out, a.Prefix)
		}
		return out
	}
	req := func(cid string) string {
		return routedReq(cid, func(r *ctl.EndpointRequest) { r.Pool, r.PoolDef = "cl", nil })
	}
	// A /30 block holds 4 addresses; the first block also holds the
	// gateway (10.33.0.1) and the network address, so 2 endpoints fit.
	var eps []ctl.EndpointView
	for _, cid := range []string{"a", "b", "c"} {
		var ep ctl.EndpointView
		m.ok(t, &ep, "endpoint/add", req(cid))
		eps = append(eps, ep)
	}
	require.Equal(t, []string{"10.33.0.0/30", "10.33.0.4/30"}, announced(), "endpoints %v %v %v", eps[0].Addrs, eps[1].Addrs, eps[2].Addrs)
	m.ok(t, nil, "endpoint/del", req("c"))
	require.Equal(t, []string{"10.33.0.0/30"}, announced())
}
