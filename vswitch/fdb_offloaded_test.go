package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// TestFastPathFDB lists exactly the offloaded entries, with their hits,
// and not the MACs on a port outside the fast path.
func TestFastPathFDB(t *testing.T) {
	fp := newRecFastPath()
	r := newRig(t, Options{FastPath: fp})
	for i, n := range []string{"a", "b", "plain"} {
		p, err := memport.New(memport.Config{Name: n, TxQueues: 1, RxQueues: 1})
		require.NoError(t, err)
		var port ports.Port = p
		if n != "plain" {
			port = memberPort{p, 100 + i}
		}
		require.NoError(t, r.s.AddPort(port))
		r.ports[n] = p
	}
	require.NoError(t, r.s.Reconfigure(Config{Bridges: []Bridge{{Name: "br0", Ports: []Port{{Name: "a"}, {Name: "b"}, {Name: "plain"}}}}}))
	require.Empty(t, r.s.FastPathFDB())
	r.send("a", frame(bcast(), macN(1), -1))
	r.send("b", frame(bcast(), macN(2), -1))
	r.send("plain", frame(bcast(), macN(3), -1))
	dom := r.s.domIDs.ids[domKey{"br0", 0}]
	e, ok := fp.entry(dom, macN(1))
	require.True(t, ok)
	fp.srcHits[e.slot] = 7

	es := r.s.FastPathFDB()
	require.Len(t, es, 2, "%+v", es)
	got := map[string]FDBEntry{}
	for _, e := range es {
		got[e.MAC] = e
	}
	require.Contains(t, got, macN(1))
	require.Contains(t, got, macN(2))
	require.NotContains(t, got, macN(3))
	require.Equal(t, "a", got[macN(1)].Port)
	require.NotNil(t, got[macN(1)].FastPath)
	require.Equal(t, uint64(7), got[macN(1)].FastPath.SrcHits)
}
