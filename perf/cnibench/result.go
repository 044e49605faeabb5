package cnibench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Config says what to measure.
type Config struct {
	// PluginDirs is the CNI_PATH libcni searches for the plugins.
	PluginDirs []string
	// Conflist is the network configuration list (JSON).
	Conflist []byte
	// N is the number of attaches per phase (default 100).
	N int
	// Parallel is the number of workers of the parallel phase
	// (default 20).
	Parallel int
	// IfName is the interface name in the sandbox (default eth0).
	IfName string
	// NoWarmup skips the untimed attach and detach before each phase.
	NoWarmup bool
}

func (c *Config) defaults() {
	if c.N <= 0 {
		c.N = 100
	}
	if c.Parallel <= 0 {
		c.Parallel = 20
	}
	if c.IfName == "" {
		c.IfName = "eth0"
	}
}

// Latency summarizes the successful calls of one kind.
type Latency struct {
	// N counts the successful calls.
	N int
	// P50, P99 and Max are nearest-rank percentiles of their latency.
	P50, P99, Max time.Duration
}

// Phase is one phase's result.
type Phase struct {
	// Workers is 1 for the sequential phase.
	Workers int
	// Add and Del summarize the successful calls.
	Add, Del Latency
	// Wall is the phase's time from the first ADD to the last DEL.
	Wall time.Duration
	// Errors counts failed calls; FirstErrors keeps the first few.
	Errors      int
	FirstErrors []string
}

// Result is what Measure found for one conflist.
type Result struct {
	// Network is the conflist's name.
	Network    string
	Sequential Phase
	Parallel   Phase
}

// summarize computes the nearest-rank percentiles of ds (reordered).
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	rank := func(p int) time.Duration {
		i := (p*len(ds)+99)/100 - 1 // ceil(p/100*n), 1-based
		return ds[max(i, 0)]
	}
	return Latency{N: len(ds), P50: rank(50), P99: rank(99), Max: ds[len(ds)-1]}
}

// Table writes one row per result, and under each result after the
// first a row of its figures divided by the first's.
func Table(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "network\tseq ADD p50\tp99\tseq DEL p50\tp99\tpar ADD p50\tp99\tpar DEL p50\tp99\terrors\t")
	figs := func(r Result) []time.Duration {
		s, p := r.Sequential, r.Parallel
		return []time.Duration{s.Add.P50, s.Add.P99, s.Del.P50, s.Del.P99, p.Add.P50, p.Add.P99, p.Del.P50, p.Del.P99}
	}
	for i, r := range rs {
		cells := []string{r.Network}
		for _, d := range figs(r) {
			cells = append(cells, ms(d))
		}
		cells = append(cells, fmt.Sprint(r.Sequential.Errors+r.Parallel.Errors))
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		if i == 0 {
			continue
		}
		cells = []string{"  vs " + rs[0].Network}
		base := figs(rs[0])
		for j, d := range figs(r) {
			if base[j] == 0 {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, fmt.Sprintf("x%.2f", float64(d)/float64(base[j])))
		}
		fmt.Fprintln(tw, strings.Join(append(cells, ""), "\t")+"\t")
	}
	return tw.Flush()
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
