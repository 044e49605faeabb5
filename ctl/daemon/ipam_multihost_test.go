package daemon

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/etcdtest"
	"github.com/vecswitch/vecswitch/ipam"
)

// Multi-host address management against a real (embedded) etcd: wanted
// addresses and other hosts' blocks, pools defined by an endpoint's ADD,
// deleting a pool while etcd is out of reach, overlapping pools of
// different names, and the error codes of conflicts and outages.

const ipamKeys = "/vecswitch/ipam/"

// ClaimBlock gives seqClaims (endpoints_routed_test.go) the block of a
// wanted address: with one host, a block is free or this host's.
func (c *seqClaims) ClaimBlock(_ context.Context, p ipam.Pool, i int, b netip.Prefix) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owned == nil {
		c.owned = map[string][][]netip.Prefix{}
	}
	o := c.owned[p.Name]
	for len(o) < len(p.Ranges) {
		o = append(o, nil)
	}
	if !slices.Contains(o[i], b) {
		o[i] = append(o[i], b)
	}
	c.owned[p.Name] = o
	return nil
}

// setClaimTimeout shortens the daemon's wait for etcd.
func setClaimTimeout(m *memDaemon, d time.Duration) {
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	m.d.ipam.timeout = d
}

func leaseAddr(t *testing.T, m *memDaemon, pool, owner string, opts ...string) string {
	t.Helper()
	var l ctl.LeaseView
	m.ok(t, &l, "ipam/alloc", append([]string{pool, owner}, opts...)...)
	require.Len(t, l.Addrs, 1)
	return l.Addrs[0]
}

func etcdValue(t *testing.T, e *etcdtest.Etcd, key string) (string, bool) {
	t.Helper()
	resp, err := e.Client.Get(context.Background(), key)
	require.NoError(t, err)
	if len(resp.Kvs) == 0 {
		return "", false
	}
	return string(resp.Kvs[0].Value), true
}

func etcdKeys(t *testing.T, e *etcdtest.Etcd, prefix string) []string {
	t.Helper()
	resp, err := e.Client.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, strings.TrimPrefix(string(kv.Key), prefix))
	}
	return out
}

// A wanted address (ipam/alloc ips=, an endpoint's want_ips, the CNI ips
// capability) comes from a block this host holds, or claims: one in
// another host's block is refused, so two hosts never lease one address.
func TestIPAMWantedAddressInAnotherHostsBlock(t *testing.T) {
	e := etcdtest.Start(t)
	a := startMem(t, t.TempDir(), withClaims(e.URL))
	b := startMem(t, t.TempDir(), withClaims(e.URL))
	for _, m := range []*memDaemon{a, b} {
		m.ok(t, nil, "ipam/pool-add", "qdp", "subnet=10.77.0.0/24", "block=28")
	}
	require.Equal(t, "10.77.0.2/24", leaseAddr(t, a, "qdp", "a1"))
	require.Equal(t, "10.77.0.16/24", leaseAddr(t, b, "qdp", "b1"))
	require.Equal(t, "10.77.0.17/24", leaseAddr(t, b, "qdp", "b2"))

	// b's block: its leased address and its free ones are b's to give.
	a.failsWith(t, ctl.CodeExists, "10.77.0.17 is in another host's block", "ipam/alloc", "qdp", "fx1", "ips=10.77.0.17")
	a.failsWith(t, ctl.CodeExists, "10.77.0.19 is in another host's block", "ipam/alloc", "qdp", "fx2", "ips=10.77.0.19")
	require.Equal(t, "10.77.0.18/24", leaseAddr(t, b, "qdp", "b3"))
	require.Equal(t, "10.77.0.19/24", leaseAddr(t, b, "qdp", "b4", "ips=10.77.0.19"))

	// A block nobody holds is claimed for the address, and is then the
	// claimer's: the other host's dynamic and wanted allocations keep out.
	require.Equal(t, "10.77.0.40/24", leaseAddr(t, a, "qdp", "fx3", "ips=10.77.0.40"))
	holder, ok := etcdValue(t, e, ipamKeys+"blocks/qdp/10.77.0.32-28")
	require.True(t, ok)
	require.Equal(t, a.d.state.HostID, holder)
	b.failsWith(t, ctl.CodeExists, "10.77.0.41", "ipam/alloc", "qdp", "b5", "ips=10.77.0.41")
	require.Equal(t, "10.77.0.3/24", leaseAddr(t, a, "qdp", "a2"), "round-robin after the last dynamic address")
	require.Equal(t, "10.77.0.20/24", leaseAddr(t, b, "qdp", "b6", "ips=10.77.0.20"), "an address of the host's own block")

	// The endpoint path (CNI ADD with want_ips).
	b.ok(t, nil, "add-br", "br0")
	b.failsWith(t, ctl.CodeExists, "10.77.0.2 is in another host's block", "endpoint/add", epReq("n1", "k1", func(r *ctl.EndpointRequest) {
		r.Pool, r.PoolDef, r.WantIPs = "qdp", nil, []string{"10.77.0.2"}
	}))
	require.Empty(t, b.endpoints(t))

	// What each host leased, and what etcd says it holds.
	leases := func(m *memDaemon) []string {
		var out []string
		for _, l := range m.pool(t, "qdp").Leases {
			out = append(out, l.Owner+"="+l.Addrs[0])
		}
		return out
	}
	require.Equal(t, []string{"a1=10.77.0.2/24", "a2=10.77.0.3/24", "fx3=10.77.0.40/24"}, leases(a))
	require.Equal(t, []string{"b1=10.77.0.16/24", "b2=10.77.0.17/24", "b3=10.77.0.18/24", "b4=10.77.0.19/24", "b6=10.77.0.20/24"}, leases(b))
	require.Equal(t, []string{"10.77.0.0-28", "10.77.0.16-28", "10.77.0.32-28"}, etcdKeys(t, e, ipamKeys+"blocks/qdp/"))
}

