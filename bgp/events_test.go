package bgp

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

func testPath(t testing.TB, vrfRD string, peer, pfx, nh string, withdraw bool) *apiutil.Path {
	t.Helper()
	p := netip.MustParsePrefix(pfx)
	var nlri bgp.NLRI
	var err error
	fam := bgp.RF_IPv4_UC
	if p.Addr().Is6() {
		fam = bgp.RF_IPv6_UC
	}
	if vrfRD != "" {
		rd, err := bgp.ParseRouteDistinguisher(vrfRD)
		require.NoError(t, err)
		nlri, err = bgp.NewLabeledVPNIPAddrPrefix(p, *bgp.NewMPLSLabelStack(), rd)
		require.NoError(t, err)
		fam = bgp.RF_IPv4_VPN
	} else {
		nlri, err = bgp.NewIPAddrPrefix(p)
		require.NoError(t, err)
	}
	ap := &apiutil.Path{Family: fam, Nlri: nlri, Withdrawal: withdraw}
	if peer != "" {
		ap.PeerAddress = netip.MustParseAddr(peer)
		ap.PeerASN = 65001
	}
	if nh != "" {
		a := netip.MustParseAddr(nh)
		if a.Is4() && fam == bgp.RF_IPv4_UC {
			attr, _ := bgp.NewPathAttributeNextHop(a)
			ap.Attrs = append(ap.Attrs, attr)
		} else {
			attr, _ := bgp.NewPathAttributeMpReachNLRI(fam, []bgp.PathNLRI{{NLRI: nlri}}, a)
			ap.Attrs = append(ap.Attrs, attr)
		}
	}
	return ap
}

func TestRIBTracker(t *testing.T) {
	tr := newRIBTracker(func(rd string) (string, bool) {
		return map[string]string{"192.0.2.1:1": "blue"}[rd], rd == "192.0.2.1:1"
	})
	ev := func(vrf, pfx string, nhs ...string) RouteEvent {
		e := RouteEvent{VRF: vrf, Prefix: netip.MustParsePrefix(pfx), Withdrawn: len(nhs) == 0}
		for _, n := range nhs {
			e.NextHops = append(e.NextHops, netip.MustParseAddr(n))
		}
		return e
	}
	apply := func(ps ...*apiutil.Path) []RouteEvent { return slices.Clone(tr.apply(ps)) }

	// Two peers, one batch: one event with both next hops, sorted.
	require.Equal(t, []RouteEvent{ev("", "203.0.113.0/24", "10.0.0.1", "10.0.0.2")}, apply(
		testPath(t, "", "10.0.0.2", "203.0.113.0/24", "10.0.0.2", false),
		testPath(t, "", "10.0.0.1", "203.0.113.0/24", "10.0.0.1", false)))
	// Same path again (e.g. marked stale): nothing.
	require.Empty(t, apply(testPath(t, "", "10.0.0.2", "203.0.113.0/24", "10.0.0.2", false)))
	// Our own path (no peer address): ignored.
	require.Empty(t, apply(testPath(t, "", "", "198.51.100.0/24", "0.0.0.0", false)))
	// One peer leaves the multipath set.
	require.Equal(t, []RouteEvent{ev("", "203.0.113.0/24", "10.0.0.1")},
		apply(testPath(t, "", "10.0.0.2", "203.0.113.0/24", "", true)))
	// Two peers with the same next hop (a route server): one next hop.
	require.Equal(t, []RouteEvent{ev("", "2001:db8::/32", "fd00::9")}, apply(
		testPath(t, "", "fd00::1", "2001:db8::/32", "fd00::9", false),
		testPath(t, "", "fd00::2", "2001:db8::/32", "fd00::9", false)))
	// VRF routes by route distinguisher; unknown RD ignored.
	require.Equal(t, []RouteEvent{ev("blue", "203.0.113.0/24", "10.0.1.1")}, apply(
		testPath(t, "192.0.2.1:1", "10.0.1.1", "203.0.113.0/24", "10.0.1.1", false),
		testPath(t, "192.0.2.1:9", "10.0.1.1", "203.0.113.0/24", "10.0.1.1", false)))
	// Last path withdrawn: Withdrawn; withdrawing again or something never
	// seen: nothing.
	require.Equal(t, []RouteEvent{ev("", "203.0.113.0/24")}, apply(testPath(t, "", "10.0.0.1", "203.0.113.0/24", "", true)))
	require.Empty(t, apply(testPath(t, "", "10.0.0.1", "203.0.113.0/24", "", true)))
	require.Empty(t, apply(testPath(t, "", "10.0.0.1", "192.0.2.0/24", "", true)))
	// Add then withdraw in one batch: never reported.
	require.Empty(t, apply(
		testPath(t, "", "10.0.0.1", "192.0.2.0/24", "10.0.0.1", false),
		testPath(t, "", "10.0.0.1", "192.0.2.0/24", "", true)))
	require.ElementsMatch(t, []RouteEvent{ev("", "2001:db8::/32"), ev("blue", "203.0.113.0/24")}, slices.Clone(tr.reset()))
	require.Empty(t, tr.routes)
}

