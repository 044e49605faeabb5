package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vecswitch/vecswitch/ctl"
)

// fdb/show answers one page of a bridge's MAC table (the daemon never
// builds the whole table for one request: 1.16 M entries once took 44 s
// and 1.58 GB). Without limit= or after=, vsctl asks page after page and
// prints each as it comes; with them, or with --json, it prints the one
// page asked for (scripts page with after=NEXT).

// pagedFDB reports whether vsctl should page fdb/show itself.
func pagedFDB(args []string, asJSON bool) bool {
	if asJSON {
		return false
	}
	for _, a := range args {
		if strings.HasPrefix(a, "limit=") || strings.HasPrefix(a, "after=") {
			return false
		}
	}
	return true
}

// fdbShowAll prints every page of fdb/show.
func fdbShowAll(c *ctl.Client, args []string, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	after, total, first := "", 0, true
	for {
		// The largest pages: each costs the daemon one pass over the
		// table, whatever its size.
		req := append(append([]string(nil), args...), "limit="+strconv.Itoa(ctl.MaxFDBPageLimit))
		if after != "" {
			req = append(req, "after="+after)
		}
		var res json.RawMessage
		if err := c.Call("fdb/show", req, &res); err != nil {
			return err
		}
		var pg ctl.FDBPage
		if err := json.Unmarshal(res, &pg); err != nil {
			return err
		}
		printFDB(tw, pg.Entries, first)
		tw.Flush() // a page at a time: the table is as wide as its first page
		first, total = false, total+len(pg.Entries)
		if pg.Next == "" || len(pg.Entries) == 0 {
			break
		}
		after = pg.Next
	}
	fmt.Fprintf(w, "%d entries\n", total)
	return nil
}

// printFDB prints MAC table entries, with the header if asked.
func printFDB(tw io.Writer, es []ctl.FDBEntry, header bool) {
	if header {
		fmt.Fprintln(tw, "vlan\tmac\tport\tage\tfast path (hits from/to)")
	}
	for _, e := range es {
		age := fmt.Sprint(e.AgeSeconds)
		switch {
		case e.Bound:
			age = "static (bound)"
		case e.Static:
			age = "static"
		}
		port := e.Port
		if e.VTEP != "" {
			port = "vtep " + e.VTEP
		}
		fp := "-"
		if e.FastPath != nil {
			fp = fmt.Sprintf("offloaded %d/%d", e.FastPath.SrcHits, e.FastPath.DstHits)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.VLAN, e.MAC, port, age, fp)
	}
}
