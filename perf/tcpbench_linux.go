package perf

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

// RunTCPBench measures iperf3 TCP throughput and the host's CPU per
// gigabit on each configured path, at each stream count, on a topology
// of its own per path, made and removed within the call. A path that
// fails records its error in its results and the run goes on; the
// returned error is ctx's, a bad configuration, or a missing iperf3.
func RunTCPBench(ctx context.Context, cfg TCPBenchConfig) ([]TCPBenchResult, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	if err := cfg.normalize(runtime.NumCPU()); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("iperf3"); err != nil {
		return nil, ErrNoIperf3
	}
	var out []TCPBenchResult
	for _, p := range cfg.Paths {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		cfg.Log("%s: setting up", p)
		out = append(out, runTCPPath(ctx, &cfg, p)...)
	}
	return out, ctx.Err()
}

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
		for _, e := range []*endpoint{&t.snd, &t.rcv} {
			if err := netdev.SetTxChecksumAt(e.nsPath(), innerIfname, false); err != nil {
				return fail(err)
			}
		}
	}
	secs := max(1, int(cfg.Duration.Round(time.Second)/time.Second))
	omit := int(cfg.Warmup.Round(time.Second) / time.Second)
	for _, n := range cfg.Streams {
		tr := TCPBenchResult{Path: path, Streams: n}
		before, err := readProcStat()
		if err != nil {
			return fail(err)
		}
		fw := forwardedOf(r)
		start := time.Now()
		tr.TCP, err = runIperfStreams(ctx, t, secs, omit, cfg.CPUGen, n)
		if err != nil {
			tr.Err = err.Error()
			res = append(res, tr)
			cfg.Log("%s, %d streams: %v", path, n, err)
			continue
		}
		after, err := readProcStat()
		if err != nil {
			return fail(err)
		}
		tr.HostCPU = hostCPUBusy(before, after)
		if tr.TCP.Gbps > 0 {
			tr.CPUPerGbps = tr.HostCPU / tr.TCP.Gbps
		}
		tr.Forwarded = forwardedOf(r) - fw
		cfg.Log("%s, %d streams: %.2f Gbit/s, %d retransmits, %.2f CPUs busy (%.3f per Gbit/s) over %v",
			path, n, tr.TCP.Gbps, tr.TCP.Retransmits, tr.HostCPU, tr.CPUPerGbps, time.Since(start).Round(time.Second))
		res = append(res, tr)
	}
	return res
}

// forwardedOf is what the path's switch has sent out of the receiver's
// port so far (0 for the Linux bridge).
func forwardedOf(r *rig) uint64 {
	var e E2EResult
	r.report(&e)
	return forwardedBy(&e, vsRcvPort)
}

// hostCPUBusy sums, over every CPU, the share of the window it was busy
// with anything but the hypervisor's steal.
func hostCPUBusy(before, after map[int]cpuTimes) float64 {
	var n float64
	for cpu, a := range after {
		b, ok := before[cpu]
		if !ok {
			continue
		}
		s := sharesOf(b, a)
		n += max(0, s.busy-s.steal)
	}
	return n
}