// TestRIBTrackerRandom checks the tracker against a plain model: random
// batches of path updates and withdrawals from 4 peers over 16 prefixes;
// the FIB built from the events always equals the model's next-hop sets.
func TestRIBTrackerRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tr := newRIBTracker(nil)
	model := map[netip.Prefix]map[netip.Addr]netip.Addr{}
	fib := map[netip.Prefix][]netip.Addr{}
	peers := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}
	nhs := []string{"10.0.0.1", "10.0.0.2", "10.0.0.9"}
	for range 3000 {
		var batch []*apiutil.Path
		for range rng.IntN(6) + 1 {
			peer := peers[rng.IntN(len(peers))]
			pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(rng.IntN(16)), 0}), 24)
			pa := netip.MustParseAddr(peer)
			if rng.IntN(3) == 0 {
				batch = append(batch, testPath(t, "", peer, pfx.String(), "", true))
				delete(model[pfx], pa)
			} else {
				nh := nhs[rng.IntN(len(nhs))]
				batch = append(batch, testPath(t, "", peer, pfx.String(), nh, false))
				if model[pfx] == nil {
					model[pfx] = map[netip.Addr]netip.Addr{}
				}
				model[pfx][pa] = netip.MustParseAddr(nh)
			}
		}
		seen := map[netip.Prefix]bool{}
		for _, e := range tr.apply(batch) {
			require.False(t, seen[e.Prefix], "two events for %s in one batch", e.Prefix)
			seen[e.Prefix] = true
			if e.Withdrawn {
				require.Contains(t, fib, e.Prefix)
				delete(fib, e.Prefix)
			} else {
				require.NotEqual(t, fib[e.Prefix], e.NextHops, "event without change")
				fib[e.Prefix] = slices.Clone(e.NextHops)
			}
		}
		for pfx, m := range model {
			var want []netip.Addr
			for _, nh := range m {
				want = append(want, nh)
			}
			slices.SortFunc(want, func(a, b netip.Addr) int { return a.Compare(b) })
			want = slices.Compact(want)
			require.Equal(t, want, fib[pfx], "prefix %s", pfx)
		}
	}
}

// BenchmarkRIBTracker: the tracker's own cost per path (GoBGP's is not
// included), 256-path batches over 100k prefixes from 2 peers.
func BenchmarkRIBTracker(b *testing.B) {
	const n = 100_000
	var batches [][]*apiutil.Path
	for i := 0; i < n; i += 256 {
		var batch []*apiutil.Path
		for j := i; j < min(i+256, n); j++ {
			pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)}), 32).String()
			batch = append(batch, testPath(b, "", "10.255.0.1", pfx, "10.255.0.1", false),
				testPath(b, "", "10.255.0.2", pfx, "10.255.0.2", false))
		}
		batches = append(batches, batch)
	}
	b.ReportAllocs()
	start := time.Now()
	routes := 0
	for b.Loop() {
		tr := newRIBTracker(nil)
		for _, batch := range batches {
			routes += len(tr.apply(batch))
		}
	}
	b.ReportMetric(float64(routes)/time.Since(start).Seconds(), "routes/s")
}
