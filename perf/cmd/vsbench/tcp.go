package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vecswitch/vecswitch/perf"
)

// flagSet reports whether the command line set flag name.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runTCPBulk is vsbench -tcp-bulk: it returns the exit status.
func runTCPBulk(dur, warm time.Duration, cpuSw, cpuGen int, only, streams string, asJSON bool) int {
	cfg := perf.TCPBenchConfig{Duration: dur, Warmup: warm, CPUSwitch: cpuSw, CPUGen: cpuGen}
	cfg.Paths = splitList(only)
	var ok bool
	if cfg.Streams, ok = parseStreams(streams); !ok {
		return 2
	}
	cfg.Log = logf
	return runSuite(cfg, asJSON, perf.RunTCPBench, printTCPReport)
}

// printTCPReport prints one row per path and stream count, with the
// ratios to the Linux bridge at the same stream count.
func printTCPReport(w io.Writer, m machine, res []perf.TCPBenchResult) {
	fmt.Fprintf(w, "machine: %s, %d CPUs, Linux %s\n", m.CPU, m.CPUs, m.Kernel)
	fmt.Fprintln(w, "TCP bulk: iperf3 between two namespaces; host CPUs busy over the run (/proc/stat, steal excluded)")
	br := map[int]perf.TCPBenchResult{}
	for _, r := range res {
		if r.Path == perf.PathBridge && r.TCP != nil {
			br[r.Streams] = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tstreams\tGbit/s\tvs bridge\tretrans\tCPUs busy\tCPU s/Gbit\tvs bridge\t")
	for _, r := range res {
		if r.TCP == nil {
			fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t-\t-\t-\t%s\n", r.Path, r.Streams, r.Err)
			continue
		}
		b := br[r.Streams]
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%s\t%d\t%.2f\t%.3f\t%s\t\n", r.Path, r.Streams, r.TCP.Gbps, ratio(r.TCP.Gbps, gb(b)),
			r.TCP.Retransmits, r.HostCPU, r.CPUPerGbps, ratio(r.CPUPerGbps, b.CPUPerGbps))
	}
	tw.Flush()
}

func gb(r perf.TCPBenchResult) float64 {
	if r.TCP == nil {
		return 0
	}
	return r.TCP.Gbps
}
