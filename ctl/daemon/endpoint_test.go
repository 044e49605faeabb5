package daemon

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ipam"
)

// Endpoints and address pools through the real socket, with memory ports
// (no root): what vecswitch-cni asks of the daemon.

// hostNetns is a namespace path that exists for any user.
const hostNetns = "/proc/self/ns/net"

func epReq(network, cid string, mut ...func(*ctl.EndpointRequest)) string {
	r := ctl.EndpointRequest{Network: network, ContainerID: cid, IfName: "eth0", Netns: hostNetns, Bridge: "br0",
		Pool: "pods", PoolDef: &ctl.PoolDef{"subnet": "10.30.0.0/24"}, Routes: []ctl.RouteSpec{{Dst: "0.0.0.0/0"}}}
	for _, f := range mut {
		f(&r)
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func (m *memDaemon) endpoints(t *testing.T) []ctl.EndpointView {
	t.Helper()
	var eps []ctl.EndpointView
	m.ok(t, &eps, "endpoint/show")
	return eps
}

func (m *memDaemon) pool(t *testing.T, name string) ctl.PoolView {
	t.Helper()
	var ps []ctl.PoolView
	m.ok(t, &ps, "ipam/show", name)
	require.Len(t, ps, 1)
	return ps[0]
}

func TestEndpointLifecycle(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	var ep ctl.EndpointView
	m.ok(t, &ep, "endpoint/add", epReq("net1", "c1"))
	require.Equal(t, []string{"10.30.0.2/24"}, ep.Addrs)
	require.Equal(t, []string{"10.30.0.1"}, ep.Gateways)
	require.Equal(t, []ctl.RouteSpec{{Dst: "0.0.0.0/0", Gw: "10.30.0.1"}}, ep.Routes)
	require.Regexp(t, `^vsc[0-9a-f]{12}$`, ep.Port)
	require.Equal(t, endpointPort("net1", "c1", "eth0"), ep.Port)
	require.Regexp(t, `^[0-9a-f][26ae](:[0-9a-f]{2}){5}$`, ep.MAC, "a random locally administered unicast MAC")
	require.Equal(t, 1500, ep.MTU)
	require.NotNil(t, m.port(ep.Port), "the port was made")

	// ADD again: the same answer, nothing new.
	var again ctl.EndpointView
	m.ok(t, &again, "endpoint/add", epReq("net1", "c1"))
	require.Equal(t, ep, again)
	m.fails(t, ctl.CodeExists, "endpoint/add", epReq("net1", "c1", func(r *ctl.EndpointRequest) { r.Netns = "/proc/1/ns/net" }))

	// A second container: the next address; one on another interface
	// name is another endpoint.
	var ep2, ep3 ctl.EndpointView
	m.ok(t, &ep2, "endpoint/add", epReq("net1", "c2"))
	require.Equal(t, []string{"10.30.0.3/24"}, ep2.Addrs)
	m.ok(t, &ep3, "endpoint/add", epReq("net1", "c2", func(r *ctl.EndpointRequest) { r.IfName = "net1" }))
	require.NotEqual(t, ep2.Port, ep3.Port)

	eps := m.endpoints(t)
	require.Len(t, eps, 3)
	for _, e := range eps {
		require.Equal(t, "up", e.State)
	}
	p := m.pool(t, "pods")
	require.Equal(t, 3, p.Ranges[0].Used)
	require.Equal(t, "10.30.0.1", p.Ranges[0].Gateway)
	require.Contains(t, p.Leases, ctl.LeaseView{Owner: "cni/net1/c1/eth0", Addrs: []string{"10.30.0.2/24"}})

	// The pool's lease is the endpoint's: ipam/release refuses it.
	m.fails(t, ctl.CodeInvalid, "ipam/release", "pods", "10.30.0.2")
	// A pool in use is not deleted: the message says what holds its
	// leases and what frees them (it said "remove their endpoints first"
	// of leases from ipam/alloc too).
	m.failsWith(t, ctl.CodeInvalid, "pool pods has 3 leases: 3 of endpoints (the first: cni/net1/c1/eth0): remove them with endpoint/del", "ipam/pool-del", "pods")

	// CHECK of a memory port cannot look into a namespace: it finds the
	// endpoint and its port, then no interface eth0 of that MAC.
	m.fails(t, ctl.CodeNotFound, "endpoint/check", epReq("net1", "nope"))

	// DEL: port, lease and record go; DEL again succeeds.
	m.ok(t, nil, "endpoint/del", epReq("net1", "c1"))
	m.ok(t, nil, "endpoint/del", epReq("net1", "c1"))
	require.Len(t, m.endpoints(t), 2)
	var names []string
	m.ok(t, &names, "list-ports", "br0")
	require.NotContains(t, names, ep.Port)
	require.Equal(t, 2, m.pool(t, "pods").Ranges[0].Used)
	// A released address is not handed out again at once.
	var ep4 ctl.EndpointView
	m.ok(t, &ep4, "endpoint/add", epReq("net1", "c4"))
	require.Equal(t, []string{"10.30.0.5/24"}, ep4.Addrs)

	// Filters.
	var only []ctl.EndpointView
	m.ok(t, &only, "endpoint/show", "container=c2")
	require.Len(t, only, 2)
	m.ok(t, &only, "endpoint/show", "network=other")
	require.Empty(t, only)

	// A lease from ipam/alloc is named as such, with what frees it.
	var l ctl.LeaseView
	m.ok(t, &l, "ipam/alloc", "pods", "mine")
	m.failsWith(t, ctl.CodeInvalid, "pool pods has 4 leases: 3 of endpoints", "ipam/pool-del", "pods")
	m.failsWith(t, ctl.CodeInvalid, "; 1 not an endpoint's, from ipam/alloc (the first: mine): free them with ipam/release pods owner=OWNER", "ipam/pool-del", "pods")
	for _, e := range m.endpoints(t) {
		m.ok(t, nil, "endpoint/del", epReq(e.Network, e.ContainerID, func(r *ctl.EndpointRequest) { r.IfName = e.IfName }))
	}
	m.failsWith(t, ctl.CodeInvalid, "pool pods has 1 lease: 1 not an endpoint's, from ipam/alloc (the first: mine)", "ipam/pool-del", "pods")
	m.ok(t, nil, "ipam/release", "pods", "owner=mine")
	m.ok(t, nil, "ipam/pool-del", "pods")
}

// stateBytes is the stored configuration.
func (m *memDaemon) stateBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.dir, StateFile))
	require.NoError(t, err)
	return b
}