// An endpoint ADD whose netconf defines the pool (the first ADD creates
// it) works with --etcd; a failed one leaves neither an allocator nor a
// definition or block in etcd.
func TestIPAMEndpointDefinesPoolWithEtcd(t *testing.T) {
	e := etcdtest.Start(t)
	m := startMem(t, t.TempDir(), withClaims(e.URL))
	m.ok(t, nil, "add-br", "br0")
	var ep ctl.EndpointView
	m.ok(t, &ep, "endpoint/add", epReq("n2", "k1", func(r *ctl.EndpointRequest) {
		r.Pool, r.PoolDef = "qdk", &ctl.PoolDef{"subnet": "10.87.0.0/24", "block": "28"}
	}))
	require.Equal(t, []string{"10.87.0.2/24"}, ep.Addrs)
	require.Equal(t, "10.87.0.3/24", leaseAddr(t, m, "qdk", "z1"))
	require.Equal(t, []string{"qdk"}, etcdKeys(t, e, ipamKeys+"pools/"))
	require.Equal(t, []string{"10.87.0.0-28"}, etcdKeys(t, e, ipamKeys+"blocks/qdk/"))
	pv := m.pool(t, "qdk")
	require.Len(t, pv.Leases, 2)
	require.Equal(t, []string{"10.87.0.0/28"}, pv.Ranges[0].Blocks)

	// Refused at allocation (the gateway), and after it (a route with no
	// gateway of its family): the new pool goes, here and in etcd.
	for _, f := range []func(*ctl.EndpointRequest){
		func(r *ctl.EndpointRequest) {
			r.Pool, r.PoolDef, r.WantIPs = "qdf", &ctl.PoolDef{"subnet": "10.88.0.0/24"}, []string{"10.88.0.1"}
		},
		func(r *ctl.EndpointRequest) {
			r.Pool, r.PoolDef, r.Routes = "qdg", &ctl.PoolDef{"subnet": "10.89.0.0/24"}, []ctl.RouteSpec{{Dst: "fd00::/64"}}
		},
	} {
		m.fails(t, ctl.CodeInvalid, "endpoint/add", epReq("n2", "k2", f))
	}
	for _, p := range []string{"qdf", "qdg"} {
		m.fails(t, ctl.CodeNotFound, "ipam/alloc", p, "z")
		m.fails(t, ctl.CodeNotFound, "ipam/show", p)
		require.Empty(t, etcdKeys(t, e, ipamKeys+"blocks/"+p+"/"))
	}
	require.Equal(t, []string{"qdk"}, etcdKeys(t, e, ipamKeys+"pools/"))
	require.Len(t, m.endpoints(t), 1)
}

