package etcd

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	vtepA = "192.0.2.1"
	vtepB = "192.0.2.2"
	vtepC = "2001:db8::3"
)

// Two hosts in one VNI see each other as remotes; a VNI only one host
// joined shows no remote on either; joining and leaving later is seen.
func TestMembersAcrossHosts(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA).start(t)
	b := newHost(t, te, vtepB).start(t)
	mustJoin(t, a, 100, 300)
	mustJoin(t, b, 100, 200)

	a.sink.waitFor(t, 5*time.Second, "A sees B in 100", remotesAre(a, 100, vtepB))
	b.sink.waitFor(t, 5*time.Second, "B sees A in 100", remotesAre(b, 100, vtepA))
	for _, c := range []struct {
		h   *host
		vni uint32
	}{{a, 300}, {b, 300}, {a, 200}, {b, 200}} {
		if got := c.h.sink.Remotes(c.vni); len(got) != 0 {
			t.Errorf("%v: remotes of VNI %d = %v, want none", c.h.s.Local(), c.vni, got)
		}
	}

	// A third host, IPv6, joins 100 and 300.
	c := newHost(t, te, vtepC).start(t)
	mustJoin(t, c, 100, 300)
	a.sink.waitFor(t, 5*time.Second, "A sees B, C in 100", remotesAre(a, 100, vtepB, vtepC))
	a.sink.waitFor(t, 5*time.Second, "A sees C in 300", remotesAre(a, 300, vtepC))
	c.sink.waitFor(t, 5*time.Second, "C sees A, B in 100", remotesAre(c, 100, vtepA, vtepB))
	if got := b.sink.Remotes(300); len(got) != 0 {
		t.Errorf("B (not in 300) got remotes %v", got)
	}

	// View shows everything, ours included, sorted.
	wantMembers := []Member{
		{100, netip.MustParseAddr(vtepA)}, {100, netip.MustParseAddr(vtepB)}, {100, netip.MustParseAddr(vtepC)},
		{200, netip.MustParseAddr(vtepB)},
		{300, netip.MustParseAddr(vtepA)}, {300, netip.MustParseAddr(vtepC)},
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		members, eps := b.s.View()
		if slices.Equal(members, wantMembers) && len(eps) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's View = %v %v, want %v", members, eps, wantMembers)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// C leaves 100: the others drop it, and C's sink forgets the VNI.
	if err := c.s.Leave(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	if got := c.sink.Remotes(100); len(got) != 0 {
		t.Errorf("C after Leave: remotes %v, want none", got)
	}
	a.sink.waitFor(t, 5*time.Second, "A sees only B in 100", remotesAre(a, 100, vtepB))
	b.sink.waitFor(t, 5*time.Second, "B sees only A in 100", remotesAre(b, 100, vtepA))
}

// An endpoint published on A appears on B and C; moved to B it is seen at
// B within 1 s on A and C; A's late Withdraw leaves B's entry in place.
func TestEndpointMove(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA).start(t)
	b := newHost(t, te, vtepB).start(t)
	c := newHost(t, te, vtepC).start(t)
	const vni = 100
	for _, h := range []*host{a, b, c} {
		mustJoin(t, h, vni)
	}
	m := mac(1)
	ip := netip.MustParseAddr("10.1.0.5")
	mustPublish(t, a, Endpoint{VNI: vni, MAC: m, IP: ip})
	b.sink.waitFor(t, 5*time.Second, "B sees M at A", endpointAt(b, vni, m, vtepA))
	c.sink.waitFor(t, 5*time.Second, "C sees M at A", endpointAt(c, vni, m, vtepA))
	if e, _ := b.sink.Endpoint(vni, m); e.IP != ip || e.VNI != vni || e.MAC != m {
		t.Errorf("B got %+v", e)
	}
	if _, ok := a.sink.Endpoint(vni, m); ok {
		t.Error("A's sink got its own endpoint")
	}

	// Move A -> B, then back and forth; measure from the start of the
	// new host's Publish until the old host's sink and a bystander's sink
	// show the new VTEP.
	var worst time.Duration
	from, to := a, b
	for i := range 6 {
		start := time.Now()
		mustPublish(t, to, Endpoint{VNI: vni, MAC: m, IP: ip})
		toVTEP := to.s.Local().String()
		from.sink.waitFor(t, 5*time.Second, "old host sees the move", endpointAt(from, vni, m, toVTEP))
		dOld := time.Since(start)
		c.sink.waitFor(t, 5*time.Second, "bystander sees the move", endpointAt(c, vni, m, toVTEP))
		dBy := time.Since(start)
		to.sink.waitFor(t, 5*time.Second, "new host drops the remote entry", endpointAt(to, vni, m, ""))
		// The old host's late withdraw must not delete the new entry.
		if err := from.s.Withdraw(t.Context(), vni, m); err != nil {
			t.Fatal(err)
		}
		t.Logf("move %d %v -> %v: old host converged in %v, bystander in %v", i, from.s.Local(), to.s.Local(), dOld, dBy)
		worst = max(worst, dOld, dBy)
		from, to = to, from
	}
	t.Logf("worst move convergence: %v", worst)
	if worst >= time.Second {
		t.Errorf("move convergence %v, want < 1s", worst)
	}

	// After the last move (to A) and B's withdraw, the key still names A.
	resp, err := te.cli.Get(t.Context(), macKey(a.s.prefix, vni, m))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get M: %v %v", resp, err)
	}
	var r record
	if err := json.Unmarshal(resp.Kvs[0].Value, &r); err != nil || r.VTEP != vtepA || r.IP != ip.String() {
		t.Fatalf("M in etcd = %s (%v), want at %s", resp.Kvs[0].Value, err, vtepA)
	}
	time.Sleep(100 * time.Millisecond) // let any wrong delete propagate
	if !endpointAt(b, vni, m, vtepA)() || !endpointAt(c, vni, m, vtepA)() {
		t.Error("late withdraw removed the moved endpoint")
	}
	if got := a.s.Stats().Superseded + b.s.Stats().Superseded; got != 6 {
		t.Errorf("superseded withdraws = %d, want 6", got)
	}

	// A real withdraw by the owner removes it everywhere.
	if err := a.s.Withdraw(t.Context(), vni, m); err != nil {
		t.Fatal(err)
	}
	b.sink.waitFor(t, 5*time.Second, "B drops M", endpointAt(b, vni, m, ""))
	c.sink.waitFor(t, 5*time.Second, "C drops M", endpointAt(c, vni, m, ""))
}

