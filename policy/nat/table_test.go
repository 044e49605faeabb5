package nat

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestMapValidation(t *testing.T) {
	tab, err := NewTable(Config{})
	require.NoError(t, err)
	base := Map{Proto: protoTCP, Host: addr("203.0.113.1"), HostPort: 8080, Target: addr("10.0.0.5"), TargetPort: 80}
	require.NoError(t, tab.AddMap(base))
	require.NoError(t, tab.AddMap(base), "idempotent")
	require.Len(t, tab.Maps(), 1)
	with := func(f func(*Map)) Map { m := base; f(&m); return m }
	for _, tc := range []struct {
		name string
		m    Map
		err  error
	}{
		{"proto", with(func(m *Map) { m.Proto = protoSCTP }), ErrProto},
		{"proto-icmp", with(func(m *Map) { m.Proto = protoICMP }), ErrProto},
		{"host-port-0", with(func(m *Map) { m.HostPort = 0 }), ErrPort},
		{"target-port-0", with(func(m *Map) { m.TargetPort = 0 }), ErrPort},
		{"host-invalid", with(func(m *Map) { m.Host = netip.Addr{} }), ErrAddr},
		{"host-multicast", with(func(m *Map) { m.Host = addr("224.0.0.1") }), ErrAddr},
		{"host-loopback", with(func(m *Map) { m.Host = addr("127.0.0.1") }), ErrAddr},
		{"host-mapped", with(func(m *Map) { m.Host = addr("::ffff:203.0.113.1") }), ErrAddr},
		{"host-zone", with(func(m *Map) { m.Host = addr("fe80::1%eth0"); m.Target = addr("fd00::5") }), ErrAddr},
		{"target-any", with(func(m *Map) { m.Target = netip.IPv4Unspecified() }), ErrAddr},
		{"target-broadcast", with(func(m *Map) { m.Target = addr("255.255.255.255") }), ErrAddr},
		{"family", with(func(m *Map) { m.Target = addr("fd00::5") }), ErrFamily},
		{"same-host-port", with(func(m *Map) { m.Target = addr("10.0.0.6") }), ErrOverlap},
		{"any-over-specific", with(func(m *Map) { m.Host = netip.IPv4Unspecified() }), ErrOverlap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tab.Rules()
			err := tab.AddMap(tc.m)
			require.ErrorIs(t, err, tc.err)
			var me *MapError
			require.ErrorAs(t, err, &me)
			require.Equal(t, tc.m, me.Map)
			require.Equal(t, []Map{base}, tab.Maps(), "nothing changed")
			require.Same(t, r, tab.Rules(), "nothing published")
		})
	}
	// Not overlapping: another port, protocol, address or family.
	for _, m := range []Map{
		with(func(m *Map) { m.HostPort = 8081 }),
		with(func(m *Map) { m.Proto = protoUDP }),
		with(func(m *Map) { m.Host = addr("203.0.113.2") }),
		with(func(m *Map) { m.Host = netip.IPv6Unspecified(); m.Target = addr("fd00::5") }),
	} {
		require.NoError(t, tab.AddMap(m), m.String())
	}
	// "any" then a specific address on the same port overlaps too.
	err = tab.AddMap(Map{Proto: protoTCP, Host: addr("2001:db8::1"), HostPort: 8080, Target: addr("fd00::6"), TargetPort: 1})
	require.ErrorIs(t, err, ErrOverlap)
	require.Contains(t, err.Error(), "[::]:8080/tcp -> [fd00::5]:80")
	require.Len(t, tab.Maps(), 5)

	require.True(t, tab.DeleteMap(Map{Proto: protoTCP, Host: addr("203.0.113.1"), HostPort: 8080}))
	require.False(t, tab.DeleteMap(Map{Proto: protoTCP, Host: addr("203.0.113.1"), HostPort: 8080}), "idempotent")
	require.NoError(t, tab.AddMap(with(func(m *Map) { m.Target = addr("10.0.0.6") })), "the port is free again")
}

