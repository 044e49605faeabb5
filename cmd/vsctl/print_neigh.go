package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/vecswitch/vecswitch/ctl"
)

// printNeigh prints neigh/stats: the table's fill, its limits and its
// counters, then each interface's learned entries.
func printNeigh(w io.Writer, cmd string, res json.RawMessage) (bool, error) {
	if cmd != "neigh/stats" {
		return false, nil
	}
	var st ctl.NeighborStats
	if err := json.Unmarshal(res, &st); err != nil {
		return true, err
	}
	fmt.Fprintf(w, "entries %d of %d (static %d, reachable %d, stale %d); learned per interface at most %d\n",
		st.Entries, st.Limit, st.Static, st.Reachable, st.Stale, st.InterfaceLimit)
	fmt.Fprintf(w, "learned %d, updated %d, aged %d, evicted %d, refused (full) %d\n",
		st.Learned, st.Updated, st.Aged, st.Evicted, st.Full)
	if len(st.Interfaces) > 0 {
		fmt.Fprintln(w, "interface\treachable\tstale")
		for _, i := range st.Interfaces {
			fmt.Fprintf(w, "%s\t%d\t%d\n", i.Interface, i.Reachable, i.Stale)
		}
	}
	return true, nil
}
