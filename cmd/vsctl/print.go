package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vecswitch/vecswitch/ctl"
)

// printHuman prints a result for people; commands without a layout of
// their own print indented JSON.
func printHuman(w io.Writer, cmd string, res json.RawMessage) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	if ok, err := printEndpoint(tw, cmd, res); ok {
		return err
	}
	if ok, err := printSG(tw, cmd, res); ok {
		return err
	}
	if ok, err := printNAT(tw, cmd, res); ok {
		return err
	}
	if ok, err := printSvc(tw, cmd, res); ok {
		return err
	}
	if ok, err := printBGP(tw, cmd, res); ok {
		return err
	}
	if ok, err := printSRIOV(tw, cmd, res); ok {
		return err
	}
	if ok, err := printNeigh(tw, cmd, res); ok {
		return err
	}
	switch cmd {
	case "list-br", "list-ports":
		var names []string
		if err := json.Unmarshal(res, &names); err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(tw, n)
		}
	case "show":
		var v ctl.ShowView
		if err := json.Unmarshal(res, &v); err != nil {
			return err
		}
		for _, b := range v.Bridges {
			fp := ""
			if !b.FastPath {
				fp = ", fast path off"
			}
			refused := ""
			if b.MACLimitDrops > 0 {
				refused = ", " + strconv.FormatUint(b.MACLimitDrops, 10) + " refused"
			}
			fmt.Fprintf(tw, "bridge %s (mac age %ds, limit %d%s%s)\n", b.Name, b.MACAgeSeconds, b.MACLimit, refused, fp)
			for _, p := range b.Ports {
				printPortLine(tw, p)
			}
		}
		if len(v.RoutedPorts) > 0 {
			fmt.Fprintln(tw, "routed ports (in no bridge)")
			for _, p := range v.RoutedPorts {
				printPortLine(tw, p)
			}
		}
		if fp := v.FastPath; fp.Enabled {
			fmt.Fprintf(tw, "fast path: %d ports, %d MACs offloaded, %d kernel errors", fp.Ports, fp.Entries, fp.Errors)
			if fp.LastError != "" {
				fmt.Fprintf(tw, " (last: %s)", fp.LastError)
			}
			fmt.Fprintln(tw)
		} else {
			fmt.Fprintln(tw, "fast path: not running (vswitchd --fast-path=false, or the kernel cannot load it: see its log)")
		}
		fmt.Fprintln(tw, "workers:")
		for _, wi := range v.Workers {
			fmt.Fprintf(tw, "  worker %d\tcpu %s\t%s\tbusy %.1f%%\trx queues %d\n", wi.ID, cpuText(wi.CPU), runText(wi.Running), wi.BusyPercent, wi.RxQueues)
		}
	case "version":
		var v map[string]string
		if err := json.Unmarshal(res, &v); err != nil {
			return err
		}
		fmt.Fprintf(tw, "daemon\t%s\nprotocol\t%s\n", v["daemon"], v["protocol"])
	case "sg/flush-flows", "nat/flush-flows":
		var v map[string]int
		if err := json.Unmarshal(res, &v); err != nil {
			return err
		}
		fmt.Fprintf(tw, "flushed %d flows\n", v["flushed"])
	case "fdb/show":
		var pg ctl.FDBPage
		if err := json.Unmarshal(res, &pg); err != nil {
			return err
		}
		printFDB(tw, pg.Entries, true)
		if pg.Next != "" {
			fmt.Fprintf(tw, "(%d of %d entries; the next page: after=%s)\n", len(pg.Entries), pg.Total, pg.Next)
		}
	case "route/show":
		var rs []ctl.RouteEntry
		if err := json.Unmarshal(res, &rs); err != nil {
			return err
		}
		fmt.Fprintln(tw, "vrf\tprefix\ttype\tvia")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.VRF, r.Prefix, r.Type, hopsText(r.Via))
		}
	case "neigh/show":
		var ns []ctl.NeighborEntry
		if err := json.Unmarshal(res, &ns); err != nil {
			return err
		}
		fmt.Fprintln(tw, "interface\taddress\tmac\tage")
		for _, n := range ns {
			age := fmt.Sprint(n.Age)
			if n.Static {
				age = "static"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Interface, n.Addr, n.MAC, age)
		}
	case "rif/show":
		var is []ctl.Interface
		if err := json.Unmarshal(res, &is); err != nil {
			return err
		}
		fmt.Fprintln(tw, "interface\tdomain\tvrf\tmac\tmtu\taddresses")
		for _, i := range is {
			dom := fmt.Sprintf("%s vlan %d", i.Bridge, i.VLAN)
			if i.Port != "" {
				dom = "port " + i.Port
			}
			addrs := strings.Join(i.Addrs, " ")
			if i.ProxyARP {
				addrs = strings.TrimSpace(addrs + " (proxy ARP, gateway 169.254.1.1 fe80::1)")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", i.Name, dom, i.VRF, i.MAC, i.MTU, addrs)
		}
	case "trace/show":
		var ts []ctl.TraceView
		if err := json.Unmarshal(res, &ts); err != nil {
			return err
		}
		if len(ts) == 0 {
			fmt.Fprintln(tw, "no traced packets")
		}
		for _, t := range ts {
			fmt.Fprintf(tw, "packet %d: worker %d, in port %s, %s\n", t.Seq, t.Worker, t.InPort, t.Time.Format("15:04:05.000000"))
			fmt.Fprintf(tw, "  %s\n", t.Headers)
			for _, h := range t.Hops {
				what := h.Next
				switch {
				case h.Drop != "":
					what = "DROP " + h.Drop
				case h.TxPort != "":
					what = "sent on " + h.TxPort
				case what == "":
					what = "staged for tx"
				}
				if h.Detail != "" {
					what += ": " + h.Detail
				}
				fmt.Fprintf(tw, "  %s\t[buf %d]\t%s\n", h.Node, h.Copy, what)
			}
		}
	case "show-runtime":
		var ns []ctl.NodeCounters
		if err := json.Unmarshal(res, &ns); err != nil {
			return err
		}
		fmt.Fprintln(tw, "node\tcalls\tvectors\tpackets\tpkts/vector\tns/pkt\tmax ns/call\tdrops")
		for _, n := range ns {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.1f\t%d\t%d\n", n.Name, n.Calls, n.Vectors, n.Packets, n.PacketsPerVector(), n.NanosPerPacket(), n.MaxNanos, n.Dropped())
		}
	case "show-workers":
		var ws []ctl.WorkerInfo
		if err := json.Unmarshal(res, &ws); err != nil {
			return err
		}
		fmt.Fprintln(tw, "worker\tcpu\tstate\tbusy\titerations\trx queues\tpackets per rx batch (1 2-3 4-7 8-15 16-31 32-63 64-127 128-255 256)")
		for _, wi := range ws {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.1f%%\t%d\t%d\t%v\n", wi.ID, cpuText(wi.CPU), runText(wi.Running), wi.BusyPercent, wi.Iterations, wi.RxQueues, wi.VectorSizes[1:])
		}
	case "show-errors":
		var es []ctl.ErrorCount
		if err := json.Unmarshal(res, &es); err != nil {
			return err
		}
		fmt.Fprintln(tw, "node\treason\tpackets")
		for _, e := range es {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", e.Node, e.Reason, e.Packets)
		}
	case "port/stats":
		var ps []ctl.PortStats
		if err := json.Unmarshal(res, &ps); err != nil {
			return err
		}
		fmt.Fprintln(tw, "port\trx packets\trx bytes\ttx packets\ttx bytes\ttx drops\tfast path rx/tx packets\tfast path misses")
		for _, p := range ps {
			c := p.Counters
			fpc, miss := "-", "-"
			if f := p.FastPath; f != nil && f.Counters != nil {
				fpc = fmt.Sprintf("%d/%d", f.Counters.RxPackets, f.Counters.TxPackets)
				miss = missText(f.Counters.Misses)
			} else if f != nil {
				fpc = f.State
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", p.Name, c.RxPackets, c.RxBytes, c.TxPackets, c.TxBytes, c.TxDrops, fpc, miss)
		}
		// The drivers' own counters, each port's as its driver reports
		// them (--json: "driver", the keys as the driver spells them).
		var drv []struct {
			Name   string          `json:"name"`
			Driver json.RawMessage `json:"driver"`
		}
		if err := json.Unmarshal(res, &drv); err != nil {
			return err
		}
		for _, p := range drv {
			lines, err := driverLines(p.Driver)
			if err != nil {
				return err
			}
			for i, l := range lines {
				if i == 0 {
					fmt.Fprintf(tw, "%s driver: %s\n", p.Name, l)
				} else {
					fmt.Fprintf(tw, "  %s\n", l)
				}
			}
		}
	case "vni/show":
		var v ctl.VXLANView
		if err := json.Unmarshal(res, &v); err != nil {
			return err
		}
		if v.VTEP == nil {
			fmt.Fprintln(tw, "vtep: none (vtep/set ADDR)")
		} else {
			df := "off"
			if v.VTEP.DF {
				df = "on"
			}
			fmt.Fprintf(tw, "vtep %s\tport %d\tttl %d\tdf %s\n", v.VTEP.Addr, orNum(int(v.VTEP.Port), ctl.DefaultVXLANPort), orNum(int(v.VTEP.TTL), 64), df)
		}
		for _, n := range v.VNIs {
			remotes := strings.Join(n.Remotes, ",")
			if remotes == "" {
				remotes = "-"
			}
			fmt.Fprintf(tw, "bridge %s\tvni %d\tvlan %d\tremotes %s\n", n.Bridge, n.VNI.VNI, n.VLAN, remotes)
		}
	case "capture/show", "capture/stop":
		var v *ctl.CaptureView
		if err := json.Unmarshal(res, &v); err != nil {
			return err
		}
		if v == nil || v.File == "" {
			fmt.Fprintln(tw, "no capture runs")
			break
		}
		state := "running"
		if cmd == "capture/stop" {
			state = "stopped"
		}
		if v.Done != "" {
			state = "done (" + v.Done + ")"
		}
		fmt.Fprintf(tw, "capture of %s\t%s\nfile\t%s\npackets\t%d (%d bytes)\nlost\t%d\n", v.Port, state, v.File, v.Packets, v.Bytes, v.Lost)
		if v.Max > 0 {
			fmt.Fprintf(tw, "max\t%d packets\n", v.Max)
		}
	default:
		var v any
		if err := json.Unmarshal(res, &v); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(tw, string(b))
	}
	return nil
}

