package main_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/cnitest"
)

// TestBGPRoutedEndpoints: routed mode end to end, Calico style. The two
// hosts of newBGPRig attach containers with vecswitch-cni, driven by
// cnitool, on a "mode": "routed" network (each host its own pool, which
// is its block): each container gets a /32 and a default route via
// 169.254.1.1, and its host announces the block over BGP with the switch's
// uplink address as next hop. Nothing else tells anyone where the
// containers are: no overlay, no static route, no shared L2.
//
// Checks: a container ADDed on h2 is reachable from h1's container, and
// the time from the ADD to the route on h1 and to the first answered ping
// is logged (the "ADD to usable"); its DEL withdraws the block
// (the route vanishes on h1); a new container brings it back; kill -9 of
// h2's vswitchd and an immediate restart from its stored configuration
// re-announce the block (BIRD keeps it meanwhile: graceful restart) and
// traffic flows again.
func TestBGPRoutedEndpoints(t *testing.T) {
	r := newBGPRig(t)
	h1, h2 := r.hosts[0], r.hosts[1]
	blocks := []string{"10.185.1.0/24", "10.185.2.0/24"}
	envs := make([]*cniEnv, 2)
	for i, h := range r.hosts {
		envs[i] = newCNIEnv(t, h.d, map[string]any{"mode": "routed", "ipam": map[string]any{"type": "vecswitch", "subnet": blocks[i]}})
	}
	routeOn := func(h *bgpHost, prefix string) bool {
		var rs []struct{ Prefix, Type string }
		if h.d.vsctlJSON(&rs, "route/show") != nil {
			return false
		}
		for _, x := range rs {
			if x.Prefix == prefix && x.Type == "bgp" {
				return true
			}
		}
		return false
	}
	established := func(h *bgpHost) bool {
		var v ctl.BGPShowView
		return h.d.vsctlJSON(&v, "bgp/show") == nil && len(v.Neighbors) == 1 && v.Neighbors[0].State == "established"
	}
	state := func() string {
		return fmt.Sprintf("h1 route/show:\n%s\nh1 bgp/show:\n%s\nh2 bgp/show:\n%s\nbird:\n%s",
			tryVsctl(h1.d, "route/show"), tryVsctl(h1.d, "bgp/show"), tryVsctl(h2.d, "bgp/show"), r.birdc("show", "route"))
	}

	c1 := cnitest.NewNetns(t)
	a1 := cnitest.FirstIPv4(envs[0].must("add", c1)).String()
	require.Equal(t, "10.185.1.2", a1)
	require.Eventually(t, func() bool { return routeOn(h2, blocks[0]) && established(h1) && established(h2) },
		45*time.Second, 100*time.Millisecond, "sessions never came up, or h1's block never reached h2\n%s", state())
	var v ctl.BGPShowView
	require.NoError(t, h1.d.vsctlJSON(&v, "bgp/show"))
	require.Equal(t, []ctl.BGPAnnouncedView{{Prefix: blocks[0], NextHop: h1.rif, Endpoints: true}}, v.Announced)
	var rs []struct{ Prefix, Type string }
	require.NoError(t, h1.d.vsctlJSON(&rs, "route/show"))
	require.Contains(t, rs, struct{ Prefix, Type string }{blocks[0], "blackhole"}, "h1's own block is blackholed on h1")

	// ADD on h2 to usable from h1: measured, not asserted.
	c2 := cnitest.NewNetns(t)
	t0 := time.Now()
	a2 := cnitest.FirstIPv4(envs[1].must("add", c2)).String()
	tAdd := time.Since(t0)
	require.Eventually(t, func() bool { return routeOn(h1, blocks[1]) }, 20*time.Second, 5*time.Millisecond, "h2's block not on h1\n%s", state())
	tRoute := time.Since(t0)
	require.Eventually(t, func() bool { return ping1(c1.NS, a2) == nil }, 20*time.Second, 5*time.Millisecond, "c1 cannot reach c2\n%s", state())
	t.Logf("ADD on h2 (cnitool) %v; -> block route on h1 %v; -> c1 pings c2 %v",
		tAdd.Round(time.Millisecond), tRoute.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	require.NoError(t, ping(c2.NS, a1), "c2 -> c1")
	out, err := c2.Exec(t, "ip", "route", "show", "default")
	require.NoError(t, err)
	require.Contains(t, string(out), "default via 169.254.1.1 dev eth0", "the container's gateway is the link-local one")

	// The last container of h2's block goes: the block is withdrawn.
	envs[1].must("del", c2)
	require.Eventually(t, func() bool { return !routeOn(h1, blocks[1]) }, 20*time.Second, 50*time.Millisecond,
		"h2's block stays on h1 after its last container went\n%s", state())
	require.Error(t, ping1(c1.NS, a2), "c1 reaches a deleted container")

	// A new container: the block comes back.
	c3 := cnitest.NewNetns(t)
	a3 := cnitest.FirstIPv4(envs[1].must("add", c3)).String()
	require.Eventually(t, func() bool { return ping1(c1.NS, a3) == nil }, 20*time.Second, 20*time.Millisecond, "c1 cannot reach c3\n%s", state())

	// kill -9 and an immediate restart of h2's vswitchd: the stored
	// endpoint is restored and its block announced again.
	h2.d.stop(syscall.SIGKILL)
	h2.d.start()
	require.Eventually(t, func() bool {
		var v ctl.BGPShowView
		return h2.d.vsctlJSON(&v, "bgp/show") == nil && len(v.Announced) == 1 && v.Announced[0].Endpoints && established(h2)
	}, 45*time.Second, 100*time.Millisecond, "h2 did not announce its block again after kill -9\n%s", state())
	require.Eventually(t, func() bool { return ping1(c1.NS, a3) == nil }, 20*time.Second, 50*time.Millisecond, "c1 cannot reach c3 after h2's restart\n%s", state())
	require.NoError(t, ping(c3.NS, a1), "c3 -> c1 after h2's restart")
}