// ipam/pool-del while etcd is out of reach fails as unavailable and
// changes nothing: deleting the pool here would leave its blocks and
// definition in etcd for good. With etcd back it goes, there too, and
// the name is free again. pool-add without etcd is unavailable too.
func TestIPAMPoolDelEtcdDown(t *testing.T) {
	e := etcdtest.Start(t)
	px := etcdtest.StartProxy(t, e.URL)
	m := startMem(t, t.TempDir(), withClaims(px.URL()))
	setClaimTimeout(m, 2*time.Second)
	m.ok(t, nil, "ipam/pool-add", "qpd", "subnet=10.91.0.0/24", "block=28")
	require.Equal(t, "10.91.0.2/24", leaseAddr(t, m, "qpd", "x1"))

	px.Cut()
	m.ok(t, nil, "ipam/release", "qpd", "owner=x1") // the block stays claimed: it cannot be given back now
	m.failsWith(t, ctl.CodeUnavail, "etcd", "ipam/pool-del", "qpd")
	m.pool(t, "qpd") // still here
	m.failsWith(t, ctl.CodeUnavail, "etcd", "ipam/pool-add", "qpe", "subnet=10.92.0.0/24")
	m.fails(t, ctl.CodeNotFound, "ipam/show", "qpe")
	require.Equal(t, []string{"qpd"}, etcdKeys(t, e, ipamKeys+"pools/"))
	require.Equal(t, []string{"10.91.0.0-28"}, etcdKeys(t, e, ipamKeys+"blocks/qpd/"))

	px.Heal()
	require.Eventually(t, func() bool { return m.call("ipam/pool-del", []string{"qpd"}, nil) == nil }, time.Minute, 100*time.Millisecond)
	m.fails(t, ctl.CodeNotFound, "ipam/show", "qpd")
	require.Empty(t, etcdKeys(t, e, ipamKeys+"pools/"))
	require.Empty(t, etcdKeys(t, e, ipamKeys+"blocks/qpd/"))
	other := startMem(t, t.TempDir(), withClaims(e.URL))
	other.ok(t, nil, "ipam/pool-add", "qpd", "subnet=10.93.0.0/24")
}

// Pools of different names whose subnets overlap would give the same
// addresses on different hosts: the second is refused, naming the first,
// whether added by hand or by an endpoint's netconf.
func TestIPAMOverlappingPoolsAcrossHosts(t *testing.T) {
	e := etcdtest.Start(t)
	a := startMem(t, t.TempDir(), withClaims(e.URL))
	b := startMem(t, t.TempDir(), withClaims(e.URL))
	a.ok(t, nil, "ipam/pool-add", "qdx", "subnet=10.79.0.0/24")
	require.Equal(t, "10.79.0.2/24", leaseAddr(t, a, "qdx", "x1"))
	b.failsWith(t, ctl.CodeInvalid, "overlaps 10.79.0.0/24 of pool qdx", "ipam/pool-add", "qdy", "subnet=10.79.0.0/24")
	b.failsWith(t, ctl.CodeInvalid, "of pool qdx", "ipam/pool-add", "qdy", "subnet=10.79.0.128/25")
	b.ok(t, nil, "add-br", "br0")
	b.failsWith(t, ctl.CodeInvalid, "of pool qdx", "endpoint/add", epReq("n1", "k1", func(r *ctl.EndpointRequest) {
		r.Pool, r.PoolDef = "qdy", &ctl.PoolDef{"subnet": "10.79.0.0/16"}
	}))
	b.fails(t, ctl.CodeNotFound, "ipam/show", "qdy")
	b.ok(t, nil, "ipam/pool-add", "qdw", "subnet=10.80.0.0/24")
	b.ok(t, nil, "ipam/pool-add", "qdx", "subnet=10.79.0.0/24") // the same pool on a second host
	require.Equal(t, []string{"qdw", "qdx"}, etcdKeys(t, e, ipamKeys+"pools/"))
}

// A definition conflict found when claiming a block is permanent:
// invalid (CNI 7), not unavailable (try again).
func TestIPAMClaimConflictIsInvalid(t *testing.T) {
	e := etcdtest.Start(t)
	m := startMem(t, t.TempDir(), withClaims(e.URL))
	m.ok(t, nil, "ipam/pool-add", "qc", "subnet=10.94.0.0/24")
	// Another host deleted and redefined it (written here by hand).
	_, err := e.Client.Put(context.Background(), ipamKeys+"pools/qc", `{"name":"qc","ranges":[{"subnet":"10.95.0.0/24"}]}`)
	require.NoError(t, err)
	m.failsWith(t, ctl.CodeInvalid, "defined differently", "ipam/alloc", "qc", "z")
	m.failsWith(t, ctl.CodeInvalid, "defined differently", "ipam/alloc", "qc", "z", "ips=10.94.0.9")
	require.Empty(t, m.pool(t, "qc").Leases)
}
