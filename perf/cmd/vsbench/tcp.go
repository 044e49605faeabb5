package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
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
	for p := range strings.SplitSeq(only, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Paths = append(cfg.Paths, p)
		}
	}
	for s := range strings.SplitSeq(streams, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vsbench: -streams: %q is not a number\n", s)
			return 2
		}
		cfg.Streams = append(cfg.Streams, n)
	}
	cfg.Log = func(format string, a ...any) { fmt.Fprintf(os.Stderr, "vsbench: "+format+"\n", a...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	res, err := perf.RunTCPBench(ctx, cfg)
	stop()
	if asJSON {
		out := struct {
			Machine machine               `json:"machine"`
			Config  perf.TCPBenchConfig   `json:"config"`
			Results []perf.TCPBenchResult `json:"results"`
			Error   string                `json:"error,omitempty"`
		}{Machine: describeMachine(), Config: cfg, Results: res}
		if err != nil {
			out.Error = err.Error()
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else if len(res) > 0 {
		printTCPReport(os.Stdout, describeMachine(), res)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vsbench:", err)
		return 1
	}
	return 0
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
