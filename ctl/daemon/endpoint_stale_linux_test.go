package daemon

import (
	"encoding/json"
	"net/netip"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// Endpoints whose container end went away without a DEL, and CHECK of
// routes and of a runtime's previous result, with real veths (root).

// namedNS is a namespace made with `ip netns add`, which the test may
// delete and make again at the same path; it is deleted at cleanup.
type namedNS struct {
	t    *testing.T
	name string
}

func newNamedNS(t *testing.T) *namedNS {
	t.Helper()
	n := &namedNS{t: t, name: "vst-" + nettest.Suffix()}
	n.add()
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.name).Run() })
	return n
}

func (n *namedNS) path() string { return "/run/netns/" + n.name }

func (n *namedNS) add() {
	n.t.Helper()
	out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput()
	require.NoError(n.t, err, "%s", out)
}

func (n *namedNS) del() {
	n.t.Helper()
	out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput()
	require.NoError(n.t, err, "%s", out)
}

func (n *namedNS) ip(args ...string) {
	n.t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", n.name}, args...)...).CombinedOutput()
	require.NoError(n.t, err, "%s", out)
}

func staleReq(cid, netns string, mut ...func(*ctl.EndpointRequest)) string {
	r := ctl.EndpointRequest{Network: "snet", ContainerID: cid, IfName: "eth0", Netns: netns, Bridge: "br0",
		Pool: "spool", PoolDef: &ctl.PoolDef{"subnet": "10.77.0.0/24"}, Routes: []ctl.RouteSpec{{Dst: "0.0.0.0/0"}}}
	for _, f := range mut {
		f(&r)
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// requireContainerEnd fails unless ep's interface is in its namespace with
// its MAC and addresses.
func requireContainerEnd(t *testing.T, ep ctl.EndpointView) {
	t.Helper()
	l, err := netdev.LinkByName(ep.Netns, ep.IfName)
	require.NoError(t, err, "the container end is not in %s", ep.Netns)
	require.Equal(t, ep.MAC, l.MAC.String())
	for _, a := range ep.Addrs {
		require.Contains(t, l.Addrs, netip.MustParsePrefix(a))
	}
}

// TestEndpointStaleMadeAgain: ADD of an existing endpoint answers what
// was made while its container end is there; when its namespace was made
// anew at the same path, or is gone and the ADD names another (a
// container restarted after a crash that lost its DEL), the endpoint is
// removed and made again, with its address.
func TestEndpointStaleMadeAgain(t *testing.T) {
	nettest.NeedRoot(t)
	d := newTestDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	a, b := newNamedNS(t), newNamedNS(t)
	add := func(netns string) ctl.EndpointView {
		t.Helper()
		r := run(t, d, "endpoint/add", staleReq("c1", netns))
		require.True(t, r.OK, "%+v", r.Error)
		var ep ctl.EndpointView
		decode(t, r, &ep)
		return ep
	}
	ep := add(a.path())
	requireContainerEnd(t, ep)
	require.Equal(t, ep, add(a.path()), "ADD again: what was made")
	requireCode(t, run(t, d, "endpoint/add", staleReq("c1", b.path())), ctl.CodeExists, "a live endpoint in another namespace")

	// The namespace made anew at its path: the old answer would name an
	// interface that is not there.
	a.del()
	a.add()
	again := add(a.path())
	require.Equal(t, ep.Addrs, again.Addrs)
	requireContainerEnd(t, again)
	require.True(t, run(t, d, "endpoint/check", staleReq("c1", a.path())).OK)

	// The namespace gone, the ADD in another.
	a.del()
	moved := add(b.path())
	require.Equal(t, b.path(), moved.Netns)
	require.Equal(t, ep.Addrs, moved.Addrs)
	requireContainerEnd(t, moved)
	r := run(t, d, "endpoint/show")
	var eps []ctl.EndpointView
	decode(t, r, &eps)
	require.Len(t, eps, 1)
	require.Equal(t, "up", eps[0].State)
	var pools []ctl.PoolView
	decode(t, run(t, d, "ipam/show", "spool"), &pools)
	require.Equal(t, 1, pools[0].Ranges[0].Used)

	require.True(t, run(t, d, "endpoint/del", staleReq("c1", b.path())).OK)
	_, err := netdev.LinkByName(b.path(), "eth0")
	require.ErrorIs(t, err, netdev.ErrNotFound)
}

// TestEndpointCheckRoutesAndPrevResult: CHECK finds the endpoint's routes
// in the container, and the addresses, routes and MAC of the runtime's
// previous result (given in the request).
func TestEndpointCheckRoutesAndPrevResult(t *testing.T) {
	nettest.NeedRoot(t)
	d := newTestDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	ns := newNamedNS(t)
	r := run(t, d, "endpoint/add", staleReq("c2", ns.path()))
	require.True(t, r.OK, "%+v", r.Error)
	var ep ctl.EndpointView
	decode(t, r, &ep)
	check := func(mut ...func(*ctl.EndpointRequest)) ctl.Response {
		return run(t, d, "endpoint/check", staleReq("c2", ns.path(), append([]func(*ctl.EndpointRequest){func(r *ctl.EndpointRequest) {
			r.Addrs, r.Routes, r.MAC = ep.Addrs, ep.Routes, ep.MAC
		}}, mut...)...))
	}
	require.True(t, check().OK, "%+v", check().Error)

	cases := []struct {
		name string
		mut  func(*ctl.EndpointRequest)
		msg  string
	}{
		{"address", func(r *ctl.EndpointRequest) { r.Addrs = append(r.Addrs, "10.188.0.99/24") },
			"lacks address 10.188.0.99/24 of the previous result"},
		{"route", func(r *ctl.EndpointRequest) {
			r.Routes = append(r.Routes, ctl.RouteSpec{Dst: "10.99.0.0/16", Gw: "10.77.0.1"})
		},
			"lacks route 10.99.0.0/16 via 10.77.0.1 of the previous result"},
		{"route without gateway", func(r *ctl.EndpointRequest) { r.Routes = []ctl.RouteSpec{{Dst: "10.98.0.0/16"}} },
			"lacks route 10.98.0.0/16 of the previous result"},
		{"MAC", func(r *ctl.EndpointRequest) { r.MAC = "02:00:00:00:00:99" }, "not 02:00:00:00:00:99 of the previous result"},
	}
	for _, c := range cases {
		r := check(c.mut)
		requireCode(t, r, ctl.CodeInvalid, c.name)
		require.Contains(t, r.Error.Message, c.msg, c.name)
	}
	// A route of a previous result without a gateway: any route to it.
	require.True(t, check(func(r *ctl.EndpointRequest) { r.Routes = []ctl.RouteSpec{{Dst: "0.0.0.0/0"}} }).OK)

	// The endpoint's own default route deleted: CHECK fails, with or
	// without a previous result.
	ns.ip("route", "del", "default")
	for _, r := range []ctl.Response{check(), run(t, d, "endpoint/check", staleReq("c2", ns.path()))} {
		requireCode(t, r, ctl.CodeInvalid)
		require.Contains(t, r.Error.Message, "lacks route 0.0.0.0/0 via 10.77.0.1")
	}
	require.True(t, run(t, d, "endpoint/del", staleReq("c2", ns.path())).OK)
}
