package perf

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// What the suites' Run functions (RunE2E, RunTCPBench, RunSGBench,
// RunLBBench) share: the checks before the first path, the loop over the
// paths, and the measurement steps that more than one suite takes (a
// short-connection window, an iperf3 run), each with the host's CPU over
// it.

// ErrNoNft is returned when the nftables path is asked for and nft is
// missing.
var ErrNoNft = errors.New("perf: nft not found in PATH (apt-get install nftables)")

// command is a program a suite runs, and the error that says it is not
// in PATH.
type command struct {
	name    string
	missing error
}

var (
	cmdIperf3 = command{"iperf3", ErrNoIperf3}
	cmdNft    = command{"nft", ErrNoNft}
)

// suiteConfig is a suite's configuration: normalize fills the defaults
// and checks it for a machine of ncpu CPUs; needs lists the commands the
// normalized configuration runs; plan is its paths, in order, and its
// progress log.
type suiteConfig interface {
	normalize(ncpu int) error
	needs() []command
	plan() (paths []string, log func(format string, a ...any))
}

// runPaths runs a suite: it checks, in this order, root, the
// configuration (normalized in place) and the commands it needs, then
// measures each path in turn with run (which records a path's failure in
// its results), logging "setting up" first, and stops early when ctx is
// done. The error is the checks' or ctx's.
func runPaths[R any](ctx context.Context, cfg suiteConfig, run func(path string) []R) ([]R, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	if err := cfg.normalize(runtime.NumCPU()); err != nil {
		return nil, err
	}
	for _, c := range cfg.needs() {
		if _, err := exec.LookPath(c.name); err != nil {
			return nil, c.missing
		}
	}
	paths, log := cfg.plan()
	var out []R
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		log("%s: setting up", p)
		out = append(out, run(p)...)
	}
	return out, ctx.Err()
}

// pathErrs gathers what went wrong on one path of a suite: the step that
// failed and what closing the path's parts said.
type pathErrs []error

// closing, deferred, calls close and keeps its error.
func (e *pathErrs) closing(close func() error) {
	if err := close(); err != nil {
		*e = append(*e, err)
	}
}

// record, deferred first, sets *msg to the errors gathered, if any, and
// logs them after path.
func (e *pathErrs) record(msg *string, log func(string, ...any), path string) {
	if err := errors.Join(*e...); err != nil {
		*msg = err.Error()
		log("%s: %v", path, err)
	}
}

// measureConns runs the short-connection window (runConnsTo: loops
// client threads in ns pinned to cpu, against sa, for window) and adds
// the host's CPU over it, in all and per connection. The result may be
// set with an error if only the CPU could not be read.
func measureConns(ctx context.Context, ns netns.NsHandle, sa unix.SockaddrInet4, loops, cpu int, window time.Duration) (*ConnResult, error) {
	before, err := readProcStat()
	if err != nil {
		return nil, err
	}
	c, err := runConnsTo(ctx, ns, sa, loops, cpu, window)
	if err != nil {
		return nil, err
	}
	after, err := readProcStat()
	if err != nil {
		return c, err
	}
	c.HostCPU = hostCPUBusy(before, after)
	if c.PerSec > 0 {
		c.CPUPerConn = c.HostCPU / c.PerSec * 1e6
	}
	return c, nil
}

// iperfSeconds is iperf3's -t and -O for a window and a warm-up: whole
// seconds, the window at least one.
func iperfSeconds(window, warmup time.Duration) (secs, omit int) {
	return max(1, int(window.Round(time.Second)/time.Second)), int(warmup.Round(time.Second) / time.Second)
}

// measureIperf runs iperf3 with n streams across t (secs, omit and cpu
// as runIperfStreams) and returns it as path's result: the throughput,
// the host's CPU over the run and per Gbit/s, and the frames r's switch
// sent out of the receiver's port meanwhile; took is the time since
// iperf3 started. If iperf3 fails, that is the result's Err and err is
// nil; err is a failure to read the CPU times.
func measureIperf(ctx context.Context, t *topo, r *rig, path string, n, secs, omit, cpu int) (tr TCPBenchResult, took time.Duration, err error) {
	tr = TCPBenchResult{Path: path, Streams: n}
	before, err := readProcStat()
	if err != nil {
		return tr, 0, err
	}
	fw := forwardedOf(r)
	start := time.Now()
	tr.TCP, err = runIperfStreams(ctx, t, secs, omit, cpu, n)
	if err != nil {
		tr.Err = err.Error()
		return tr, 0, nil
	}
	after, err := readProcStat()
	if err != nil {
		return tr, 0, err
	}
	tr.HostCPU = hostCPUBusy(before, after)
	if tr.TCP.Gbps > 0 {
		tr.CPUPerGbps = tr.HostCPU / tr.TCP.Gbps
	}
	tr.Forwarded = forwardedOf(r) - fw
	return tr, time.Since(start), nil
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
