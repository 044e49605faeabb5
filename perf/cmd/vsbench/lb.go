package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vecswitch/vecswitch/perf"
)

// lbFlags are vsbench -lb's own settings.
type lbFlags struct {
	connWindow time.Duration
	conns      int
	noBulk     bool
	paths      string
	streams    string
	dur, warm  time.Duration
	cpuSw      int
	cpuGen     int
	asJSON     bool
}

// runLB is vsbench -lb: it returns the exit status.
func runLB(f lbFlags) int {
	cfg := perf.LBBenchConfig{ConnWindow: f.connWindow, Conns: f.conns, NoBulk: f.noBulk,
		Duration: f.dur, Warmup: f.warm, CPUSwitch: f.cpuSw, CPUGen: f.cpuGen}
	cfg.Paths = splitList(f.paths)
	var ok bool
	if cfg.Streams, ok = parseStreams(f.streams); !ok {
		return 2
	}
	cfg.Log = logf
	return runSuite(cfg, f.asJSON, perf.RunLBBench, printLBReport)
}

// printLBReport prints one row per path and stream count, each with its
// ratios to the kernel path and the per-backend spread.
func printLBReport(w io.Writer, m machine, res []perf.LBBenchResult) {
	fmt.Fprintf(w, "machine: %s, %d CPUs, Linux %s\n", m.CPU, m.CPUs, m.Kernel)
	fmt.Fprintf(w, "Services: TCP to VIP %s over 3 backends, routed; short connections/s (connect, 16-byte request and reply, close)\n", perf.LBVIP)
	fmt.Fprintf(w, "and bulk streams; vs linux: against %s; host CPUs busy (steal excluded); spread: per backend\n", perf.PathBridgeDNAT)
	var peer perf.LBBenchResult
	for _, r := range res {
		if r.Path == perf.PathBridgeDNAT {
			peer = r
		}
	}
	spread := func(s []uint64) string {
		if len(s) == 0 {
			return "-"
		}
		p := make([]string, len(s))
		for i, n := range s {
			p[i] = strconv.FormatUint(n, 10)
		}
		return strings.Join(p, "/")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tconn/s\tvs linux\tCPU µs/conn\tvs linux\tspread\tstreams\tGbit/s\tvs linux\tCPU s/Gbit\tvs linux\tspread\t")
	for _, r := range res {
		conn := "-\t-\t-\t-\t-"
		if r.Conn != nil {
			conn = connCols(r.Conn, peer.Conn) + "\t" + spread(r.ConnSpread)
		}
		bulk := []perf.LBBulkResult{{}}
		if len(r.Bulk) > 0 {
			bulk = r.Bulk
		}
		for _, b := range bulk {
			col := "-\t-\t-\t-\t-\t-"
			if b.Streams > 0 && b.Err == "" {
				var pg, pcpu float64
				for _, p := range peer.Bulk {
					if p.Streams == b.Streams {
						pg, pcpu = p.Gbps, p.CPUPerGbps
					}
				}
				col = fmt.Sprintf("%d\t%.2f\t%s\t%.3f\t%s\t%s", b.Streams, b.Gbps, ratio(b.Gbps, pg), b.CPUPerGbps, ratio(b.CPUPerGbps, pcpu), spread(b.Spread))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Path, conn, col, r.Err+b.Err)
		}
	}
	tw.Flush()
}