func TestNetworkValidation(t *testing.T) {
	tab, err := NewTable(Config{})
	require.NoError(t, err)
	pfx := netip.MustParsePrefix
	good := Network{Name: "a", Sources: []netip.Prefix{pfx("10.0.0.0/24")}, External4: addr("203.0.113.1"), Gateway4: addr("10.0.0.1")}
	require.NoError(t, tab.SetNetwork(good))
	for _, tc := range []struct {
		name string
		n    Network
		err  error
	}{
		{"no-name", Network{Sources: good.Sources, Gateway4: good.Gateway4}, ErrName},
		{"unmasked", Network{Name: "b", Sources: []netip.Prefix{pfx("10.1.0.1/24")}, Gateway4: good.Gateway4}, ErrPrefix},
		{"invalid-prefix", Network{Name: "b", Sources: []netip.Prefix{{}}, Gateway4: good.Gateway4}, ErrPrefix},
		{"self-overlap", Network{Name: "b", Sources: []netip.Prefix{pfx("10.1.0.0/16"), pfx("10.1.2.0/24")}, Gateway4: good.Gateway4}, ErrOverlap},
		{"other-overlap", Network{Name: "b", Sources: []netip.Prefix{pfx("10.0.0.128/25")}, Gateway4: good.Gateway4}, ErrOverlap},
		{"no-gw6", Network{Name: "b", Sources: []netip.Prefix{pfx("fd01::/64")}, Gateway4: good.Gateway4}, ErrNoGW},
		{"ext-family", Network{Name: "b", Sources: []netip.Prefix{pfx("10.1.0.0/24")}, Gateway4: addr("10.1.0.1"), External4: addr("2001:db8::1")}, ErrFamily},
		{"ext-multicast", Network{Name: "b", Sources: []netip.Prefix{pfx("10.1.0.0/24")}, Gateway4: addr("10.1.0.1"), External4: addr("224.0.0.1")}, ErrAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tab.Rules()
			err := tab.SetNetwork(tc.n)
			require.ErrorIs(t, err, tc.err)
			var ne *NetworkError
			require.ErrorAs(t, err, &ne)
			require.Equal(t, []Network{good}, tab.Networks())
			require.Same(t, r, tab.Rules())
		})
	}
	// Replacing a network by name may keep its own sources.
	good.External4 = addr("203.0.113.2")
	require.NoError(t, tab.SetNetwork(good))
	require.Equal(t, []Network{good}, tab.Networks())
	require.True(t, tab.DeleteNetwork("a"))
	require.False(t, tab.DeleteNetwork("a"))

	_, err = NewTable(Config{TCP: PortRange{10, 5}})
	require.ErrorIs(t, err, ErrConfig)
	require.ErrorIs(t, tab.SetUplinks([]netip.Addr{{}}), ErrAddr)
}

// TestPublishConcurrent: workers committing flows while the control
// plane adds and deletes maps (run with -race).
func TestPublishConcurrent(t *testing.T) {
	r := newRig(t, Config{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		m := Map{Proto: protoTCP, Host: addr("203.0.113.1"), HostPort: 8080, Target: addr("10.0.0.5"), TargetPort: 80}
		for {
			select {
			case <-stop:
				return
			default:
			}
			require.NoError(t, r.nt.AddMap(m))
			r.nt.DeleteMap(m)
		}
	}()
	for i := range 2000 {
		pkt := tcp("198.51.100.7", "203.0.113.1", uint16(i), 8080, fSYN).build()
		_, _, reason := r.send(pkt)
		require.Equal(t, ReasonNone, reason)
	}
	close(stop)
	wg.Wait()
}

// TestConcurrentAllocation: workers on their own goroutines set up flows
// from many containers, all from the same source port (in the range:
// every flow wants to keep it) to the same server, into a range exactly
// as large as the number of flows (searched whole: MaxAttempts is
// larger): every flow gets a port, no two share one, every success is a
// flow in conntrack, and one more flow is refused and counted. Two
// workers that pick the same port at once meet in conntrack's clash
// check (most runs see a few); the loser must try again, not fail.
func TestConcurrentAllocation(t *testing.T) {
	const workers, perWorker = 4, 150
	const rangeSize = workers * perWorker
	ct, err := conntrack.New(conntrack.Config{Capacity: 1 << 12})
	require.NoError(t, err)
	nt, err := NewTable(Config{TCP: PortRange{30000, 30000 + rangeSize - 1}, MaxAttempts: 1024})
	require.NoError(t, err)
	require.NoError(t, nt.SetNetwork(Network{Name: "n", Sources: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		External4: addr("203.0.113.1"), Gateway4: addr("10.0.0.1")}))
	var wg sync.WaitGroup
	ok := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cw, nw := ct.NewWorker(), nt.NewWorker(ct)
			var p conntrack.Packet
			for i := range perWorker {
				pkt := tcp(fmt.Sprintf("10.%d.%d.%d", w, i/200, 1+i%200), "198.51.100.7", 30100, 80, fSYN).build()
				if res := cw.Track(&p, pkt, 0, 1); res.State != conntrack.StateNew || res.Conn != 0 {
					panic("not new")
				}
				if _, _, r := nw.Commit(cw, &p, 1, 0); r == ReasonNone {
					ok[w]++
				}
			}
			cw.Publish()
			nw.Publish()
		}()
	}
	wg.Wait()
	used := map[uint16]bool{}
	n := 0
	ct.Walk(func(f *conntrack.Flow) bool {
		n++
		require.Equal(t, conntrack.AddrFrom(addr("203.0.113.1")), f.Reply.Dst)
		p := f.Reply.DstPort
		require.True(t, p >= 30000 && p < 30000+rangeSize)
		require.False(t, used[p], "port %d twice", p)
		used[p] = true
		return true
	})
	total := 0
	for _, k := range ok {
		total += k
	}
	c := nt.Counters()
	t.Logf("%d flows, %d refused, %d retries, %d conntrack clashes", total, c.Reasons[ReasonPortsExhausted], c.Retries, ct.Counters().Clashes)
	require.Equal(t, rangeSize, total, "every flow got a port")
	require.Equal(t, total, n)
	require.Equal(t, uint64(total), c.SNAT)
	require.Zero(t, c.Reasons[ReasonPortsExhausted])

	cw, nw := ct.NewWorker(), nt.NewWorker(ct)
	var p conntrack.Packet
	cw.Track(&p, tcp("10.9.9.9", "198.51.100.7", 30100, 80, fSYN).build(), 0, 1)
	_, _, r := nw.Commit(cw, &p, 1, 0)
	require.Equal(t, ReasonPortsExhausted, r)
}
