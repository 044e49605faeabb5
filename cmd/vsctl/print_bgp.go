package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
)

// printBGP prints bgp/show; false if cmd is another command.
func printBGP(w io.Writer, cmd string, res json.RawMessage) (bool, error) {
	if cmd != "bgp/show" {
		return false, nil
	}
	var v ctl.BGPShowView
	if err := json.Unmarshal(res, &v); err != nil {
		return true, err
	}
	if !v.Configured {
		fmt.Fprintln(w, "bgp not configured (bgp/set)")
		return true, nil
	}
	state := "running"
	if !v.Running {
		state = "NOT RUNNING: " + v.Error
	}
	fmt.Fprintf(w, "bgp\tAS %d, router id %s, %s\n", v.AS, v.RouterID, state)
	listen := "not listening"
	if v.ListenPort > 0 {
		listen = fmt.Sprintf("port %d", v.ListenPort)
		for _, a := range v.ListenAddrs {
			listen += " " + a
		}
	}
	fmt.Fprintf(w, "listen\t%s\n", listen)
	if v.GracefulRestart {
		rt := v.RestartTime
		if rt == 0 {
			rt = 120
		}
		fmt.Fprintf(w, "graceful restart\ton, %ds\n", rt)
	}
	fmt.Fprintf(w, "learned routes\t%d (%d in the FIB)\n", v.Learned, v.Installed)
	if len(v.Neighbors) > 0 {
		fmt.Fprintln(w, "NEIGHBOR\tAS\tVRF\tSTATE\tUPTIME\tRECEIVED\tACCEPTED\tSENT")
	}
	for _, n := range v.Neighbors {
		vrf := n.VRF
		if vrf == "" {
			vrf = "default"
		}
		st := n.State
		if n.PrefixLimitHit {
			st += " (max-prefixes hit)"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%d\n", n.Addr, n.AS, vrf, st, time.Duration(n.Uptime)*time.Second,
			n.Received, n.Accepted, n.Sent)
	}
	for _, a := range v.Announced {
		s := a.Prefix
		if a.VRF != "" {
			s += " vrf " + a.VRF
		}
		if a.NextHop != "" {
			s += " via " + a.NextHop
		}
		if a.Endpoints {
			s += " (routed endpoints)"
		}
		fmt.Fprintf(w, "announced\t%s\n", s)
	}
	return true, nil
}