func TestEndpointBadRequests(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "ipam/pool-add", "tiny", "subnet=10.40.0.0/29", "range=10.40.0.2-10.40.0.2")
	m.ok(t, nil, "endpoint/add", epReq("net1", "holder", func(r *ctl.EndpointRequest) { r.Pool, r.PoolDef = "tiny", nil; r.Routes = nil }))
	m.ok(t, nil, "endpoint/add", epReq("net1", "c1"))
	before := m.stateBytes(t)
	cases := []struct {
		name string
		code ctl.Code
		arg  string
	}{
		{"not JSON", ctl.CodeInvalid, "{"},
		{"trailing data", ctl.CodeInvalid, epReq("net1", "x") + "{}"},
		{"unknown field", ctl.CodeInvalid, `{"network":"n","container_id":"c","ifname":"eth0","bogus":1}`},
		{"bad network name", ctl.CodeInvalid, epReq("net/1", "x")},
		{"bad container id", ctl.CodeInvalid, epReq("net1", "x y")},
		{"bad ifname", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.IfName = "a-very-long-interface-name" })},
		{"no netns", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Netns = "" })},
		{"netns missing", ctl.CodeNotFound, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Netns = "/run/netns/does-not-exist" })},
		{"unknown bridge", ctl.CodeNotFound, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Bridge = "nobr" })},
		{"unknown pool", ctl.CodeNotFound, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Pool, r.PoolDef = "nopool", nil })},
		{"exhausted pool", ctl.CodeExhausted, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Pool, r.PoolDef = "tiny", nil; r.Routes = nil })},
		{"pool redefined", ctl.CodeExists, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.PoolDef = &ctl.PoolDef{"subnet": "10.31.0.0/24"} })},
		{"bad pool definition", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Pool, r.PoolDef = "new", &ctl.PoolDef{"subnet": "10.32.0.0/33"} })},
		{"overlapping pool", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Pool, r.PoolDef = "new", &ctl.PoolDef{"subnet": "10.30.0.128/25"} })},
		{"address in use", ctl.CodeExists, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.WantIPs = []string{"10.30.0.2"} })},
		{"address outside the pool", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.WantIPs = []string{"192.168.0.1"} })},
		{"bad route", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Routes = []ctl.RouteSpec{{Dst: "10.0.0.1/8"}} })},
		{"route without gateway", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Routes = []ctl.RouteSpec{{Dst: "::/0"}} })},
		{"bad mac", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.MAC = "01:00:5e:00:00:01" })},
		{"bad vlan", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.VLAN = 5000 })},
		{"bad given address", ctl.CodeInvalid, epReq("net1", "x", func(r *ctl.EndpointRequest) { r.Pool, r.PoolDef, r.Addrs = "", nil, []string{"10.1.1.1"} })},
	}
	for _, c := range cases {
		m.fails(t, c.code, "endpoint/add", c.arg)
		require.Equal(t, string(before), string(m.stateBytes(t)), "%s changed the configuration", c.name)
	}
	m.fails(t, ctl.CodeInvalid, "endpoint/del", "[]")
	m.fails(t, ctl.CodeInvalid, "endpoint/gc", `{"network":"a b"}`)
	m.fails(t, ctl.CodeUsage, "endpoint/add")
	m.fails(t, ctl.CodeInvalid, "ipam/pool-add", "p2", "subnet=banana")
	m.fails(t, ctl.CodeInvalid, "ipam/alloc", "tiny", "cni/net1/x/eth0")
	m.fails(t, ctl.CodeInvalid, "ipam/release", "tiny", "banana")
	m.fails(t, ctl.CodeNotFound, "ipam/show", "nopool")
	require.Equal(t, string(before), string(m.stateBytes(t)))
	require.Len(t, m.endpoints(t), 2)
	require.Equal(t, 1, m.pool(t, "pods").Ranges[0].Used, "a failed ADD gave its address back")
}

