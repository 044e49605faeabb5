package vswitch

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
)

// Helpers shared by the L2 tests (l2_test.go, mactable_rand_test.go,
// fuzz_test.go, alloc_test.go).

// newL2Rig is newRig plus a check, when the test ends, that every buffer
// went back to its pool.
func newL2Rig(t *testing.T, opts Options) *rig {
	t.Helper()
	r := newRig(t, opts)
	// Registered after newRig's cleanup, so it runs before the switch closes.
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		for i, p := range r.s.pools {
			if p.Available() != p.Size() {
				t.Errorf("worker %d pool leaked buffers: %d of %d free", i, p.Available(), p.Size())
			}
		}
	})
	return r
}

// reconf applies cfg and requires it to succeed.
func (r *rig) reconf(cfg Config) {
	r.t.Helper()
	require.NoError(r.t, r.s.Reconfigure(cfg))
}

// requireNoLeak checks that every worker's pool has all its buffers back.
func requireNoLeak(t testing.TB, s *Switch) {
	t.Helper()
	for i, p := range s.pools {
		require.Equal(t, p.Size(), p.Available(), "worker %d pool leaked buffers", i)
	}
}

// keys lists a map's keys in order.
func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}

// qinq turns a tagged frame's outer tag into an 802.1ad one.
func qinq(f []byte) []byte {
	f[12], f[13] = 0x88, 0xa8
	return f
}

func acc(name string, vlan uint16) Port { return Port{Name: name, Mode: Access, VLAN: vlan} }

func trunk(name string, native uint16, vlans ...uint16) Port {
	return Port{Name: name, Mode: Trunk, VLAN: native, Trunks: vlans}
}

func oneBridge(ports ...Port) Config {
	return Config{Bridges: []Bridge{{Name: "br0", Ports: ports}}}
}

// dropCount returns how many packets node dropped for reason, over all
// workers. It fails the test if the node does not declare the reason, so a
// misspelt reason cannot pass as "0 drops".
func dropCount(t testing.TB, s *Switch, node, reason string) uint64 {
	t.Helper()
	declared := reason == pipeline.DropFrameFull
	if i, ok := s.graph.Index(node); ok {
		declared = declared || slices.Contains(s.graph.Spec(i).Drops, reason)
	} else {
		switch node {
		case pipeline.RxNodeName:
			declared = declared || reason == pipeline.DropRxError
		case pipeline.TxNodeName:
			declared = declared || slices.Contains([]string{pipeline.DropTxNoQueue, pipeline.DropTxNotSent, pipeline.DropTxBadPort}, reason)
		default:
			t.Fatalf("no node %q", node)
		}
	}
	require.True(t, declared, "node %s has no drop reason %q", node, reason)
	for _, c := range s.Runtime() {
		if c.Name != node {
			continue
		}
		for _, d := range c.Drops {
			if d.Reason == reason {
				return d.Packets
			}
		}
		return 0
	}
	t.Fatalf("node %q missing from Runtime", node)
	return 0
}

// allDrops is every drop counter of every node, keyed "node/reason".
func allDrops(s *Switch) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range s.Runtime() {
		for _, d := range c.Drops {
			out[c.Name+"/"+d.Reason] = d.Packets
		}
	}
	return out
}

// dropsSince returns the counters that grew since before.
func dropsSince(s *Switch, before map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range allDrops(s) {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// fdbEntry is a valid MAC table entry as a test sees it.
type fdbEntry struct {
	port   string
	static bool
}

// fdb looks up mac in (bridge, vlan) the way a worker does: an entry whose
// port was flushed since it was learned does not count.
func fdb(s *Switch, bridge string, vlan uint16, mac string) (fdbEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom, ok := s.domIDs.ids[domKey{bridge, vlan}]
	if !ok {
		return fdbEntry{}, false
	}
	m, err := parseMAC(mac)
	must(err)
	_, v, found := s.lrn.macs.Load().lookup(macKey(dom, m))
	if !found || !s.lrn.valid(v) {
		return fdbEntry{}, false
	}
	e := fdbEntry{port: "?", static: valStaticOf(v)}
	for name, a := range s.attached {
		if a.idx == valPort(v) {
			e.port = name
		}
	}
	return e, true
}

// fdb is fdb for the rig's switch.
func (r *rig) fdb(bridge string, vlan uint16, mac string) (fdbEntry, bool) {
	return fdb(r.s, bridge, vlan, mac)
}

// requireFDB checks where mac sits in (br0, vlan); port "" means nowhere.
func (r *rig) requireFDB(vlan uint16, mac, port string, static bool) {
	r.t.Helper()
	e, ok := r.fdb("br0", vlan, mac)
	if port == "" {
		require.False(r.t, ok, "%s in VLAN %d should not be in the table, found on %s", mac, vlan, e.port)
		return
	}
	require.True(r.t, ok, "%s in VLAN %d should be on %s", mac, vlan, port)
	require.Equal(r.t, fdbEntry{port: port, static: static}, e, "%s in VLAN %d", mac, vlan)
}

// limitHits is the learner's count of learn events refused by the bridge's
// MAC limit.
func limitHits(s *Switch, bridge string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lrn.mu.Lock()
	defer s.lrn.mu.Unlock()
	b := s.brIDs.ids[bridge]
	if int(b) >= len(s.lrn.limitHit) {
		return 0
	}
	return s.lrn.limitHit[b]
}
