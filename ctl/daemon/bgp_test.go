package daemon

import (
	"maps"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/bgp"
	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

func TestBGPCommands(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	var v ctl.BGPShowView
	m.ok(t, &v, "bgp/show")
	require.False(t, v.Configured)
	// Nothing works before bgp/set.
	m.fails(t, ctl.CodeNotFound, "bgp/neighbor-add", "192.0.2.2", "as=65100")
	m.fails(t, ctl.CodeNotFound, "bgp/announce", "10.244.3.0/26")
	m.fails(t, ctl.CodeNotFound, "bgp/neighbor-del", "192.0.2.2")
	for _, c := range [][]string{{"add-br", "up"}, {"vrf/add", "blue"}} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	// listen-port=0: the tests never bind port 179; peers are dialled.
	m.ok(t, nil, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0", "graceful-restart=on", "restart-time=30")
	m.ok(t, nil, "bgp/neighbor-add", "192.0.2.2", "as=65100", "max-prefixes=1000", "hold-time=9")
	m.ok(t, nil, "bgp/neighbor-add", "2001:db8::2", "as=65100", "vrf=blue", "password=s3cret")
	m.ok(t, nil, "bgp/announce", "10.244.3.0/26")
	m.ok(t, nil, "bgp/announce", "fd00:244:3::/64", "vrf=blue")
	m.ok(t, nil, "bgp/announce", "10.244.5.0/26", "nexthop=192.0.2.1")

	before, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	// Idempotent: the same again writes nothing.
	m.ok(t, nil, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0", "graceful-restart=on", "restart-time=30")
	m.ok(t, nil, "bgp/neighbor-add", "192.0.2.2", "as=65100", "max-prefixes=1000", "hold-time=9")
	m.ok(t, nil, "bgp/neighbor-add", "2001:0db8::2", "as=65100", "vrf=blue", "password=s3cret", "passive=off")
	m.ok(t, nil, "bgp/announce", "10.244.3.0/26", "vrf=default")
	m.ok(t, nil, "bgp/withdraw", "10.9.0.0/16")
	// Bad input: typed errors, nothing changes.
	for _, c := range []struct {
		code ctl.Code
		args []string
	}{
		{ctl.CodeInvalid, []string{"bgp/set", "as=0", "router-id=10.179.0.1"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=4294967295", "router-id=10.179.0.1"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=23456", "router-id=10.179.0.1"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=-1", "router-id=10.179.0.1"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=65000", "router-id=fd00::1"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=65000", "router-id=0.0.0.0"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=65000", "router-id=10.1"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=65000", "router-id=10.1.0.1", "listen-port=65536"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=65000", "router-id=10.1.0.1", "restart-time=0"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=65000", "router-id=10.1.0.1", "graceful-restart=maybe"}},
		{ctl.CodeInvalid, []string{"bgp/set", "as=65000", "router-id=10.1.0.1", "listen-addr=nowhere"}},
		{ctl.CodeUsage, []string{"bgp/set", "as=65000", "bogus=1"}},
		{ctl.CodeUsage, []string{"bgp/set", "as=65000", "listen-port=0"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "192.0.2.300", "as=65100"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "peer", "as=65100"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "0.0.0.0", "as=65100"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "fe80::1", "as=65100"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "224.0.0.5", "as=65100"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "192.0.2.3", "as=0"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "192.0.2.3", "as=65100", "max-prefixes=-1"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "192.0.2.3", "as=65100", "hold-time=2"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "192.0.2.3", "as=65100", "password=" + string(make([]byte, 81))}},
		{ctl.CodeNotFound, []string{"bgp/neighbor-add", "192.0.2.3", "as=65100", "vrf=red"}},
		{ctl.CodeUsage, []string{"bgp/neighbor-add", "192.0.2.3", "vrf=blue"}},
		{ctl.CodeUsage, []string{"bgp/neighbor-add", "192.0.2.3", "as=65100", "active"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-add", "192.0.2.3", "as=65100", "passive"}}, // listen-port=0
		{ctl.CodeExists, []string{"bgp/neighbor-add", "192.0.2.2", "as=65101"}},
		{ctl.CodeExists, []string{"bgp/neighbor-add", "192.0.2.2", "as=65100"}}, // other settings
		{ctl.CodeNotFound, []string{"bgp/neighbor-del", "192.0.2.9"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-del", "nobody"}},
		{ctl.CodeInvalid, []string{"bgp/announce", "10.244.3.1/26"}},
		{ctl.CodeInvalid, []string{"bgp/announce", "10.244.3.0"}},
		{ctl.CodeInvalid, []string{"bgp/announce", "10.244.3.0/33"}},
		{ctl.CodeNotFound, []string{"bgp/announce", "10.244.4.0/26", "vrf=red"}},
		{ctl.CodeUsage, []string{"bgp/announce", "10.244.4.0/26", "via=1.2.3.4"}},
		{ctl.CodeInvalid, []string{"bgp/announce", "10.244.4.0/26", "nexthop=fd00::1"}},
		{ctl.CodeInvalid, []string{"bgp/announce", "10.244.4.0/26", "nexthop=0.0.0.0"}},
		{ctl.CodeInvalid, []string{"bgp/announce", "10.244.4.0/26", "nexthop=x"}},
		{ctl.CodeExists, []string{"bgp/announce", "10.244.5.0/26", "nexthop=192.0.2.9"}},
		{ctl.CodeNotFound, []string{"bgp/withdraw", "10.244.5.0/26", "nexthop=192.0.2.9"}},
		{ctl.CodeInvalid, []string{"bgp/withdraw", "nonsense"}},
		{ctl.CodeNotFound, []string{"bgp/neighbor-reset", "192.0.2.9"}},
		{ctl.CodeInvalid, []string{"bgp/neighbor-reset", "nobody"}},
	} {
		m.fails(t, c.code, c.args[0], c.args[1:]...)
	}
	after, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	require.Equal(t, string(before), string(after), "failed or repeated commands changed the store")

	m.ok(t, &v, "bgp/show")
	require.True(t, v.Configured)
	require.True(t, v.Running, v.Error)
	require.Equal(t, uint32(65000), v.AS)
	require.Equal(t, "10.179.0.1", v.RouterID)
	require.True(t, v.GracefulRestart)
	require.Len(t, v.Neighbors, 2)
	require.Equal(t, ctl.BGPNeighborView{Addr: "192.0.2.2", AS: 65100, MaxPrefixes: 1000, HoldTime: 9, State: v.Neighbors[0].State}, v.Neighbors[0])
	require.Equal(t, "2001:db8::2", v.Neighbors[1].Addr)
	require.True(t, v.Neighbors[1].Password)
	require.Equal(t, "blue", v.Neighbors[1].VRF)
	require.NotEqual(t, "not-configured", v.Neighbors[0].State)
	require.Equal(t, []ctl.BGPAnnouncedView{{Prefix: "10.244.3.0/26"}, {Prefix: "fd00:244:3::/64", VRF: "blue"},
		{Prefix: "10.244.5.0/26", NextHop: "192.0.2.1"}}, v.Announced)
	m.ok(t, nil, "bgp/neighbor-reset", "192.0.2.2")
	peers, err := m.d.bgp.speaker.Peers()
	require.NoError(t, err)
	require.Len(t, peers, 2)

	// Restart: the speaker comes back with its neighbors and prefixes.
	m.stop()
	m = startMem(t, dir)
	var v2 ctl.BGPShowView
	m.ok(t, &v2, "bgp/show")
	require.True(t, v2.Running, v2.Error)
	require.Equal(t, v.Announced, v2.Announced)
	require.Len(t, v2.Neighbors, 2)
	for _, n := range v2.Neighbors {
		require.NotEqual(t, "not-configured", n.State, n.Addr)
	}
	m.ok(t, nil, "bgp/withdraw", "fd00:244:3::/64", "vrf=blue")
	m.ok(t, nil, "bgp/withdraw", "10.244.5.0/26") // no nexthop= needed
	m.ok(t, nil, "bgp/neighbor-del", "2001:db8::2")
	// A global change restarts the speaker with the neighbors.
	m.ok(t, nil, "bgp/set", "as=65001", "router-id=10.179.0.2", "listen-port=0")
	m.ok(t, &v2, "bgp/show")
	require.Equal(t, uint32(65001), v2.AS)
	require.Len(t, v2.Neighbors, 1)
	require.NotEqual(t, "not-configured", v2.Neighbors[0].State)
	require.Equal(t, []ctl.BGPAnnouncedView{{Prefix: "10.244.3.0/26"}}, v2.Announced)
	m.stop()

	// A stored neighbor the speaker refuses (edited by hand) is left out;
	// the rest starts.
	raw, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	bad := replaceOnce(string(raw), `"addr": "192.0.2.2"`, `"addr": "fe80::1"`)
	require.NotEqual(t, string(raw), bad)
	require.NoError(t, os.WriteFile(m.d.store.Path(), []byte(bad), 0o600))
	m = startMem(t, dir)
	m.ok(t, &v2, "bgp/show")
	require.True(t, v2.Running, v2.Error)
	require.Equal(t, "not-configured", v2.Neighbors[0].State)
	m.ok(t, nil, "bgp/neighbor-del", "fe80::1")
}

// TestBGPPassiveNeedsListener: a passive neighbor waits for its peer to
// connect, so a speaker that does not listen refuses one with a message
// that says so (it said `bgp: Peer.Passive "true": bad listen port`), and
// bgp/set listen-port=0 refuses to leave a passive neighbor out (it
// stored the change and the neighbor stayed not-configured).
func TestBGPPassiveNeedsListener(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0")
	m.failsWith(t, ctl.CodeInvalid, "the speaker does not listen (bgp/set listen-port=0)", "bgp/neighbor-add", "192.0.2.3", "as=65100", "passive")
	m.failsWith(t, ctl.CodeInvalid, "give bgp/set a listen-port=", "bgp/neighbor-add", "192.0.2.3", "as=65100", "passive=on")

	l, err := net.Listen("tcp", "127.0.0.1:0") // a free port, for the listener
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	listen := []string{"as=65000", "router-id=10.179.0.1", "listen-port=" + strconv.Itoa(port), "listen-addr=127.0.0.1"}
	m.ok(t, nil, "bgp/set", listen...)
	m.ok(t, nil, "bgp/neighbor-add", "192.0.2.3", "as=65100", "passive")
	m.failsWith(t, ctl.CodeInvalid, "neighbor 192.0.2.3 is passive", "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0")
	var v ctl.BGPShowView
	m.ok(t, &v, "bgp/show")
	require.Equal(t, port, v.ListenPort, "the refused change is not made")
	require.Len(t, v.Neighbors, 1)
	require.NotEqual(t, "not-configured", v.Neighbors[0].State)
	m.ok(t, nil, "bgp/neighbor-del", "192.0.2.3")
	m.ok(t, nil, "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0")
}

// TestBGPLearnedRoutes feeds route events straight into the learned table:
// installable routes reach the FIB next to the static ones, others wait,
// a route of a VRF's neighbor lands in that VRF's FIB only, withdrawals
// and a speaker stop remove them, and none is stored.
func TestBGPLearnedRoutes(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	for _, c := range [][]string{
		{"add-br", "up"}, {"rif/add", "ru", "bridge=up", "addr=192.0.2.1/24,fd00:1::1/64"},
		{"vrf/add", "blue"}, {"rif/add", "rb", "bridge=up", "vlan=7", "vrf=blue", "addr=203.0.113.1/24"},
		{"route/add", "10.8.0.0/16", "via=192.0.2.9"},
		{"bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0"},
		// A neighbor in VRF blue (loopback: its dials never leave the host).
		{"bgp/neighbor-add", "127.0.179.2", "as=65100", "vrf=blue"},
	} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	stored, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	m.d.mu.Lock()
	gen := m.d.bgp.learned.gen
	m.d.mu.Unlock()
	on := m.d.bgp.learned.handler(gen)
	nh := netip.MustParseAddr
	on([]bgp.RouteEvent{
		{Prefix: netip.MustParsePrefix("10.244.1.0/26"), NextHops: []netip.Addr{nh("192.0.2.2"), nh("192.0.2.3")}},
		{Prefix: netip.MustParsePrefix("fd00:244:1::/64"), NextHops: []netip.Addr{nh("fd00:1::2")}},
		{Prefix: netip.MustParsePrefix("10.8.0.0/16"), NextHops: []netip.Addr{nh("192.0.2.2")}},      // static wins
		{Prefix: netip.MustParsePrefix("10.244.2.0/26"), NextHops: []netip.Addr{nh("198.51.100.1")}}, // not connected
		{Prefix: netip.MustParsePrefix("10.244.3.0/26"), NextHops: []netip.Addr{nh("192.0.2.1")}},    // our own address
		{VRF: "red", Prefix: netip.MustParsePrefix("10.244.4.0/26"), NextHops: []netip.Addr{nh("192.0.2.2")}},
		{VRF: "blue", Prefix: netip.MustParsePrefix("10.244.6.0/26"), NextHops: []netip.Addr{nh("203.0.113.2")}},
		{VRF: "blue", Prefix: netip.MustParsePrefix("10.244.7.0/26"), NextHops: []netip.Addr{nh("192.0.2.2")}}, // default's subnet
	})
	want := map[string]int{"10.244.1.0/26": 2, "fd00:244:1::/64": 1}
	require.Eventually(t, func() bool { return fibHas(t, m, want) }, 5*time.Second, 10*time.Millisecond)
	// VRF blue's FIB has its neighbor's route, via blue's subnet; the
	// default FIB (fibHas above) has neither blue route.
	blue := func() map[string]string {
		var rs []vswitch.RouteEntry
		m.ok(t, &rs, "route/show", "blue")
		got := map[string]string{}
		for _, r := range rs {
			if r.Type == "bgp" {
				require.Len(t, r.Via, 1, "%+v", r)
				got[r.Prefix] = r.Via[0].Addr
			}
		}
		return got
	}
	require.Equal(t, map[string]string{"10.244.6.0/26": "203.0.113.2"}, blue())
	var v ctl.BGPShowView
	m.ok(t, &v, "bgp/show")
	require.Equal(t, 8, v.Learned)
	require.Equal(t, 3, v.Installed)
	// A user command keeps the learned routes; the store never has them.
	m.ok(t, nil, "route/add", "10.9.0.0/16", "via=192.0.2.9")
	m.ok(t, nil, "route/del", "10.9.0.0/16")
	require.True(t, fibHas(t, m, want))
	now, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	require.Equal(t, string(stored), string(now))
	// The next hop's subnet comes: the waiting route is installed.
	m.ok(t, nil, "rif/add", "rv", "bridge=up", "vlan=5", "addr=198.51.100.2/24")
	want["10.244.2.0/26"] = 1
	require.True(t, fibHas(t, m, want))
	// Withdrawn: gone at once.
	on([]bgp.RouteEvent{{Prefix: netip.MustParsePrefix("10.244.1.0/26"), Withdrawn: true}})
	delete(want, "10.244.1.0/26")
	require.Eventually(t, func() bool { return fibHas(t, m, want) }, 5*time.Second, 10*time.Millisecond)
	// A restarted speaker (bgp/set change) starts with no learned route,
	// and events from the old one are ignored.
	m.ok(t, nil, "bgp/set", "as=65001", "router-id=10.179.0.1", "listen-port=0")
	require.True(t, fibHas(t, m, map[string]int{}))
	on([]bgp.RouteEvent{{Prefix: netip.MustParsePrefix("10.244.1.0/26"), NextHops: []netip.Addr{nh("192.0.2.2")}}})
	time.Sleep(50 * time.Millisecond)
	require.True(t, fibHas(t, m, map[string]int{}))
}

// fibHas reports whether the default VRF's routes other than connected,
// local and 10.8.0.0/16 are exactly want (prefix -> number of next hops).
func fibHas(t *testing.T, m *memDaemon, want map[string]int) bool {
	t.Helper()
	var rs []vswitch.RouteEntry
	m.ok(t, &rs, "route/show") // every VRF
	got := map[string]int{}
	for _, r := range rs {
		switch {
		case r.VRF != "" && r.VRF != vswitch.DefaultVRF:
		case r.Prefix == "10.8.0.0/16":
			require.Equal(t, "static", r.Type, "the configured route stays static")
		case r.Type == "bgp":
			got[r.Prefix] = len(r.Via)
		}
	}
	if !maps.Equal(got, want) {
		t.Logf("FIB has %v, want %v", got, want)
		return false
	}
	return true
}

// TestBGPSetRefusedChangesNothing: a bgp/set whose listener another
// program holds is refused before the running speaker stops (it was
// stopped and started again with the old configuration, its sessions
// and learned routes gone meanwhile), and a neighbor at the speaker's
// own router-id is refused.
func TestBGPSetRefusedChangesNothing(t *testing.T) {
	m := startMem(t, t.TempDir())
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := free.Addr().(*net.TCPAddr).Port
	require.NoError(t, free.Close())
	set := []string{"as=65000", "router-id=10.179.0.1", "listen-addr=127.0.0.1", "listen-port=" + strconv.Itoa(port)}
	m.ok(t, nil, "bgp/set", set...)
	m.ok(t, nil, "bgp/neighbor-add", "192.0.2.3", "as=65100")
	m.failsWith(t, ctl.CodeInvalid, "router-id", "bgp/neighbor-add", "10.179.0.1", "as=65100")

	busy, err := net.Listen("tcp", "127.0.0.1:0") // another program's port
	require.NoError(t, err)
	defer busy.Close()
	other := busy.Addr().(*net.TCPAddr).Port
	speaker := m.d.bgp.speaker
	m.failsWith(t, ctl.CodeInvalid, "nothing changed", "bgp/set", "as=65000", "router-id=10.179.0.1", "listen-addr=127.0.0.1", "listen-port="+strconv.Itoa(other))
	require.Same(t, speaker, m.d.bgp.speaker, "the running speaker was stopped")
	var v ctl.BGPShowView
	m.ok(t, &v, "bgp/show")
	require.Equal(t, port, v.ListenPort)
	require.True(t, v.Running)
	require.Len(t, v.Neighbors, 1)
}
