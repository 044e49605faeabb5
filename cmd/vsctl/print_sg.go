package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
)

// printSG prints sg/show; false if cmd is another command.
func printSG(w io.Writer, cmd string, res json.RawMessage) (bool, error) {
	if cmd != "sg/show" {
		return false, nil
	}
	var v ctl.SGShowView
	if err := json.Unmarshal(res, &v); err != nil {
		return true, err
	}
	if len(v.Groups) == 0 {
		fmt.Fprintln(w, "no security groups")
	}
	for _, g := range v.Groups {
		fmt.Fprintf(w, "group %s\tports: %s\tmembers: %s\n", g.Name, orDash(strings.Join(g.Ports, ",")), orDash(strings.Join(g.MemberAddrs, ",")))
		if len(g.Rules) > 0 {
			fmt.Fprintln(w, "  RULE\tDIR\tPROTO\tPORT\tREMOTE\tPRIO\tACTION\tPACKETS\tBYTES")
		}
		for _, r := range g.Rules {
			remote := r.Remote
			if r.RemoteGroup != "" {
				remote = "group:" + r.RemoteGroup
			}
			port := r.Ports
			if r.ICMP != "" {
				port = "type " + r.ICMP
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\n", r.Name, r.Direction, orDash(r.Proto), orDash(port), orDash(remote), r.Priority, r.Action, r.Packets, r.Bytes)
		}
	}
	for _, d := range v.DefaultDenies {
		fmt.Fprintf(w, "default deny %s of %s\t%d packets\t%d bytes\n", d.Direction, d.Groups, d.Packets, d.Bytes)
	}
	fmt.Fprintf(w, "flows\t%d of %d\n", v.Flows, v.FlowCapacity)
	return true, nil
}