// Endpoints of a VNI the host has not joined are not passed on, until it
// joins; leaving removes them again.
func TestEndpointsFollowJoin(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA).start(t)
	b := newHost(t, te, vtepB).start(t)
	mustJoin(t, a, 7)
	mustPublish(t, a, Endpoint{VNI: 7, MAC: mac(1)})
	mustPublish(t, a, Endpoint{VNI: 7, MAC: mac(2), VTEP: netip.MustParseAddr(vtepA)})
	mustJoin(t, b, 8) // a marker: once B sees its own write, it has seen A's
	waitKey(t, te, memberKey(b.s.prefix, 8, b.s.Local()))
	time.Sleep(100 * time.Millisecond)
	if got := b.sink.Endpoints(); len(got) != 0 {
		t.Fatalf("B (not in 7) got endpoints %v", got)
	}
	mustJoin(t, b, 7)
	// Join replays what is known synchronously.
	if !endpointAt(b, 7, mac(1), vtepA)() || !endpointAt(b, 7, mac(2), vtepA)() || !remotesAre(b, 7, vtepA)() {
		t.Fatalf("after Join: remotes %v endpoints %v", b.sink.Remotes(7), b.sink.Endpoints())
	}
	if err := b.s.Leave(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	if got := b.sink.Endpoints(); len(got) != 0 || len(b.sink.Remotes(7)) != 0 {
		t.Fatalf("after Leave: remotes %v endpoints %v", b.sink.Remotes(7), got)
	}
}

func waitKey(t *testing.T, te *testEtcd, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := te.cli.Get(t.Context(), key)
		if err == nil && len(resp.Kvs) == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("key %s never appeared", key)
}

