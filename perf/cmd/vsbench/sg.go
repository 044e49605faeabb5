package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vecswitch/vecswitch/perf"
)

// sgFlags are vsbench -sg's own settings.
type sgFlags struct {
	connWindow  time.Duration
	conns       int
	rules       int
	groups      int
	noTCP       bool
	paths       string
	streams     string
	iperf, warm time.Duration
	cpuSw       int
	cpuGen      int
	asJSON      bool
}

// runSG is vsbench -sg: it returns the exit status.
func runSG(f sgFlags) int {
	cfg := perf.SGBenchConfig{Rules: f.rules, Groups: f.groups, ConnWindow: f.connWindow, Conns: f.conns,
		NoIperf: f.noTCP, Duration: f.iperf, Warmup: f.warm, CPUSwitch: f.cpuSw, CPUGen: f.cpuGen}
	cfg.Paths = splitList(f.paths)
	var ok bool
	if cfg.Streams, ok = parseStreams(f.streams); !ok {
		return 2
	}
	cfg.Log = logf
	return runSuite(cfg, f.asJSON, perf.RunSGBench, printSGReport)
}

// printSGReport prints one row per path and iperf3 stream count, each
// with its ratios to its Linux peer (perf.SGPeer).
func printSGReport(w io.Writer, m machine, res []perf.SGBenchResult) {
	fmt.Fprintf(w, "machine: %s, %d CPUs, Linux %s\n", m.CPU, m.CPUs, m.Kernel)
	fmt.Fprintln(w, "Security groups: short TCP connections/s (connect, 16-byte request and reply, close) and iperf3;")
	fmt.Fprintln(w, "vs linux: against the Linux bridge with the same rules in nftables (filtered paths) or without; host CPUs busy (steal excluded)")
	byPath := map[string]perf.SGBenchResult{}
	for _, r := range res {
		byPath[r.Path] = r
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\trules\tdenied port\tconn/s\tvs linux\tCPU µs/conn\tvs linux\tstreams\tGbit/s\tvs linux\tCPU s/Gbit\tvs linux\t")
	for _, r := range res {
		peer := byPath[perf.SGPeer(r.Path)]
		denied := "blocked"
		if r.DeniedPortOpen {
			denied = "open"
		}
		conn := "-\t-\t-\t-"
		if r.Conn != nil {
			conn = connCols(r.Conn, peer.Conn)
		}
		if r.Err != "" && r.Conn == nil {
			fmt.Fprintf(tw, "%s\t%d\t-\t%s\t-\t-\t-\t-\t%s\n", r.Path, r.Rules, conn, r.Err)
			continue
		}
		tcp := []perf.TCPBenchResult{{}}
		if len(r.TCP) > 0 {
			tcp = r.TCP
		}
		for _, t := range tcp {
			iperf := "-\t-\t-\t-\t-"
			if t.TCP != nil {
				var pg, pcpu float64
				for _, p := range peer.TCP {
					if p.Streams == t.Streams && p.TCP != nil {
						pg, pcpu = p.TCP.Gbps, p.CPUPerGbps
					}
				}
				iperf = fmt.Sprintf("%d\t%.2f\t%s\t%.3f\t%s", t.Streams, t.TCP.Gbps, ratio(t.TCP.Gbps, pg), t.CPUPerGbps, ratio(t.CPUPerGbps, pcpu))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Path, r.Rules, denied, conn, iperf, r.Err+t.Err)
		}
	}
	tw.Flush()
}
