package perf

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLBBench runs the service suite briefly on both paths: short
// connections to the VIP all succeed and reach every one of the three
// backends, bulk streams move data through the VIP, and nothing is left
// behind (namespaces, links; the nftables table lives in the run's
// router namespace and is deleted first). Timings are not checked.
func TestLBBench(t *testing.T) {
	needRoot(t)
	needCommands(t, "nft")
	res := runCleanly(t, RunLBBench, LBBenchConfig{
		ConnWindow: time.Second, Conns: 2, Streams: []int{4}, Duration: time.Second, Warmup: 200 * time.Millisecond,
		CPUSwitch: runtime.NumCPU() - 1, CPUGen: 0, Log: t.Logf,
	})
	require.Len(t, res, len(LBPaths))
	for i, r := range res {
		require.Equal(t, LBPaths[i], r.Path)
		require.Empty(t, r.Err, r.Path)
		require.NotEmpty(t, r.Balancer, r.Path)
		require.NotNil(t, r.Conn, r.Path)
		require.Positive(t, r.Conn.OK, r.Path)
		require.Zero(t, r.Conn.Failed, "%s: %s", r.Path, r.Conn.FirstErr)
		require.Len(t, r.ConnSpread, len(LBBackends), r.Path)
		var sum uint64
		for b, n := range r.ConnSpread {
			require.Positive(t, n, "%s: backend %s took no connection", r.Path, LBBackends[b])
			sum += n
		}
		require.Equal(t, r.Conn.OK, sum, "%s: connections the backends accepted", r.Path)
		require.Len(t, r.Bulk, 1, r.Path)
		require.Empty(t, r.Bulk[0].Err, r.Path)
		require.Positive(t, r.Bulk[0].Gbps, r.Path)
	}
}
