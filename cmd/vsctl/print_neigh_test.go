package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestNeighStatsLayout: neigh/stats prints its counters and a table per
// interface, not the JSON it arrives as.
func TestNeighStatsLayout(t *testing.T) {
	out := human(t, "neigh/stats", ctl.NeighborStats{Entries: 5, Static: 1, Reachable: 1, Stale: 3, Limit: 65536, InterfaceLimit: 16384,
		Learned: 4, Evicted: 2, Full: 1, Interfaces: []ctl.NeighborIfaceStats{{Interface: "gw0", Reachable: 1, Stale: 3}}})
	for _, s := range []string{"entries 5 of 65536", "stale 3", "at most 16384", "evicted 2", "refused (full) 1", "gw0", "interface"} {
		require.Contains(t, out, s)
	}
}