// A host that stops revokes its lease: it leaves the others' member lists
// and its endpoints are deleted at once, long before the TTL.
func TestStopRevokes(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA, withTTL(30*time.Second)).start(t)
	b := newHost(t, te, vtepB).start(t)
	mustJoin(t, a, 5)
	mustJoin(t, b, 5)
	mustPublish(t, a, Endpoint{VNI: 5, MAC: mac(9)})
	b.sink.waitFor(t, 5*time.Second, "B sees A", func() bool {
		return remotesAre(b, 5, vtepA)() && endpointAt(b, 5, mac(9), vtepA)()
	})

	start := time.Now()
	a.halt()
	d := b.sink.waitFor(t, 5*time.Second, "B forgets A", func() bool {
		return remotesAre(b, 5)() && endpointAt(b, 5, mac(9), "")()
	})
	t.Logf("stopped host gone from the other's view after %v", time.Since(start))
	if d > 5*time.Second { // milliseconds when revoked; the TTL is 30 s
		t.Errorf("took %v: lease not revoked?", d)
	}
	resp, err := te.cli.Get(t.Context(), a.s.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 { // B's membership only
		t.Errorf("keys left after stop: %v (%v), want 1", resp.Count, err)
	}

	// Run again: everything is re-published.
	a.start(t)
	b.sink.waitFor(t, 5*time.Second, "B sees A again", func() bool {
		return remotesAre(b, 5, vtepA)() && endpointAt(b, 5, mac(9), vtepA)()
	})
}

// A handover (vswitchd --takeover): a successor Syncer of the same VTEP
// writes the same entries; the old one stops with KeepLease, so nothing
// vanishes from the other hosts' view, not even for a moment, whatever
// the order. When the successor stops (revoking), the host is gone.
func TestKeepLeaseHandover(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA, withTTL(30*time.Second)).start(t)
	b := newHost(t, te, vtepB).start(t)
	mustJoin(t, a, 5)
	mustJoin(t, b, 5)
	mustPublish(t, a, Endpoint{VNI: 5, MAC: mac(9)})
	sees := func() bool { return remotesAre(b, 5, vtepA)() && endpointAt(b, 5, mac(9), vtepA)() }
	b.sink.waitFor(t, 5*time.Second, "B sees A", sees)

	// The old one stops first (the worst order), keeping its lease...
	a.s.KeepLease()
	a.halt()
	// ...and the successor writes the same entries a moment later.
	time.Sleep(300 * time.Millisecond)
	require.True(t, sees(), "B lost A when the old process stopped")
	a2 := newHost(t, te, vtepA).start(t)
	mustJoin(t, a2, 5)
	mustPublish(t, a2, Endpoint{VNI: 5, MAC: mac(9)})
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		require.True(t, sees(), "B lost A during the handover")
	}

	a2.halt() // revokes: the entries are under its lease now
	b.sink.waitFor(t, 5*time.Second, "B forgets A when the successor stops", func() bool {
		return remotesAre(b, 5)() && endpointAt(b, 5, mac(9), "")()
	})
}

// A host that vanishes without revoking (client closed) disappears from
// the others' view when its lease expires.
func TestLeaseExpiry(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA, withTTL(2*time.Second)).start(t)
	b := newHost(t, te, vtepB).start(t)
	mustJoin(t, a, 5)
	mustJoin(t, b, 5)
	mustPublish(t, a, Endpoint{VNI: 5, MAC: mac(9)})
	b.sink.waitFor(t, 5*time.Second, "B sees A", func() bool {
		return remotesAre(b, 5, vtepA)() && endpointAt(b, 5, mac(9), vtepA)()
	})

	start := time.Now()
	a.s.cli.Close() // no revoke possible any more
	a.s.ownsCli = false
	a.halt()
	b.sink.waitFor(t, 8*time.Second, "B forgets A after the TTL", func() bool {
		return remotesAre(b, 5)() && endpointAt(b, 5, mac(9), "")()
	})
	d := time.Since(start)
	t.Logf("crashed host gone after %v (TTL 2s)", d)
	if d < time.Second {
		t.Errorf("gone after %v, before the TTL: revoked after all?", d)
	}
}