// fastPathText is a port's fast-path state for show.
func fastPathText(f *ctl.FastPathPort) string {
	if f == nil {
		return ""
	}
	s := "\tfast path " + f.State
	if f.Reason != "" {
		s += " (" + f.Reason + ")"
	}
	return s
}

// missText lists fast-path misses by reason, largest first.
func missText(m map[string]uint64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func vlanText(p ctl.PortView) string {
	s := fmt.Sprintf("access %d", p.VLAN)
	if p.Mode == ctl.Trunk {
		s = fmt.Sprintf("trunk native %d [%s]", p.VLAN, p.Trunks.String())
	}
	return s
}

// secText is a port's port security and MAC learning for show.
func secText(p ctl.PortView) string {
	s := "macs " + strconv.Itoa(p.Learned) + "/" + strconv.Itoa(p.MACLimit)
	if p.MACLimitDrops > 0 {
		s += " (" + strconv.FormatUint(p.MACLimitDrops, 10) + " refused)"
	}
	if p.PortSecurity {
		s += ", bound " + strings.Join(p.MACs, ",")
	}
	return s
}

func queuesText(qs []ctl.QueueInfo) string {
	if len(qs) == 0 {
		return "-"
	}
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = fmt.Sprintf("%d@w%d", q.Queue, q.Worker)
	}
	return strings.Join(parts, ",")
}

