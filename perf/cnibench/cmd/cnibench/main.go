// Command cnibench measures the ADD and DEL latency of CNI networks, as
// a runtime sees it through libcni: p50 and p99 over -n attaches one
// after another and -n attaches -parallel at a time, each into its own
// fresh namespace (made before the clock starts). Give -conflist once
// per network; all run in the same invocation and the table shows each
// one's figures divided by the first's. Run it as root:
//
//	cnibench -plugin-dir /usr/lib/cni -conflist bridge.conflist -conflist vecswitch.conflist
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/vecswitch/vecswitch/perf/cnibench"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var conflists, pluginDirs listFlag
	flag.Var(&pluginDirs, "plugin-dir", "directory of CNI plugins (repeatable; a list separated by : works too)")
	flag.Var(&conflists, "conflist", "conflist `FILE` to measure (repeatable; the first is the baseline)")
	n := flag.Int("n", 100, "attaches per phase")
	par := flag.Int("parallel", 20, "workers of the parallel phase")
	ifname := flag.String("ifname", "eth0", "interface name in the sandbox")
	flag.Parse()
	if len(conflists) == 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: cnibench -plugin-dir DIR -conflist FILE [-conflist FILE...] [-n 100] [-parallel 20]")
		os.Exit(2)
	}
	var dirs []string
	for _, d := range pluginDirs {
		dirs = append(dirs, filepath.SplitList(d)...)
	}
	if len(dirs) == 0 {
		dirs = []string{"/usr/lib/cni", "/opt/cni/bin"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var results []cnibench.Result
	failed := false
	for _, f := range conflists {
		conf, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cnibench:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "cnibench: %s: %d sequential, %d with %d workers...\n", f, *n, *n, *par)
		r, err := cnibench.Measure(ctx, cnibench.Config{PluginDirs: dirs, Conflist: conf, N: *n, Parallel: *par, IfName: *ifname})
		if err != nil {
			fmt.Fprintf(os.Stderr, "cnibench: %s: %v\n", f, err)
			os.Exit(1)
		}
		for _, ph := range []cnibench.Phase{r.Sequential, r.Parallel} {
			if ph.Errors > 0 {
				failed = true
				fmt.Fprintf(os.Stderr, "cnibench: %s: %d failed calls with %d workers, first: %s\n",
					f, ph.Errors, ph.Workers, strings.Join(ph.FirstErrors, "; "))
			}
		}
		results = append(results, r)
	}
	if err := cnibench.Table(os.Stdout, results); err != nil {
		fmt.Fprintln(os.Stderr, "cnibench:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}
