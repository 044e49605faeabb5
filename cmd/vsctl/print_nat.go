package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
)

// printNAT prints nat/show; false if cmd is another command.
func printNAT(w io.Writer, cmd string, res json.RawMessage) (bool, error) {
	if cmd != "nat/show" {
		return false, nil
	}
	var v ctl.NATShowView
	if err := json.Unmarshal(res, &v); err != nil {
		return true, err
	}
	for _, m := range v.Masquerade {
		fmt.Fprintf(w, "masquerade %s behind %s\n", m.Interface, m.External)
	}
	if len(v.Uplinks) > 0 {
		fmt.Fprintf(w, "uplinks\t%s\n", strings.Join(v.Uplinks, ","))
	}
	if len(v.PortMaps) > 0 {
		fmt.Fprintln(w, "PROTO\tHOST\tHOST-PORT\tTARGET\tTARGET-PORT")
	}
	for _, m := range v.PortMaps {
		host := m.Host
		if host == "" {
			host = "*"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\n", m.Proto, host, m.HostPort, m.Target, m.TargetPort)
	}
	if !v.Enabled {
		fmt.Fprintln(w, "nat off (no masquerade or port map)")
		return true, nil
	}
	fmt.Fprintf(w, "flows\t%d (snat %d, dnat %d, hairpin %d)\ntranslated packets\t%d\n", v.Flows, v.SNAT, v.DNAT, v.Hairpin, v.Translated)
	reasons := make([]string, 0, len(v.Refused))
	for r := range v.Refused {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "refused %s\t%d\n", r, v.Refused[r])
	}
	return true, nil
}
