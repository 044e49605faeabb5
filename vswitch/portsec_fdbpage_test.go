package vswitch

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fdbPageRig learns n MACs per (port, VLAN) on a bridge with an access
// port a (VLAN 10), a trunk t (VLANs 10, 20) and a static MAC.
func fdbPageRig(t *testing.T, n int) *rig {
	r := newL2Rig(t, Options{})
	r.attach("a", "t")
	cfg := oneBridge(acc("a", 10), trunk("t", 0, 10, 20))
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macN(9999), VLAN: 20, Port: "t"}}
	r.reconf(cfg)
	for i := range n {
		r.send("a", frame(bcast(), macN(1000+i), -1))
		r.send("t", frame(bcast(), macN(2000+i), 10), frame(bcast(), macN(3000+i), 20))
	}
	r.recv()
	return r
}

func sortedFDB(s *Switch, keep func(FDBEntry) bool) []FDBEntry {
	var out []FDBEntry
	for _, e := range s.FDB() {
		if keep(e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b FDBEntry) int {
		if a.VLAN != b.VLAN {
			return int(a.VLAN) - int(b.VLAN)
		}
		return strings.Compare(a.MAC, b.MAC)
	})
	return out
}

// pageAll follows the cursors and returns every entry and each page's size.
func pageAll(t *testing.T, s *Switch, q FDBQuery) ([]FDBEntry, []int) {
	var all []FDBEntry
	var sizes []int
	for {
		p, err := s.FDBPage(q)
		require.NoError(t, err)
		all = append(all, p.Entries...)
		sizes = append(sizes, len(p.Entries))
		if p.Next == "" {
			return all, sizes
		}
		require.Less(t, len(sizes), 1000, "cursors do not advance")
		q.After = p.Next
	}
}

// TestFDBPage: pages hold at most the limit, follow (VLAN, MAC) order,
// carry the total, and chained by their cursors give the whole table,
// once; filters by port, VLAN and MAC.
func TestFDBPage(t *testing.T) {
	r := fdbPageRig(t, 20)
	want := sortedFDB(r.s, func(FDBEntry) bool { return true })
	require.Len(t, want, 61)

	p, err := r.s.FDBPage(FDBQuery{Bridge: "br0", Limit: 7})
	require.NoError(t, err)
	require.Equal(t, 61, p.Total)
	require.Equal(t, want[:7], p.Entries)
	require.Equal(t, FDBCursor(want[6].VLAN, want[6].MAC), p.Next)

	got, sizes := pageAll(t, r.s, FDBQuery{Bridge: "br0", Limit: 7})
	require.Equal(t, want, got)
	require.Equal(t, []int{7, 7, 7, 7, 7, 7, 7, 7, 5}, sizes)
	got, sizes = pageAll(t, r.s, FDBQuery{Bridge: "br0"})
	require.Equal(t, want, got)
	require.Equal(t, []int{61}, sizes)
	got, _ = pageAll(t, r.s, FDBQuery{Bridge: "br0", Limit: 61})
	require.Equal(t, want, got, "a page that ends exactly at the end has no next cursor")

	vlan20 := uint16(20)
	for _, tc := range []struct {
		name string
		q    FDBQuery
		keep func(FDBEntry) bool
	}{
		{"port a", FDBQuery{Port: "a"}, func(e FDBEntry) bool { return e.Port == "a" }},
		{"port t", FDBQuery{Port: "t", Limit: 3}, func(e FDBEntry) bool { return e.Port == "t" }},
		{"vlan 20", FDBQuery{VLAN: &vlan20, Limit: 4}, func(e FDBEntry) bool { return e.VLAN == 20 }},
		{"port t vlan 20", FDBQuery{Port: "t", VLAN: &vlan20}, func(e FDBEntry) bool { return e.VLAN == 20 }},
		{"mac", FDBQuery{MAC: "02:00:00:00:0B:B9"}, func(e FDBEntry) bool { return e.MAC == macN(3001) }},
		{"static", FDBQuery{MAC: macN(9999)}, func(e FDBEntry) bool { return e.Static }},
		{"no such port", FDBQuery{Port: "zz"}, func(FDBEntry) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Bridge = "br0"
			w := sortedFDB(r.s, tc.keep)
			p, err := r.s.FDBPage(tc.q)
			require.NoError(t, err)
			require.Equal(t, len(w), p.Total)
			got, _ := pageAll(t, r.s, tc.q)
			if len(w) == 0 {
				require.Empty(t, got)
				return
			}
			require.Equal(t, w, got)
		})
	}

	p, err = r.s.FDBPage(FDBQuery{Bridge: "nope"})
	require.NoError(t, err)
	require.Zero(t, p.Total)
	require.NotNil(t, p.Entries, "an empty page is [] in JSON")
	for _, q := range []FDBQuery{
		{Bridge: "br0", Limit: -1}, {Bridge: "br0", Limit: MaxFDBPageLimit + 1},
		{Bridge: "br0", After: "x"}, {Bridge: "br0", After: "5000/02:00:00:00:00:01"}, {Bridge: "br0", After: "1/zz"},
		{Bridge: "br0", MAC: "nope"},
	} {
		_, err := r.s.FDBPage(q)
		require.ErrorIs(t, err, ErrInvalidQuery, "%+v", q)
	}
}

// TestFDBPageMemory: a page of a large table costs memory for the page,
// not for the table.
func TestFDBPageMemory(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a")
	r.reconf(oneBridge(acc("a", 0)))
	const n = 1 << 16
	r.s.lrn.mu.Lock()
	dom := r.s.domIDs.ids[domKey{"br0", 0}]
	idx := r.s.attached["a"].idx
	seq := uint16(r.s.portSeq[idx].Load())
	for i := range n {
		r.s.lrn.insert(dom, 0, macKey(dom, uint64(0x020000000000+i)), packVal(idx, seq, false, 0))
	}
	r.s.lrn.mu.Unlock()
	q := FDBQuery{Bridge: "br0", Limit: 10}
	allocs := testing.AllocsPerRun(5, func() {
		p, err := r.s.FDBPage(q)
		if err != nil || p.Total != n || len(p.Entries) != 10 {
			t.Fatalf("page: %v, %d of %d", err, len(p.Entries), p.Total)
		}
	})
	require.Less(t, allocs, 100.0, "allocations per page of 10 from %d entries", n)
}
