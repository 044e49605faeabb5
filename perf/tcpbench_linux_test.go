package perf

import (
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTCPBench runs the TCP suite briefly on the bridge and the two
// offload-carrying Vecswitch paths: every run moves data, the host was
// measured busy, the Vecswitch paths' receiver port sent frames (so the
// traffic crossed the switch, not something else), the tap and AF_PACKET
// paths carry large frames whole (fewer frames than a 1500-byte MTU would
// need for the bytes moved), and nothing is left behind.
func TestTCPBench(t *testing.T) {
	res := runTCPBenchBriefly(t, []string{PathBridge, PathTap, PathAFPacket}, []int{1, 2})
	require.Len(t, res, 6)
	for _, r := range res {
		require.Empty(t, r.Err, "%s, %d streams", r.Path, r.Streams)
		require.NotNil(t, r.TCP)
		require.Positive(t, r.TCP.Gbps, r.Path)
		require.Positive(t, r.HostCPU, r.Path)
		require.InDelta(t, r.HostCPU/r.TCP.Gbps, r.CPUPerGbps, 1e-9)
		if r.Path == PathBridge {
			require.Zero(t, r.Forwarded)
			continue
		}
		require.Positive(t, r.Forwarded, "%s: frames out of the receiver's port", r.Path)
		// Bytes moved in the measured window, in 1448-byte segments,
		// against the frames forwarded to the receiver over the window
		// and iperf3's uncounted warm-up (ACKs leave by the sender's
		// port; AF_XDP ports fail this with about 2 frames a segment).
		segs := r.TCP.Gbps * 1e9 / 8 * r.TCP.Seconds / 1448
		require.Less(t, float64(r.Forwarded)*4, segs, "%s: %d frames for ~%.0f segments: not carried whole", r.Path, r.Forwarded, segs)
	}
}

// TestTCPBenchVXLAN runs the overlay paths briefly: TCP crosses the
// kernel's bridge + vxlan and Vecswitch's overlay to the same kernel VTEP,
// Vecswitch's underlay port sent the frames, nothing is left behind.
func TestTCPBenchVXLAN(t *testing.T) {
	res := runTCPBenchBriefly(t, []string{PathBridgeVXLAN, PathVXLAN}, []int{1})
	require.Len(t, res, 2)
	for _, r := range res {
		require.Empty(t, r.Err, r.Path)
		require.Positive(t, r.TCP.Gbps, r.Path)
		if r.Path == PathVXLAN {
			require.Positive(t, r.Forwarded, "frames out of the underlay port")
		} else {
			require.Zero(t, r.Forwarded)
		}
	}
}

// runTCPBenchBriefly runs RunTCPBench on paths at streams, a second each
// after a second's warm-up, as runCleanly; skipped without root or
// iperf3.
func runTCPBenchBriefly(t *testing.T, paths []string, streams []int) []TCPBenchResult {
	t.Helper()
	needRoot(t)
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("iperf3 not installed (.ci/run installs it)")
	}
	return runCleanly(t, RunTCPBench, TCPBenchConfig{Paths: paths, Streams: streams,
		Duration: time.Second, Warmup: time.Second, CPUSwitch: runtime.NumCPU() - 1, CPUGen: 0, Log: t.Logf})
}
