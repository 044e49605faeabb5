package perf

import (
	"context"
	"time"
)

// RunTCPBench measures iperf3 TCP throughput and the host's CPU per
// gigabit on each configured path, at each stream count, on a topology
// of its own per path, made and removed within the call. A path that
// fails records its error in its results and the run goes on; the
// returned error is ctx's, a bad configuration, or a missing iperf3.
func RunTCPBench(ctx context.Context, cfg TCPBenchConfig) ([]TCPBenchResult, error) {
	return runPaths(ctx, &cfg, func(p string) []TCPBenchResult { return runTCPPath(ctx, &cfg, p) })
}

func (c *TCPBenchConfig) plan() ([]string, func(string, ...any)) { return c.Paths, c.Log }

// needs: iperf3 on every path.
func (c *TCPBenchConfig) needs() []command { return []command{cmdIperf3} }

// runTCPPath sets up one path and runs iperf3 at each stream count.
func runTCPPath(ctx context.Context, cfg *TCPBenchConfig, path string) (res []TCPBenchResult) {
	fail := func(err error) []TCPBenchResult {
		if len(res) == 0 {
			for _, n := range cfg.Streams {
				res = append(res, TCPBenchResult{Path: path, Streams: n})
			}
		}
		for i := range res {
			if res[i].Err == "" && res[i].TCP == nil {
				res[i].Err = err.Error()
			}
		}
		cfg.Log("%s: %v", path, err)
		return res
	}
	newT := newTopo
	if path == PathTap || path == PathBridgeVXLAN || path == PathVXLAN {
		newT = newTopoNS
	}
	t, err := newT(newRunID())
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err := t.close(); err != nil {
			res = fail(err)
		}
	}()
	var r *rig
	switch path {
	case PathTap:
		r, err = startVecswitchTap(t, cfg.CPUSwitch)
	case PathBridgeVXLAN:
		r, err = startBridgeVXLAN(t)
	case PathVXLAN:
		r, err = startVecswitchVXLAN(t, cfg.CPUSwitch)
	default:
		r, err = startPath(t, path, cfg.CPUSwitch)
	}
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err := r.close(); err != nil {
			res = fail(err)
		}
	}()
	if path == PathVecswitch {
		// AF_XDP carries no partial checksums: the namespaces fill their
		// own (and so do without TSO), as vswitchd sets them up.
		if err := t.txChecksumOff(); err != nil {
			return fail(err)
		}
	}
	secs, omit := iperfSeconds(cfg.Duration, cfg.Warmup)
	for _, n := range cfg.Streams {
		tr, took, err := measureIperf(ctx, t, r, path, n, secs, omit, cfg.CPUGen)
		if err != nil {
			return fail(err)
		}
		res = append(res, tr)
		if tr.Err != "" {
			cfg.Log("%s, %d streams: %s", path, n, tr.Err)
			continue
		}
		cfg.Log("%s, %d streams: %.2f Gbit/s, %d retransmits, %.2f CPUs busy (%.3f per Gbit/s) over %v",
			path, n, tr.TCP.Gbps, tr.TCP.Retransmits, tr.HostCPU, tr.CPUPerGbps, took.Round(time.Second))
	}
	return res
}
