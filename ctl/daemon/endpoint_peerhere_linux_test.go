package daemon

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestEndpointPeerHere: an endpoint whose container end is left in the
// daemon's namespace (Docker's way): the runtime moves and configures it,
// traffic flows, a restart keeps the port (the container end is not where
// it was made), DEL removes the pair; bad requests change nothing.
func TestEndpointPeerHere(t *testing.T) {
	nettest.NeedRoot(t)
	dir := t.TempDir()
	d := newTestDaemon(t, dir)
	require.True(t, run(t, d, "add-br", "br0").OK)
	sfx := nettest.Suffix()
	type side struct {
		ns   *nettest.NS
		peer string
		addr string
		ep   ctl.EndpointView
	}
	sides := []*side{{nettest.NewNS(t), "vdpa" + sfx, "10.79.0.2/24", ctl.EndpointView{}},
		{nettest.NewNS(t), "vdpb" + sfx, "10.79.0.3/24", ctl.EndpointView{}}}
	req := func(s *side) string {
		b, _ := json.Marshal(ctl.EndpointRequest{Network: "dnet", ContainerID: "ep-" + s.peer, IfName: s.peer, PeerHere: true,
			Bridge: "br0", Addrs: []string{s.addr}, MTU: 1400})
		return string(b)
	}
	for _, s := range sides {
		r := run(t, d, "endpoint/add", req(s))
		require.True(t, r.OK, "%+v", r.Error)
		decode(t, r, &s.ep)
		require.True(t, s.ep.PeerHere)
		require.Empty(t, s.ep.Netns)
		// The container end waits here with its MAC and MTU, no address.
		l, err := netdev.LinkByName("", s.peer)
		require.NoError(t, err)
		require.Equal(t, s.ep.MAC, l.MAC.String())
		require.Equal(t, 1400, l.MTU)
		require.Empty(t, l.Addrs)
		// What Docker does in Join: move it, rename it, address it.
		_, err = netdev.MoveLink(l.Index, s.ns.Path())
		require.NoError(t, err)
		require.NoError(t, netdev.Configure(s.ns.Path(), s.peer, netdev.LinkConfig{Name: "eth0",
			Addrs: []netip.Prefix{netip.MustParsePrefix(s.addr)}, Up: true}))
	}
	ping := func() {
		t.Helper()
		out, err := sides[0].ns.Command("ping", "-c", "1", "-W", "5", "10.79.0.3").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	ping()
	r := run(t, d, "endpoint/check", req(sides[0]))
	require.True(t, r.OK, "CHECK of a moved container end: %+v", r.Error)

	// Restart: the ports come back on the host ends.
	d.Close()
	d = newTestDaemon(t, dir)
	ping()

	// Bad requests: a namespace and peer_here, routes, set-port mtu.
	var bad ctl.EndpointRequest
	require.NoError(t, json.Unmarshal([]byte(req(sides[0])), &bad))
	bad.ContainerID, bad.Netns = "other", sides[0].ns.Path()
	b, _ := json.Marshal(bad)
	requireCode(t, run(t, d, "endpoint/add", string(b)), ctl.CodeInvalid)
	bad.Netns, bad.Routes = "", []ctl.RouteSpec{{Dst: "0.0.0.0/0", Gw: "10.79.0.1"}}
	b, _ = json.Marshal(bad)
	requireCode(t, run(t, d, "endpoint/add", string(b)), ctl.CodeInvalid)
	requireCode(t, run(t, d, "set-port", sides[0].ep.Port, "mtu=1300"), ctl.CodeInvalid)
	ping()

	// DEL removes the pair: the container's interface is gone too.
	for _, s := range sides {
		require.True(t, run(t, d, "endpoint/del", req(s)).OK)
		_, err := netdev.LinkByName(s.ns.Path(), "eth0")
		require.ErrorIs(t, err, netdev.ErrNotFound)
		_, err = netdev.LinkByName("", s.ep.Port)
		require.ErrorIs(t, err, netdev.ErrNotFound)
	}
}
