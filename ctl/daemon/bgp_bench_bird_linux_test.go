package daemon

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// BenchmarkBGPInstallFromBIRD measures learned routes end to end: BIRD 2
// in a namespace announces 100,000 /32s over a real session to a running
// daemon (speaker, learned table, whole-configuration commit, the
// switch's FIB). BIRD holds them in a disabled static protocol; with the
// session established, each iteration enables it (announce: from `birdc
// enable` until the switch's configuration has all of them) and disables
// it again (withdraw: until none is left). Also reported: when the
// speaker had delivered the last of them to the learned table
// (routes/s-learned), so the FIB's share shows. The rig is
// TestBGPWithBIRD's: the speaker in the host namespace dials BIRD over a
// veth (10.175.N.1 - 10.175.N.2). It is a benchmark, so `go test ./...`
// never runs it:
//
//	go test -run '^$' -bench BGPInstallFromBIRD -benchtime 3x ./ctl/daemon
func BenchmarkBGPInstallFromBIRD(b *testing.B) {
	const n = 100_000
	nettest.NeedRoot(b)
	needBIRD(b)
	ns, host, peer := peerNS(b, 175, "vbb")
	var cf strings.Builder
	fmt.Fprintf(&cf, "router id %s;\nprotocol device {}\nprotocol static bulk {\n\tipv4;\n\tdisabled;\n", peer)
	for i := range n {
		fmt.Fprintf(&cf, "\troute %s/32 blackhole;\n", netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}))
	}
	fmt.Fprintf(&cf, `}
protocol bgp up4 {
	local %s as 65100;
	neighbor %s as 65000;
	hold time 9; keepalive time 3; connect retry time 1; error wait time 1, 2;
	ipv4 { import none; export all; };
}
`, peer, host)
	birdc := startBIRD(b, ns, cf.String())

	m := startMem(b, b.TempDir())
	for _, c := range [][]string{
		{"add-br", "up"}, {"rif/add", "ru", "bridge=up", "addr=" + host.String() + "/24"},
		{"bgp/set", "as=65000", "router-id=" + host.String(), "listen-port=0"},
		{"bgp/neighbor-add", peer.String(), "as=65100", "hold-time=9"},
	} {
		m.ok(b, nil, c[0], c[1:]...)
	}
	require.Eventually(b, func() bool {
		var v ctl.BGPShowView
		m.ok(b, &v, "bgp/show")
		return v.Neighbors[0].State == "established"
	}, 30*time.Second, 20*time.Millisecond, "no session with BIRD")

	installed := func() int { return len(m.d.sw.Config().Routes) } // no static route here
	wait := func(f func() int, want int) {
		deadline := time.Now().Add(5 * time.Minute)
		for f() != want {
			require.True(b, time.Now().Before(deadline), "have %d routes, want %d", f(), want)
			time.Sleep(time.Millisecond)
		}
	}
	var add, learn, del time.Duration
	iters := 0
	for b.Loop() {
		t0 := time.Now()
		birdc("enable", "bulk")
		wait(m.d.bgp.learned.len, n)
		t1 := time.Now()
		wait(installed, n)
		t2 := time.Now()
		if iters == 0 {
			// Once, outside the timing: route/show has them all, as bgp.
			b.StopTimer()
			var rs []vswitch.RouteEntry
			m.ok(b, &rs, "route/show")
			bgpRoutes := 0
			for _, r := range rs {
				if r.Type == "bgp" {
					bgpRoutes++
				}
			}
			require.Equal(b, n, bgpRoutes)
			b.StartTimer()
		}
		t3 := time.Now()
		birdc("disable", "bulk")
		wait(installed, 0)
		learn += t1.Sub(t0)
		add += t2.Sub(t0)
		del += time.Since(t3)
		iters++
	}
	b.ReportMetric(float64(n*iters)/add.Seconds(), "routes/s-add")
	b.ReportMetric(float64(n*iters)/learn.Seconds(), "routes/s-learned")
	b.ReportMetric(float64(n*iters)/del.Seconds(), "routes/s-withdraw")
}
