package perf

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSGBench runs the security-group suite briefly on the Linux bridge
// without and with the nftables ruleset and on Vecswitch's taps without
// and with 1,000 rules in 100 groups: short connections to the allowed
// port succeed on every path, a connection to a port the rules do not
// allow fails on both filtered paths (so the rules are in effect) and
// succeeds on the others (so it is the rules that stop it), iperf3 moves
// data, and nothing is left behind (namespaces, links; the nftables
// table lives in a namespace of the run's own and is deleted first).
// Timings are not checked.
func TestSGBench(t *testing.T) {
	needRoot(t)
	needCommands(t, "iperf3", "nft")
	res := runCleanly(t, RunSGBench, SGBenchConfig{
		ConnWindow: time.Second, Conns: 2, Duration: time.Second, Warmup: time.Second,
		CPUSwitch: runtime.NumCPU() - 1, CPUGen: 0, Log: t.Logf,
	})
	require.Len(t, res, len(DefaultSGPaths))
	for i, r := range res {
		require.Equal(t, DefaultSGPaths[i], r.Path)
		require.Empty(t, r.Err, r.Path)
		filtered := SGFiltered(r.Path)
		require.Equal(t, !filtered, r.DeniedPortOpen, "%s: connection to the denied port", r.Path)
		if filtered {
			require.Equal(t, 1000, r.Rules, r.Path)
			require.NotEmpty(t, r.Filter, r.Path)
		}
		require.NotNil(t, r.Conn, r.Path)
		require.Positive(t, r.Conn.OK, r.Path)
		require.Zero(t, r.Conn.Failed, "%s: %s", r.Path, r.Conn.FirstErr)
		require.Len(t, r.TCP, 1, r.Path)
		require.Empty(t, r.TCP[0].Err, r.Path)
		require.Positive(t, r.TCP[0].TCP.Gbps, r.Path)
		if r.Path == PathTap || r.Path == PathTapSG {
			require.Positive(t, r.TCP[0].Forwarded, "%s: frames out of the receiver's port", r.Path)
		}
	}
}