func optsText(o map[string]string) string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + o[k]
	}
	return strings.Join(parts, " ")
}

func cpuText(c int) string {
	if c < 0 {
		return "any"
	}
	return fmt.Sprint(c)
}

func runText(r bool) string {
	if r {
		return "running"
	}
	return "stopped"
}

func hopsText(hs []ctl.NextHop) string {
	var parts []string
	for _, h := range hs {
		switch {
		case h.Addr != "" && h.Interface != "":
			parts = append(parts, h.Addr+" dev "+h.Interface)
		case h.Addr != "":
			parts = append(parts, h.Addr)
		default:
			parts = append(parts, "dev "+h.Interface)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// orNum is n, or def when n is 0 (a default left unset).
func orNum(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// printPortLine prints one port of show.
func printPortLine(tw io.Writer, p ctl.PortView) {
	state := "down"
	switch {
	case p.Up:
		state = "up"
	case p.Down != "":
		state = "down (" + p.Down + ")"
	case !p.Attached:
		state = "no driver"
	}
	if p.Degraded != "" {
		state += " (degraded: " + p.Degraded + ")"
	}
	if p.Losses > 0 {
		state += fmt.Sprintf(", lost its interface %d times", p.Losses)
	}
	if p.LastTry != "" {
		state += ", last try: " + p.LastTry
	}
	fmt.Fprintf(tw, "  port %s\ttype %s\t%s\tvlan %s\t%s\tqueues %s\t%s%s\n", p.Name, p.Type, state, vlanText(p), secText(p), queuesText(p.RxQueues), optsText(p.Options), fastPathText(p.FastPath))
}

// driverLines lays out a driver's counters (port/stats' "driver") in the
// driver's order, names in snake_case as the rest of vsctl's output: the
// scalars first on one line ("rx_packets 12, tx_full 0"), nested objects'
// with a dotted name (status.connected); then one line per element of a
// list of objects ("queues[0]: queue 0, fill_target 64").
func driverLines(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var main []string
	var subs []string
	if err := flattenJSON(raw, "", &main, &subs); err != nil {
		return nil, err
	}
	if len(main) == 0 {
		main = []string{"-"}
	}
	return append([]string{strings.Join(main, ", ")}, subs...), nil
}

// flattenJSON appends the scalars of v as "name value" to out and each
// object of a list in v as a line of its own to lines.
func flattenJSON(v json.RawMessage, name string, out, lines *[]string) error {
	dec := json.NewDecoder(strings.NewReader(string(v)))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	join := func(k string) string {
		if name == "" {
			return k
		}
		return name + "." + k
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			var fv json.RawMessage
			if err := dec.Decode(&fv); err != nil {
				return err
			}
			if err := flattenJSON(fv, join(snakeCase(kt.(string))), out, lines); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			var ev json.RawMessage
			if err := dec.Decode(&ev); err != nil {
				return err
			}
			en := fmt.Sprintf("%s[%d]", name, i)
			if len(ev) > 0 && ev[0] == '{' {
				var fields []string
				if err := flattenJSON(ev, "", &fields, lines); err != nil {
					return err
				}
				*lines = append(*lines, en+": "+strings.Join(fields, ", "))
				continue
			}
			if err := flattenJSON(ev, en, out, lines); err != nil {
				return err
			}
		}
	case nil:
		*out = append(*out, name+" -")
	default:
		*out = append(*out, fmt.Sprintf("%s %v", name, tok))
	}
	return nil
}

// snakeCase spells a Go field name (RxNoBuffer, RxGSOFrames) as the
// JSON tags do (rx_no_buffer, rx_gso_frames); snake_case stays.
func snakeCase(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		upper := c >= 'A' && c <= 'Z'
		if upper && i > 0 {
			prev := r[i-1]
			nextLower := i+1 < len(r) && r[i+1] >= 'a' && r[i+1] <= 'z'
			if prev >= 'a' && prev <= 'z' || prev >= '0' && prev <= '9' || (prev >= 'A' && prev <= 'Z' && nextLower) {
				b.WriteByte('_')
			}
		}
		if upper {
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}