// When the lease is lost (revoked behind the host's back, as after a long
// partition), the host grants a new one and re-publishes, except for an
// entry another host took over meanwhile.
func TestLeaseLossRepublishes(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA, withTTL(3*time.Second)).start(t)
	b := newHost(t, te, vtepB).start(t)
	mustJoin(t, a, 5)
	mustJoin(t, b, 5)
	mustPublish(t, a, Endpoint{VNI: 5, MAC: mac(1)})
	mustPublish(t, a, Endpoint{VNI: 5, MAC: mac(2)})
	b.sink.waitFor(t, 5*time.Second, "B sees A's endpoints", func() bool {
		return endpointAt(b, 5, mac(1), vtepA)() && endpointAt(b, 5, mac(2), vtepA)()
	})
	old := waitLease(t, a, 0)

	// Lose A's lease; while A has not noticed, M2 moves to B.
	if _, err := te.cli.Revoke(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, Endpoint{VNI: 5, MAC: mac(2)})
	b.sink.waitFor(t, 5*time.Second, "B sees A gone", func() bool {
		return remotesAre(b, 5)() && endpointAt(b, 5, mac(1), "")()
	})

	waitLease(t, a, old)
	b.sink.waitFor(t, 5*time.Second, "B sees A back", func() bool {
		return remotesAre(b, 5, vtepA)() && endpointAt(b, 5, mac(1), vtepA)()
	})
	a.sink.waitFor(t, 5*time.Second, "A sees M2 at B", endpointAt(a, 5, mac(2), vtepB))
	if _, ok := b.sink.Endpoint(5, mac(2)); ok {
		t.Error("A's re-publish clobbered M2, which moved to B")
	}
	st := a.s.Stats()
	if st.Leases != 2 || st.Superseded != 1 {
		t.Errorf("A stats %+v, want 2 leases, 1 superseded", st)
	}
}

// A watch that falls behind a compaction re-lists and the sink ends up
// consistent with etcd, including removals it never saw as events.
func TestCompactionRelist(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA).start(t)
	c := newHost(t, te, vtepC).start(t)
	mustJoin(t, a, 1, 2)
	mustJoin(t, c, 1)
	mustPublish(t, a, Endpoint{VNI: 1, MAC: mac(1)})
	mustPublish(t, a, Endpoint{VNI: 1, MAC: mac(2)})
	mustPublish(t, a, Endpoint{VNI: 2, MAC: mac(3)})
	mustPublish(t, c, Endpoint{VNI: 1, MAC: mac(4)})
	a.sink.waitFor(t, 5*time.Second, "A sees C", endpointAt(a, 1, mac(4), vtepC))

	b := newHost(t, te, vtepB)
	var hooked atomic.Bool
	b.s.afterList = func(int64) {
		if !hooked.CompareAndSwap(false, true) {
			return
		}
		// Between B's first list and its watch: change things, then
		// compact past the revision B will watch from.
		ctx := t.Context()
		for _, err := range []error{
			a.s.Withdraw(ctx, 1, mac(1)),
			a.s.Publish(ctx, Endpoint{VNI: 1, MAC: mac(5)}),
			c.s.Publish(ctx, Endpoint{VNI: 1, MAC: mac(2)}), // moved A -> C
			a.s.Leave(ctx, 2),
			c.s.Join(ctx, 2),
		} {
			if err != nil {
				t.Error(err)
			}
		}
		resp, err := te.cli.Get(ctx, "x")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := te.cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
			t.Error(err)
		}
	}
	b.start(t)
	mustJoin(t, b, 1, 2)
	b.sink.waitFor(t, 5*time.Second, "B consistent after re-list", func() bool {
		return remotesAre(b, 1, vtepA, vtepC)() &&
			remotesAre(b, 2, vtepC)() &&
			endpointAt(b, 1, mac(1), "")() &&
			endpointAt(b, 1, mac(2), vtepC)() &&
			endpointAt(b, 2, mac(3), vtepA)() &&
			endpointAt(b, 1, mac(4), vtepC)() &&
			endpointAt(b, 1, mac(5), vtepA)() &&
			len(b.sink.Endpoints()) == 4
	})
	if st := b.s.Stats(); st.WatchErrors < 1 || st.Relists < 2 {
		t.Errorf("B stats %+v: want a watch error and a re-list", st)
	}
	// The watch works again after the re-list.
	mustPublish(t, a, Endpoint{VNI: 1, MAC: mac(6)})
	b.sink.waitFor(t, 5*time.Second, "B sees a new endpoint", endpointAt(b, 1, mac(6), vtepA))
}

