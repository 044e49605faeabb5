//go:build linux

package bgp

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkBIRDRoutes measures routes/s from a real BIRD to OnRoutes: BIRD
// holds N /32 static routes in a disabled protocol; each iteration enables
// it (announce: from `birdc enable` until the last RouteEvent) and
// disables it again (withdraw: until the last Withdrawn event). Session
// setup is outside the timing.
func BenchmarkBIRDRoutes(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) { benchBIRD(b, n) })
	}
}

func benchBIRD(b *testing.B, n int) {
	needBIRD(b)
	r := newRouter(b, 65001)
	bulk := make([]string, n)
	for i := range bulk {
		bulk[i] = netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}).String() + "/32"
	}
	r.start(birdOpts{bulk4: bulk, noV6Session: true})
	rec := newRecorder()
	s := startSpeaker(b, rec, GracefulRestart{}, r.hostV4)
	require.NoError(b, s.AddPeer(Peer{Addr: r.nsV4, AS: r.as, HoldTime: 9 * time.Second}))
	waitState(b, s, r.nsV4, StateEstablished, 20*time.Second)

	var add, del time.Duration
	iters := 0
	cpu0 := r.cpuTime(b)
	for b.Loop() {
		t0 := time.Now()
		out, err := r.birdc("enable", "bulk")
		require.NoError(b, err, out)
		waitSize(b, rec, n)
		t1 := time.Now()
		out, err = r.birdc("disable", "bulk")
		require.NoError(b, err, out)
		waitSize(b, rec, 0)
		add += t1.Sub(t0)
		del += time.Since(t1)
		iters++
	}
	b.ReportMetric(100*(r.cpuTime(b)-cpu0).Seconds()/(add+del).Seconds(), "bird-cpu-%")
	b.ReportMetric(float64(n*iters)/add.Seconds(), "routes/s-add")
	b.ReportMetric(float64(n*iters)/del.Seconds(), "routes/s-withdraw")
	rec.mu.Lock()
	b.ReportMetric(float64(len(rec.events))/float64(iters)/float64(n), "events/route-cycle")
	rec.mu.Unlock()
}

// cpuTime is the CPU time BIRD has used (utime+stime, USER_HZ 100).
func (r *router) cpuTime(b *testing.B) time.Duration {
	b.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
	require.NoError(b, err)
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
	ut, err := strconv.Atoi(f[11])
	require.NoError(b, err)
	stt, err := strconv.Atoi(f[12])
	require.NoError(b, err)
	return time.Duration(ut+stt) * 10 * time.Millisecond
}

func waitSize(b *testing.B, rec *recorder, n int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for rec.size() != n {
		require.True(b, time.Now().Before(deadline), "have %d routes, want %d", rec.size(), n)
		time.Sleep(time.Millisecond)
	}
}
