//go:build linux

package cnibench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/cnitest"
)

// bridgeConflist is a bridge + host-local network on a new bridge, with
// its leases in dataDir.
func bridgeConflist(t testing.TB, dataDir string) (conflist []byte, bridge string) {
	br := cnitest.UniqueName("vstbbr")
	cnitest.DeleteLinkAtCleanup(t, br) // Measure deletes it; this is for a failure half-way
	b, err := json.Marshal(map[string]any{
		"cniVersion": cnitest.ConflistVersion,
		"name":       cnitest.UniqueName("vst-bench-"),
		"plugins":    cnitest.BridgePlugins(br, cnitest.RandomSubnet4(), dataDir),
	})
	require.NoError(t, err)
	return b, br
}

// TestMeasureBridgeHostLocal keeps Measure working: a tiny run (5
// attaches, 2 workers) against Debian's bridge + host-local. Timings
// decide nothing; the test checks the counts, that no call failed, and
// that nothing is left: no lease, no bridge, no namespace of ours.
func TestMeasureBridgeHostLocal(t *testing.T) {
	cnitest.NewNetns(t) // skips unless root
	plugins := cnitest.PluginPath(t, "bridge", "host-local")
	dataDir := t.TempDir()
	conf, br := bridgeConflist(t, dataDir)
	before := benchNetns(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Measure(ctx, Config{PluginDirs: []string{plugins}, Conflist: conf, N: 5, Parallel: 2})
	require.NoError(t, err)
	for _, ph := range []Phase{res.Sequential, res.Parallel} {
		require.Zero(t, ph.Errors, "%v", ph.FirstErrors)
		require.Equal(t, 5, ph.Add.N)
		require.Equal(t, 5, ph.Del.N)
		require.Positive(t, ph.Add.P50)
		require.LessOrEqual(t, ph.Add.P50, ph.Add.P99)
		require.LessOrEqual(t, ph.Add.P99, ph.Add.Max)
	}
	require.Equal(t, 1, res.Sequential.Workers)
	require.Equal(t, 2, res.Parallel.Workers)

	leases, err := filepath.Glob(filepath.Join(dataDir, res.Network, "10.*"))
	require.NoError(t, err)
	require.Empty(t, leases)
	_, err = netlink.LinkByName(br)
	require.Error(t, err, "Measure left bridge %s", br)
	require.Equal(t, before, benchNetns(t), "Measure left namespaces")

	var sb strings.Builder
	require.NoError(t, Table(&sb, []Result{res, res}))
	require.Contains(t, sb.String(), "x1.00")
}

// TestMeasureCountsErrors: a conflist whose plugin does not exist
// yields counted errors, not a panic or a lost namespace.
func TestMeasureCountsErrors(t *testing.T) {
	cnitest.NewNetns(t)
	conf := []byte(`{"cniVersion":"1.0.0","name":"vst-bench-missing","plugins":[{"type":"vst-no-such-plugin"}]}`)
	res, err := Measure(context.Background(), Config{PluginDirs: []string{t.TempDir()}, Conflist: conf, N: 2, Parallel: 2, NoWarmup: true})
	require.NoError(t, err)
	require.Equal(t, 4, res.Sequential.Errors) // 2 ADD + 2 DEL
	require.Zero(t, res.Sequential.Add.N)
	require.NotEmpty(t, res.Sequential.FirstErrors)
	require.Contains(t, res.Sequential.FirstErrors[0], "vst-no-such-plugin")
}

// benchNetns lists the namespaces named as Measure names them.
func benchNetns(t testing.TB) []string {
	ents, err := os.ReadDir("/run/netns")
	require.NoError(t, err)
	var ns []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "vcb-") {
			ns = append(ns, e.Name())
		}
	}
	return ns
}

// BenchmarkBridgeHostLocal measures Debian's bridge + host-local, 100
// attaches sequential and 20-way parallel, and reports the percentiles
// (ms) of the last run. One run is enough:
//
//	go test ./perf/cnibench -run '^$' -bench . -benchtime 1x
func BenchmarkBridgeHostLocal(b *testing.B) {
	cnitest.NewNetns(b)
	plugins := cnitest.PluginPath(b, "bridge", "host-local")
	var res Result
	for b.Loop() {
		conf, _ := bridgeConflist(b, b.TempDir())
		var err error
		res, err = Measure(context.Background(), Config{PluginDirs: []string{plugins}, Conflist: conf})
		require.NoError(b, err)
		require.Zero(b, res.Sequential.Errors+res.Parallel.Errors, "%v %v", res.Sequential.FirstErrors, res.Parallel.FirstErrors)
	}
	msf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(msf(res.Sequential.Add.P50), "seq-add-p50-ms")
	b.ReportMetric(msf(res.Sequential.Add.P99), "seq-add-p99-ms")
	b.ReportMetric(msf(res.Sequential.Del.P50), "seq-del-p50-ms")
	b.ReportMetric(msf(res.Sequential.Del.P99), "seq-del-p99-ms")
	b.ReportMetric(msf(res.Parallel.Add.P50), "par-add-p50-ms")
	b.ReportMetric(msf(res.Parallel.Add.P99), "par-add-p99-ms")
	b.ReportMetric(msf(res.Parallel.Del.P50), "par-del-p50-ms")
	b.ReportMetric(msf(res.Parallel.Del.P99), "par-del-p99-ms")
}

func TestSummarize(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	l := summarize(ds)
	require.Equal(t, Latency{N: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}, l)
	require.Equal(t, Latency{N: 1, P50: 7, P99: 7, Max: 7}, summarize([]time.Duration{7}))
	require.Equal(t, Latency{}, summarize(nil))
}
