package etcd

import (
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vecswitch/vecswitch/internal/etcdtest"
)

// A host cut off from etcd for longer than its TTL disappears from the
// others' view; once the partition heals it grants a new lease,
// re-publishes, and catches up with what changed meanwhile even though its
// watch revision was compacted away.
func TestPartition(t *testing.T) {
	t.Parallel()
	te := startEtcd(t)
	u, err := url.Parse(te.url)
	if err != nil {
		t.Fatal(err)
	}
	px := etcdtest.StartProxy(t, u.Host)
	a := newHost(t, &testEtcd{url: px.URL()}, vtepA, withTTL(2*time.Second)).start(t)
	b := newHost(t, te, vtepB).start(t)
	mustJoin(t, a, 5)
	mustJoin(t, b, 5)
	mustPublish(t, a, Endpoint{VNI: 5, MAC: mac(1)})
	mustPublish(t, b, Endpoint{VNI: 5, MAC: mac(2)})
	b.sink.waitFor(t, 5*time.Second, "B sees A", endpointAt(b, 5, mac(1), vtepA))
	a.sink.waitFor(t, 5*time.Second, "A sees B", endpointAt(a, 5, mac(2), vtepB))

	px.Cut()
	b.sink.waitFor(t, 8*time.Second, "B sees A expire", func() bool {
		return remotesAre(b, 5)() && endpointAt(b, 5, mac(1), "")()
	})
	// Meanwhile: B's endpoint leaves, another arrives; history is compacted.
	if err := b.s.Withdraw(t.Context(), 5, mac(2)); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, Endpoint{VNI: 5, MAC: mac(3)})
	resp, err := te.cli.Get(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := te.cli.Compact(t.Context(), resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	// A still shows its last view while cut off.
	if !endpointAt(a, 5, mac(2), vtepB)() {
		t.Error("A dropped its view during the partition")
	}

	healed := time.Now()
	px.Heal()
	b.sink.waitFor(t, 10*time.Second, "B sees A back", func() bool {
		return remotesAre(b, 5, vtepA)() && endpointAt(b, 5, mac(1), vtepA)()
	})
	a.sink.waitFor(t, 10*time.Second, "A catches up", func() bool {
		return endpointAt(a, 5, mac(2), "")() && endpointAt(a, 5, mac(3), vtepB)()
	})
	st := a.s.Stats()
	t.Logf("recovered %v after heal; A stats %+v", time.Since(healed), st)
	if st.Leases < 2 || st.Relists < 2 {
		t.Errorf("A stats %+v: want a new lease and a re-list", st)
	}
}