// Malformed keys and values under the prefix are ignored and counted, both
// in the initial list and in the watch; a valid entry turned into garbage
// is removed.
func TestMalformedIgnored(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	a := newHost(t, te, vtepA).start(t)
	b := newHost(t, te, vtepB)
	p := b.s.prefix
	garbage := map[string]string{
		p + "vni/1/macs/02:00:00:00:00:01":   "not json",
		p + "vni/1/macs/02:00:00:00:00:02":   `{"vtep":"nope"}`,
		p + "vni/1/macs/02:00:00:00:00:03":   `{"vtep":"192.0.2.9","ip":"bad"}`,
		p + "vni/1/macs/zz:zz":               `{"vtep":"192.0.2.9"}`,
		p + "vni/1/macs/02:00:00:00:00:0A":   `{"vtep":"192.0.2.9"}`, // not canonical
		p + "vni/abc/members/192.0.2.9":      "{}",
		p + "vni/16777216/members/192.0.2.9": "{}",
		p + "vni/1/members/not-an-ip":        "{}",
		p + "vni/1/bogus/x":                  "{}",
		p + "vni/1":                          "{}",
	}
	for k, v := range garbage {
		if _, err := te.cli.Put(t.Context(), k, v); err != nil {
			t.Fatal(err)
		}
	}
	// Not ours to judge: ignored without counting.
	if _, err := te.cli.Put(t.Context(), p+"pools/x", "\x00"); err != nil {
		t.Fatal(err)
	}
	mustJoin(t, a, 1)
	mustPublish(t, a, Endpoint{VNI: 1, MAC: mac(7)})
	waitKey(t, te, macKey(p, 1, mac(7)))

	b.start(t)
	mustJoin(t, b, 1)
	b.sink.waitFor(t, 5*time.Second, "B sees the valid entries", func() bool {
		return remotesAre(b, 1, vtepA)() && endpointAt(b, 1, mac(7), vtepA)()
	})
	if got := b.s.Stats().Malformed; got != uint64(len(garbage)) {
		t.Errorf("malformed after list = %d, want %d", got, len(garbage))
	}
	if n := len(b.sink.Endpoints()); n != 1 {
		t.Errorf("B has %d endpoints, want 1: %v", n, b.sink.Endpoints())
	}

	// Garbage arriving by watch, including over a valid entry.
	before := b.s.Stats().Malformed
	if _, err := te.cli.Put(t.Context(), macKey(p, 1, mac(7)), "{"); err != nil {
		t.Fatal(err)
	}
	if _, err := te.cli.Put(t.Context(), p+"vni/1/members/::ffff:1.2.3.4", "{}"); err != nil {
		t.Fatal(err)
	}
	b.sink.waitFor(t, 5*time.Second, "B drops the garbled entry", endpointAt(b, 1, mac(7), ""))
	deadline := time.Now().Add(5 * time.Second)
	for b.s.Stats().Malformed < before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := b.s.Stats().Malformed; got != before+2 {
		t.Errorf("malformed after watch = %d, want %d", got, before+2)
	}
	if !remotesAre(b, 1, vtepA)() {
		t.Errorf("B remotes %v", b.sink.Remotes(1))
	}
}

func TestArgumentsAndLifecycle(t *testing.T) {
	t.Parallel()
	sink := newMemSink()
	local := netip.MustParseAddr(vtepA)
	for _, cfg := range []Config{
		{Endpoints: []string{"http://127.0.0.1:1"}, Local: local},
		{Endpoints: []string{"http://127.0.0.1:1"}, Sink: sink},
		{Endpoints: []string{"http://127.0.0.1:1"}, Sink: sink, Local: netip.IPv4Unspecified()},
		{Local: local, Sink: sink},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}

	// Unreachable etcd: calls record the desired state and do not block.
	s, err := New(Config{Endpoints: []string{"http://127.0.0.1:1"}, Local: local, Sink: sink, DialTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Join(ctx, MaxVNI+1); !errors.Is(err, ErrBadVNI) {
		t.Errorf("Join(MaxVNI+1) = %v", err)
	}
	if err := s.Publish(ctx, Endpoint{VNI: 1, VTEP: netip.MustParseAddr(vtepB)}); !errors.Is(err, ErrNotLocal) {
		t.Errorf("Publish(other VTEP) = %v", err)
	}
	if err := s.Join(ctx, 1); err != nil {
		t.Errorf("Join before Run: %v", err)
	}
	if err := s.Publish(ctx, Endpoint{VNI: 1, MAC: mac(1)}); err != nil {
		t.Errorf("Publish before Run: %v", err)
	}
	if len(s.own.entries) != 2 || !s.own.dirty {
		t.Errorf("desired state not recorded: %d entries, dirty %v", len(s.own.entries), s.own.dirty)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	if err := s.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop Run")
	}
	if err := s.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
