package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestNeighStatsLayout: neigh/stats prints its counters and a table per
// interface, not the JSON it arrives as.
func TestNeighStatsLayout(t *testing.T) {
	b, err := json.Marshal(ctl.NeighborStats{Entries: 5, Static: 1, Reachable: 1, Stale: 3, Limit: 65536, InterfaceLimit: 16384,
		Learned: 4, Evicted: 2, Full: 1, Interfaces: []ctl.NeighborIfaceStats{{Interface: "gw0", Reachable: 1, Stale: 3}}})
	require.NoError(t, err)
	var w bytes.Buffer
	require.NoError(t, printHuman(&w, "neigh/stats", b))
	out := w.String()
	require.NotContains(t, out, "{")
	for _, s := range []string{"entries 5 of 65536", "stale 3", "at most 16384", "evicted 2", "refused (full) 1", "gw0", "interface"} {
		require.Contains(t, out, s)
	}
}
