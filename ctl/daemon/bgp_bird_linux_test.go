package daemon

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestBGPWithBIRD peers the daemon's speaker with BIRD 2, a BGP
// implementation no one here wrote, in a namespace as the datacenter
// router (as package bgp's tests do): the speaker lives in the host
// namespace and dials BIRD over a veth whose host end carries
// 10.178.N.1/24; BIRD is 10.178.N.2. BIRD's routes appear in the switch's
// FIB via BIRD and vanish when it withdraws them; bgp/announce reaches
// BIRD's table and bgp/withdraw takes it out.
func TestBGPWithBIRD(t *testing.T) {
	nettest.NeedRoot(t)
	needBIRD(t)
	ns, host, peer := peerNS(t, 178, "vbd")
	birdc := startBIRD(t, ns, fmt.Sprintf(`router id %s;
protocol device {}
protocol static s4 { ipv4; route 10.244.77.0/26 blackhole; }
protocol static extra { ipv4; route 10.244.78.0/26 blackhole; }
protocol bgp up4 {
	local %s as 65100;
	neighbor %s as 65000;
	hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 2;
	ipv4 { import all; export all; };
}
`, peer, peer, host))

	m := startMem(t, t.TempDir())
	for _, c := range [][]string{
		{"add-br", "up"}, {"rif/add", "ru", "bridge=up", "addr=" + host.String() + "/24"},
		{"bgp/set", "as=65000", "router-id=" + host.String(), "listen-port=0"},
		{"bgp/neighbor-add", peer.String(), "as=65100", "hold-time=3"},
		{"bgp/announce", "10.244.3.0/26"},
	} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	fib := func() map[string]string {
		var rs []vswitch.RouteEntry
		m.ok(t, &rs, "route/show")
		got := map[string]string{}
		for _, r := range rs {
			if r.Type == "bgp" && len(r.Via) > 0 {
				got[r.Prefix] = r.Via[0].Addr
			}
		}
		return got
	}
	require.Eventually(t, func() bool {
		f := fib()
		return f["10.244.77.0/26"] == peer.String() && f["10.244.78.0/26"] == peer.String()
	}, 30*time.Second, 50*time.Millisecond, "BIRD's routes not in the FIB\n%s", birdc("show", "protocols", "all", "up4"))
	var v ctl.BGPShowView
	m.ok(t, &v, "bgp/show")
	require.Len(t, v.Neighbors, 1)
	require.Equal(t, "established", v.Neighbors[0].State)
	require.Equal(t, 2, v.Neighbors[0].Received)
	require.Equal(t, 2, v.Installed)
	// The same in Prometheus: the session is up, two routes installed.
	metric := bgpMetrics(t, m.d)
	require.Equal(t, 1.0, metric["vswitch_bgp_session_up{neighbor="+peer.String()+",vrf=default}"])
	require.Equal(t, 1.0, metric["vswitch_bgp_session_state{neighbor="+peer.String()+",state=established,vrf=default}"])
	require.Equal(t, 2.0, metric["vswitch_bgp_prefixes_received{neighbor="+peer.String()+",vrf=default}"])
	require.Equal(t, 2.0, metric["vswitch_bgp_routes_installed"])
	require.Equal(t, 1.0, metric["vswitch_bgp_running"])
	require.Eventually(t, func() bool { return strings.Contains(birdc("show", "route", "protocol", "up4"), "10.244.3.0/26") },
		10*time.Second, 50*time.Millisecond, "our announcement not in BIRD's table")

	// BIRD withdraws one route: gone from the FIB.
	birdc("disable", "extra")
	require.Eventually(t, func() bool {
		f := fib()
		_, there := f["10.244.78.0/26"]
		return !there && f["10.244.77.0/26"] == peer.String()
	}, 10*time.Second, 20*time.Millisecond, "withdrawn route still in the FIB")

	// We withdraw ours: gone from BIRD's table.
	m.ok(t, nil, "bgp/withdraw", "10.244.3.0/26")
	require.Eventually(t, func() bool { return !strings.Contains(birdc("show", "route", "protocol", "up4"), "10.244.3.0/26") },
		10*time.Second, 50*time.Millisecond, "withdrawn announcement still in BIRD's table")

	// The neighbor deleted: its routes leave the FIB.
	m.ok(t, nil, "bgp/neighbor-del", peer.String())
	require.Eventually(t, func() bool { return len(fib()) == 0 }, 10*time.Second, 20*time.Millisecond, "routes of a deleted neighbor stay")

	// Max-prefix: BIRD sends two routes to a neighbor allowed one; the
	// session is torn down, nothing is installed, and it stays down
	// until bgp/neighbor-reset (with BIRD back to one route).
	birdc("enable", "extra")
	m.ok(t, nil, "bgp/neighbor-add", peer.String(), "as=65100", "hold-time=3", "max-prefixes=1")
	require.Eventually(t, func() bool {
		m.ok(t, &v, "bgp/show")
		return v.Neighbors[0].PrefixLimitHit
	}, 30*time.Second, 50*time.Millisecond, "max-prefixes=1 not enforced: %+v", v.Neighbors)
	require.Empty(t, fib())
	birdc("disable", "extra")
	m.ok(t, nil, "bgp/neighbor-reset", peer.String())
	require.Eventually(t, func() bool {
		f := fib()
		return len(f) == 1 && f["10.244.77.0/26"] == peer.String()
	}, 30*time.Second, 50*time.Millisecond, "no route after the reset")

	// bgp/unset: the speaker stops, its routes leave the FIB, BIRD sees
	// the session go, and the configuration is gone for good (there was
	// no way to turn BGP off once set).
	m.ok(t, nil, "bgp/unset")
	require.Empty(t, fib())
	m.ok(t, &v, "bgp/show")
	require.False(t, v.Configured)
	require.False(t, v.Running)
	require.Eventually(t, func() bool { return !strings.Contains(birdc("show", "protocols", "up4"), "Established") },
		30*time.Second, 50*time.Millisecond, "BIRD still has a session with the unset speaker")
	m.ok(t, nil, "bgp/unset") // again: a no-op
	m.fails(t, ctl.CodeNotFound, "bgp/neighbor-add", peer.String(), "as=65100")
}

// bgpMetrics gathers the BGP collector's metrics (gatherMetrics).
func bgpMetrics(t *testing.T, d *Daemon) map[string]float64 {
	t.Helper()
	return gatherMetrics(t, newBGPCollector(d))
}
