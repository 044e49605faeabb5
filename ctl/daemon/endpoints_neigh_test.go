package daemon

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestEndpointNeighbors: a container on a bridge with a router interface
// is the router's neighbor at its MAC from the moment it is attached (the
// first packet routed to it is not lost to resolution); the entry is
// derived, never stored: it follows the endpoint, the interface and a
// hand-made neighbor (which wins), and a port without port security
// (whose MAC may change) gets none.
func TestEndpointNeighbors(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	neighs := func() []vswitch.Neighbor {
		m.d.mu.Lock()
		defer m.d.mu.Unlock()
		return m.d.state.switchConfig().Neighbors
	}
	var ep, ep2 ctl.EndpointView
	m.ok(t, &ep, "endpoint/add", epReq("net1", "c1"))
	require.Empty(t, neighs(), "no router interface on br0 yet")
	m.ok(t, nil, "rif/add", "gw0", "bridge=br0", "addr=10.30.0.1/24")
	want := vswitch.Neighbor{Interface: "gw0", Addr: "10.30.0.2", MAC: ep.MAC}
	require.Equal(t, []vswitch.Neighbor{want}, neighs())
	m.d.mu.Lock()
	require.Empty(t, m.d.state.Neighbors, "derived, not stored")
	m.d.mu.Unlock()
	// The switch has it, static.
	var shown []vswitch.NeighborEntry
	m.ok(t, &shown, "neigh/show")
	require.Contains(t, shown, vswitch.NeighborEntry{Interface: "gw0", Addr: "10.30.0.2", MAC: ep.MAC, Static: true})

	// port_security=off: its MAC may change, so it is resolved as any host.
	m.ok(t, &ep2, "endpoint/add", epReq("net1", "c2", func(r *ctl.EndpointRequest) { r.PortSecurity = "off" }))
	require.Equal(t, []vswitch.Neighbor{want}, neighs())

	// A hand-made neighbor for the address wins.
	m.ok(t, nil, "neigh/add", "gw0", "10.30.0.2", "02:00:00:00:00:99")
	require.Equal(t, []vswitch.Neighbor{{Interface: "gw0", Addr: "10.30.0.2", MAC: "02:00:00:00:00:99"}}, neighs())
	m.ok(t, nil, "neigh/del", "gw0", "10.30.0.2")
	require.Equal(t, []vswitch.Neighbor{want}, neighs())

	// Gone with the endpoint, or with the interface.
	m.ok(t, nil, "endpoint/del", epReq("net1", "c1"))
	require.Empty(t, neighs())
	m.ok(t, &ep, "endpoint/add", epReq("net1", "c1"))
	require.Len(t, neighs(), 1)
	m.ok(t, nil, "rif/del", "gw0")
	require.Empty(t, neighs())
}

func TestRifHolds(t *testing.T) {
	rif := vswitch.Interface{Name: "gw", Addrs: []string{"10.30.0.1/24", "192.0.2.0/31", "fd00:30::1/64"}}
	for a, want := range map[string]bool{
		"10.30.0.2": true, "10.30.0.254": true, "fd00:30::2": true, "192.0.2.1": true,
		"10.30.0.1": false, "10.30.0.0": false, "10.30.0.255": false, // its own, network, broadcast
		"10.31.0.2": false, "192.0.2.0": false, "fd00:31::2": false,
	} {
		require.Equal(t, want, rifHolds(rif, netip.MustParseAddr(a)), a)
	}
}
