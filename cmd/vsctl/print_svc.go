package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
)

// printSvc prints svc/show and dns/show; false if cmd is another command.
func printSvc(w io.Writer, cmd string, res json.RawMessage) (bool, error) {
	switch cmd {
	case "svc/show":
		var v []ctl.SvcView
		if err := json.Unmarshal(res, &v); err != nil {
			return true, err
		}
		for _, s := range v {
			vip, _ := netip.ParseAddr(s.VIP)
			fmt.Fprintf(w, "service %s %s %s (new flows %d, no backend %d)\n", s.Name, s.Proto,
				netip.AddrPortFrom(vip, s.Port), s.NewFlows, s.NoBackend)
			if len(s.Backends) > 0 {
				fmt.Fprintln(w, "  BACKEND\tWEIGHT\tSHARE\tNEW FLOWS\tSTATE")
			}
			for _, b := range s.Backends {
				a, _ := netip.ParseAddr(b.Addr)
				state := "active"
				if b.Drained {
					state = "drained"
				}
				fmt.Fprintf(w, "  %s\t%d\t%.1f%%\t%d\t%s\n", netip.AddrPortFrom(a, b.Port), b.Weight, 100*b.Share, b.NewFlows, state)
			}
		}
		return true, nil
	case "dns/show":
		var v ctl.DNSShowView
		if err := json.Unmarshal(res, &v); err != nil {
			return true, err
		}
		for _, n := range v.Networks {
			ups := "none (foreign names refused)"
			if len(n.Upstreams) > 0 {
				ups = strings.Join(n.Upstreams, ",")
			}
			fmt.Fprintf(w, "dns %s domain %s upstreams %s\n", n.Interface, n.Domain, ups)
			for _, nm := range n.Names {
				fmt.Fprintf(w, "  %s\t%s\t%s\n", nm.Name, nm.Kind, strings.Join(nm.Addrs, ","))
			}
		}
		reasons := make([]string, 0, len(v.Resolver))
		for r, c := range v.Resolver {
			if c > 0 {
				reasons = append(reasons, fmt.Sprintf("%s %d", r, c))
			}
		}
		sort.Strings(reasons)
		fmt.Fprintf(w, "queries\t%s\n", strings.Join(reasons, ", "))
		p := v.Punt
		fmt.Fprintf(w, "punt\tpunted %d, replies %d, reply drops %d, no handler %d, malformed %d\n",
			p.Punted, p.Replies, p.ReplyDrops, p.NoHandler, p.Malformed)
		if p.TCPAccepted+p.TCPRefused+p.TCPResets > 0 { // DNS over TCP, once there was any
			fmt.Fprintf(w, "tcp\tconnections %d, accepted %d, refused when full %d, resets %d, retransmits %d, queries %d\n",
				p.TCPConnections, p.TCPAccepted, p.TCPRefused, p.TCPResets, p.TCPRetransmits, p.TCPQueries)
		}
		return true, nil
	}
	return false, nil
}
