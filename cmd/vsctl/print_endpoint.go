package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
)

// printEndpoint prints endpoint/show, ipam/show and ipam/alloc; false
// if cmd is another command.
func printEndpoint(w io.Writer, cmd string, res json.RawMessage) (bool, error) {
	switch cmd {
	case "endpoint/show":
		var eps []ctl.EndpointView
		if err := json.Unmarshal(res, &eps); err != nil {
			return true, err
		}
		if len(eps) == 0 {
			fmt.Fprintln(w, "no endpoints")
			return true, nil
		}
		fmt.Fprintln(w, "NETWORK\tCONTAINER\tIFNAME\tNAME\tPORT\tBRIDGE\tMAC\tADDRESSES\tSTATE")
		for _, e := range eps {
			id := e.ContainerID
			if len(id) > 12 {
				id = id[:12]
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Network, id, e.IfName, orDash(e.Name), e.Port, e.Bridge, e.MAC, orDash(strings.Join(e.Addrs, ",")), e.State)
		}
	case "ipam/alloc":
		var l ctl.LeaseView
		if err := json.Unmarshal(res, &l); err != nil {
			return true, err
		}
		fmt.Fprintf(w, "lease %s\t%s\n", strings.Join(l.Addrs, ","), l.Owner)
	case "ipam/show":
		var pools []ctl.PoolView
		if err := json.Unmarshal(res, &pools); err != nil {
			return true, err
		}
		if len(pools) == 0 {
			fmt.Fprintln(w, "no address pools (ipam/pool-add NAME subnet=CIDR)")
			return true, nil
		}
		for _, p := range pools {
			fmt.Fprintf(w, "pool %s\n", p.Name)
			for _, r := range p.Ranges {
				fmt.Fprintf(w, "  %s\trange %s-%s\tgateway %s\tused %d of %s", r.Subnet, r.Start, r.End, orDash(r.Gateway), r.Used, r.Size)
				if len(r.Exclude) > 0 {
					fmt.Fprintf(w, "\texclude %s", strings.Join(r.Exclude, ","))
				}
				if r.BlockBits > 0 {
					fmt.Fprintf(w, "\tblocks /%d held: %s", r.BlockBits, orDash(strings.Join(r.Blocks, ",")))
				}
				fmt.Fprintln(w)
			}
			for _, l := range p.Leases {
				fmt.Fprintf(w, "  lease %s\t%s\n", strings.Join(l.Addrs, ","), l.Owner)
			}
		}
	default:
		return false, nil
	}
	return true, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