func TestEndpointParallelAdds(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "ipam/pool-add", "pods", "subnet=10.30.0.0/24")
	const n = 100
	views := make([]ctl.EndpointView, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ctl.Dial(filepath.Join(m.dir, "ctl.sock"), time.Minute)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			errs[i] = c.Call("endpoint/add", []string{epReq("net1", fmt.Sprintf("c%d", i), func(r *ctl.EndpointRequest) { r.PoolDef = nil })}, &views[i])
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range n {
		require.NoError(t, errs[i], "ADD %d", i)
		require.Len(t, views[i].Addrs, 1)
		a := views[i].Addrs[0]
		j, dup := seen[a]
		require.False(t, dup, "%s given to c%d and c%d", a, j, i)
		seen[a] = i
	}
	require.Len(t, m.endpoints(t), n)
	require.Equal(t, n, m.pool(t, "pods").Ranges[0].Used)
}

func TestEndpointsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	m.ok(t, nil, "add-br", "br0")
	var a, b ctl.EndpointView
	m.ok(t, &a, "endpoint/add", epReq("net1", "c1"))
	m.ok(t, &b, "endpoint/add", epReq("net1", "c2"))
	m.stop()

	m = startMem(t, dir)
	eps := m.endpoints(t)
	require.Len(t, eps, 2)
	require.Equal(t, "up", eps[0].State)
	require.NotNil(t, m.port(a.Port), "the port is made again")
	var c ctl.EndpointView
	m.ok(t, &c, "endpoint/add", epReq("net1", "c3"))
	require.NotContains(t, []string{a.Addrs[0], b.Addrs[0]}, c.Addrs[0])
	var again ctl.EndpointView
	m.ok(t, &again, "endpoint/add", epReq("net1", "c1"))
	require.Equal(t, a, again, "ADD after a restart answers what was made before it")
	m.ok(t, nil, "endpoint/del", epReq("net1", "c1"))
	require.Equal(t, 2, m.pool(t, "pods").Ranges[0].Used)
}

func TestEndpointGC(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	m.ok(t, nil, "add-br", "br0")
	for _, c := range []string{"c1", "c2", "c3"} {
		m.ok(t, nil, "endpoint/add", epReq("netA", c))
	}
	m.ok(t, nil, "endpoint/add", epReq("netB", "c1"))
	m.stop()

	// A lease of netA with no endpoint (an older daemon's, a hand edit):
	// GC reclaims it.
	var st State
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	st.Pools[0].Leases = append(st.Pools[0].Leases, leaseOf("pods", "cni/netA/gone/eth0", "10.30.0.200/24"))
	b, _ = json.Marshal(st)
	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), b, 0o600))

	m = startMem(t, dir)
	require.Equal(t, 5, m.pool(t, "pods").Ranges[0].Used)
	var res ctl.GCResult
	m.ok(t, &res, "endpoint/gc", `{"network":"netA","valid":[{"container_id":"c2","ifname":"eth0"}]}`)
	require.ElementsMatch(t, []ctl.AttachmentName{{ContainerID: "c1", IfName: "eth0"}, {ContainerID: "c3", IfName: "eth0"}}, res.Endpoints)
	require.Equal(t, []string{"cni/netA/gone/eth0"}, res.Leases)
	eps := m.endpoints(t)
	require.Len(t, eps, 2)
	require.Equal(t, 2, m.pool(t, "pods").Ranges[0].Used)
	// GC again: nothing more.
	m.ok(t, &res, "endpoint/gc", `{"network":"netA","valid":[{"container_id":"c2","ifname":"eth0"}]}`)
	require.Empty(t, res.Endpoints)
	require.Empty(t, res.Leases)
	// STATUS.
	m.ok(t, nil, "endpoint/status", `{"network":"netA","bridge":"br0","pool":"pods"}`)
	m.fails(t, ctl.CodeNotFound, "endpoint/status", `{"network":"netA","bridge":"nobr"}`)
}

func TestEndpointStoredConfigChecked(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "endpoint/add", epReq("netA", "c1"))
	m.ok(t, nil, "endpoint/add", epReq("netA", "c2"))
	m.stop()

	// An address leased twice: the file is not used, the previous copy is.
	var st State
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	st.Pools[0].Leases[1].Addrs = st.Pools[0].Leases[0].Addrs
	b, _ = json.Marshal(st)
	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), b, 0o600))

	m = startMem(t, dir)
	require.Len(t, m.endpoints(t), 2, "started from the configuration as stored (the copy in the journal), not the edit")
	matches, _ := filepath.Glob(filepath.Join(dir, StateFile+".corrupt-*"))
	require.Len(t, matches, 1)
}

func leaseOf(pool, owner string, addrs ...string) ipam.Lease {
	l := ipam.Lease{Pool: pool, Owner: owner}
	for _, a := range addrs {
		l.Addrs = append(l.Addrs, netip.MustParsePrefix(a))
	}
	return l
}
