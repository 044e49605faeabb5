package vswitch

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/memport"
)

func TestLearning(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("c", 0)))

	f1 := frame(macN(2), macN(1), -1)
	r.send("a", f1) // unknown destination: flooded
	got := r.recv()
	require.Len(t, got, 2)
	require.Equal(t, [][]byte{f1}, got["b"])
	require.Equal(t, [][]byte{f1}, got["c"])
	r.requireFDB(0, macN(1), "a", false)
	r.requireFDB(0, macN(2), "", false)

	r.send("b", frame(macN(1), macN(2), -1)) // reply: unicast to a
	require.Equal(t, []string{"a"}, r.receivers())
	r.requireFDB(0, macN(2), "b", false)

	r.send("a", frame(macN(2), macN(1), -1)) // both known now
	require.Equal(t, []string{"b"}, r.receivers())
	require.EqualValues(t, 2, r.s.lrn.learned.Load())
	require.Zero(t, r.s.lrn.moved.Load())
}

// TestLearningWorkers runs two workers: a frame received by worker 1 is
// learned through worker 1's learn ring and forwarded from worker 1's pool.
func TestLearningWorkers(t *testing.T) {
	r := newL2Rig(t, Options{Workers: 2, PoolFrames: 512})
	r.attach("a", "b", "c")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("c", 0)))
	require.Equal(t, 1, r.ports["a"].Inject(1, frame(macN(2), macN(1), -1)))
	r.s.Poll()
	require.Equal(t, []string{"b", "c"}, r.receivers())
	r.requireFDB(0, macN(1), "a", false)
	require.Equal(t, 1, r.ports["b"].Inject(0, frame(macN(1), macN(2), -1)))
	r.s.Poll()
	require.Equal(t, []string{"a"}, r.receivers())
	require.Equal(t, 1, r.ports["a"].Inject(1, frame(macN(2), macN(1), -1)))
	r.s.Poll()
	require.Equal(t, []string{"b"}, r.receivers())
}

func TestAging(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	cfg := oneBridge(acc("a", 0), acc("b", 0), acc("c", 0))
	cfg.Bridges[0].MACAgeSeconds = 60
	r.reconf(cfg)

	r.send("a", frame(macN(2), macN(1), -1))
	r.send("b", frame(macN(1), macN(2), -1))
	r.recv()
	r.requireFDB(0, macN(1), "a", false)

	r.clock.advance(59 * time.Second)
	r.s.Age()
	r.requireFDB(0, macN(1), "a", false)
	r.requireFDB(0, macN(2), "b", false)

	r.clock.advance(2 * time.Second) // 61 s without traffic
	r.s.Age()
	r.requireFDB(0, macN(1), "", false)
	r.requireFDB(0, macN(2), "", false)
	require.EqualValues(t, 2, r.s.lrn.aged.Load())

	r.send("c", frame(macN(1), macN(3), -1)) // aged out: flooded again
	require.Equal(t, []string{"a", "b"}, r.receivers())
}

// TestAgingRefresh checks that traffic from a MAC keeps it alive. Workers
// stamp entries with the coarse clock that Age (or the learner's loop)
// advances, so each refresh happens after an Age call.
func TestAgingRefresh(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	cfg := oneBridge(acc("a", 0), acc("b", 0), acc("c", 0))
	cfg.Bridges[0].MACAgeSeconds = 60
	r.reconf(cfg)

	r.send("a", frame(bcast(), macN(1), -1)) // learned at t=0
	r.send("b", frame(bcast(), macN(2), -1)) // learned at t=0, never heard again
	r.recv()
	for range 5 {
		r.clock.advance(40 * time.Second)
		r.s.Age()
		r.send("a", frame(macN(3), macN(1), -1)) // refresh 1
		r.recv()
	}
	// 200 s since macN(2) was heard, 0 s since macN(1).
	r.requireFDB(0, macN(1), "a", false)
	r.requireFDB(0, macN(2), "", false)
	r.send("c", frame(macN(1), macN(3), -1))
	require.Equal(t, []string{"a"}, r.receivers())

	r.clock.advance(61 * time.Second)
	r.s.Age()
	r.requireFDB(0, macN(1), "", false)
}

func TestMACMove(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("c", 0)))

	r.send("a", frame(bcast(), macN(1), -1))
	r.send("b", frame(bcast(), macN(2), -1))
	r.recv()
	r.send("b", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"a"}, r.receivers())

	r.send("c", frame(bcast(), macN(1), -1)) // the host moved behind c
	require.Equal(t, []string{"a", "b"}, r.receivers())
	r.requireFDB(0, macN(1), "c", false)
	require.EqualValues(t, 1, r.s.lrn.moved.Load())

	r.send("b", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"c"}, r.receivers())

	r.send("a", frame(macN(2), macN(1), -1)) // and back
	require.Equal(t, []string{"b"}, r.receivers())
	r.requireFDB(0, macN(1), "a", false)
	require.EqualValues(t, 2, r.s.lrn.moved.Load())
}

func TestFlooding(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c", "d")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("c", 0), acc("d", 0)))
	r.send("b", frame(bcast(), macN(2), -1)) // b's MAC is known: nothing changes
	r.recv()

	for _, tc := range []struct{ name, dst string }{
		{"broadcast", bcast()},
		{"ipv4 multicast", "01:00:5e:00:00:fb"},
		{"ipv6 multicast", "33:33:00:00:00:01"},
		{"unknown unicast", macN(99)},
		{"group bit only", "03:00:00:00:00:01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range []string{"a", "b", "c", "d"} {
				f := frame(tc.dst, macN(1), -1)
				r.send(in, f)
				got := r.recv()
				require.Len(t, got, 3, "from %s", in)
				require.NotContains(t, got, in, "flooded back to the ingress port")
				for p, fs := range got {
					require.Equal(t, [][]byte{f}, fs, "port %s", p)
				}
			}
		})
	}
	// Group destinations are never learned as destinations, and flooding
	// does not depend on the table.
	require.Zero(t, dropCount(t, r.s, nodeL2Flood, "no-flood-port"))
}

func TestFloodAlone(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	r.reconf(oneBridge(acc("a", 0), acc("b", 5)))
	r.send("a", frame(bcast(), macN(1), -1)) // a is alone in its domain
	require.Empty(t, r.receivers())
	require.EqualValues(t, 1, dropCount(t, r.s, nodeL2Flood, "no-flood-port"))
}

func TestSplitHorizon(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("c", 0)))

	r.send("a", frame(bcast(), macN(1), -1))
	r.send("a", frame(bcast(), macN(3), -1)) // two hosts behind a (a hub)
	r.recv()
	r.requireFDB(0, macN(1), "a", false)
	r.requireFDB(0, macN(3), "a", false)

	r.send("a", frame(macN(1), macN(3), -1))
	require.Empty(t, r.receivers(), "frame to a MAC behind its own ingress port")
	require.EqualValues(t, 1, dropCount(t, r.s, nodeL2Fwd, "dst-on-ingress-port"))

	r.send("a", frame(macN(1), macN(3), -1), frame(macN(3), macN(1), -1))
	require.Empty(t, r.receivers())
	require.EqualValues(t, 3, dropCount(t, r.s, nodeL2Fwd, "dst-on-ingress-port"))

	r.send("b", frame(macN(1), macN(2), -1)) // from elsewhere it is delivered
	require.Equal(t, []string{"a"}, r.receivers())
}

func TestBridgeIsolation(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c", "d")
	r.reconf(Config{Bridges: []Bridge{
		{Name: "br0", Ports: []Port{acc("a", 0), acc("b", 0)}},
		{Name: "br1", Ports: []Port{acc("c", 0), acc("d", 0)}},
	}})

	// The same MACs in both bridges.
	r.send("a", frame(bcast(), macN(1), -1))
	require.Equal(t, []string{"b"}, r.receivers())
	r.send("c", frame(bcast(), macN(1), -1))
	require.Equal(t, []string{"d"}, r.receivers())
	r.send("b", frame(bcast(), macN(2), -1))
	require.Equal(t, []string{"a"}, r.receivers())
	r.send("d", frame(bcast(), macN(2), -1))
	require.Equal(t, []string{"c"}, r.receivers())

	e, ok := r.fdb("br0", 0, macN(1))
	require.True(t, ok)
	require.Equal(t, "a", e.port)
	e, ok = r.fdb("br1", 0, macN(1))
	require.True(t, ok)
	require.Equal(t, "c", e.port)
	require.Zero(t, r.s.lrn.moved.Load(), "a MAC in one bridge moved the other's")

	r.send("b", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"a"}, r.receivers())
	r.send("d", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"c"}, r.receivers())
	r.send("a", frame(macN(77), macN(1), -1)) // unknown unicast stays home
	require.Equal(t, []string{"b"}, r.receivers())
	r.send("c", frame("01:00:5e:00:00:01", macN(1), -1))
	require.Equal(t, []string{"d"}, r.receivers())
}

func TestStaticMACs(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	cfg := oneBridge(acc("a", 0), acc("b", 0), acc("c", 0))
	cfg.Bridges[0].MACAgeSeconds = 10
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: strings.ToUpper(macN(9)), Port: "c"}}
	r.reconf(cfg)
	r.requireFDB(0, macN(9), "c", true)

	r.send("a", frame(macN(9), macN(1), -1)) // forwarded without ever being heard
	require.Equal(t, []string{"c"}, r.receivers())

	r.send("a", frame(bcast(), macN(9), -1)) // spoofed from a: not moved
	require.Equal(t, []string{"b", "c"}, r.receivers())
	r.send("b", frame(macN(9), macN(2), -1))
	require.Equal(t, []string{"c"}, r.receivers())
	r.requireFDB(0, macN(9), "c", true)
	require.Zero(t, r.s.lrn.moved.Load())

	r.send("c", frame(macN(1), macN(9), -1)) // heard on its own port
	require.Equal(t, []string{"a"}, r.receivers())
	r.requireFDB(0, macN(9), "c", true)

	r.clock.advance(time.Hour) // statics never age
	r.s.Age()
	r.requireFDB(0, macN(9), "c", true)
	r.requireFDB(0, macN(1), "", false)

	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macN(9), Port: "b"}} // moved by config
	r.reconf(cfg)
	r.requireFDB(0, macN(9), "b", true)
	r.send("a", frame(macN(9), macN(1), -1))
	require.Equal(t, []string{"b"}, r.receivers())

	cfg.Bridges[0].StaticMACs = nil // dropped from the config
	r.reconf(cfg)
	r.requireFDB(0, macN(9), "", false)
	r.send("a", frame(macN(9), macN(1), -1))
	require.Equal(t, []string{"b", "c"}, r.receivers())
	r.send("c", frame(bcast(), macN(9), -1)) // now learned like any MAC
	r.recv()
	r.requireFDB(0, macN(9), "c", false)
}

// TestStaticMACOverridesLearned configures a static entry for a MAC that was
// learned elsewhere.
func TestStaticMACOverridesLearned(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	cfg := oneBridge(acc("a", 0), acc("b", 0), acc("c", 0))
	r.reconf(cfg)
	r.send("a", frame(bcast(), macN(9), -1))
	r.recv()
	r.requireFDB(0, macN(9), "a", false)
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macN(9), Port: "c"}}
	r.reconf(cfg)
	r.requireFDB(0, macN(9), "c", true)
	r.send("b", frame(macN(9), macN(2), -1))
	require.Equal(t, []string{"c"}, r.receivers())
}

// TestStaticMACFollowsAttachment: a static entry exists only while its port
// is attached.
func TestStaticMACFollowsAttachment(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	cfg := oneBridge(acc("a", 0), acc("b", 0), trunk("t", 0, 7))
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macN(9), VLAN: 7, Port: "t"}}
	r.reconf(cfg)
	r.requireFDB(7, macN(9), "", false)

	r.attach("t")
	r.requireFDB(7, macN(9), "t", true)
	r.send("t", frame(bcast(), macN(5), 7)) // VLAN 7 has t alone
	require.Empty(t, r.receivers())

	require.NoError(t, r.s.RemovePort("t"))
	delete(r.ports, "t")
	r.requireFDB(7, macN(9), "", false)
	r.attach("t")
	r.requireFDB(7, macN(9), "t", true)
}

func TestRemovePortFlushes(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("c", 0)))
	for i, p := range []string{"a", "b", "c"} {
		r.send(p, frame(bcast(), macN(i+1), -1))
		r.send(p, frame(bcast(), macN(i+11), -1))
	}
	r.recv()
	r.requireFDB(0, macN(2), "b", false)

	b := r.ports["b"]
	require.NoError(t, r.s.RemovePort("b"))
	require.ErrorIs(t, r.s.RemovePort("b"), ErrNoPort)
	r.requireFDB(0, macN(2), "", false)
	r.requireFDB(0, macN(12), "", false)
	r.requireFDB(0, macN(1), "a", false) // other ports keep theirs

	r.send("c", frame(macN(2), macN(3), -1)) // flooded to what is left
	require.Equal(t, []string{"a"}, r.receivers())
	r.send("a", frame(bcast(), macN(1), -1))
	require.Equal(t, []string{"c"}, r.receivers())
	r.send("a", frame(macN(3), macN(1), -1))
	require.Equal(t, []string{"c"}, r.receivers())
	require.Empty(t, b.CollectAll())

	// The removed port is closed: it cannot be attached again...
	require.Error(t, r.s.AddPort(b))
	// ...but a new port of that name works at once, with the old config.
	delete(r.ports, "b")
	r.attach("b")
	r.requireFDB(0, macN(2), "", false)
	r.send("a", frame(macN(2), macN(1), -1))
	require.Equal(t, []string{"b", "c"}, r.receivers())
	r.send("b", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"a"}, r.receivers())
	r.send("c", frame(macN(2), macN(3), -1))
	require.Equal(t, []string{"b"}, r.receivers())
	r.requireFDB(0, macN(2), "b", false)

	r.clock.advance(time.Second)
	r.s.Age() // the sweep reclaims flushed entries without harm
	r.requireFDB(0, macN(2), "b", false)
	require.EqualValues(t, 5, r.s.lrn.macs.Load().count) // 1, 11, 2 (relearned), 3, 13; 12 reclaimed
}

func TestAddPortErrors(t *testing.T) {
	r := newL2Rig(t, Options{Workers: 2, PoolFrames: 256})
	r.attach("a")
	p, err := memport.New(memport.Config{Name: "a", TxQueues: 2})
	require.NoError(t, err)
	require.ErrorIs(t, r.s.AddPort(p), ErrPortExists)
	p, err = memport.New(memport.Config{Name: "x", TxQueues: 1})
	require.NoError(t, err)
	require.ErrorIs(t, r.s.AddPort(p), ErrTooFewQueue)
	p, err = memport.New(memport.Config{Name: "bad/name", TxQueues: 2})
	require.NoError(t, err)
	require.Error(t, r.s.AddPort(p))
	require.ErrorIs(t, r.s.RemovePort("x"), ErrNoPort)
}

// TestReconfigureMovesPort: a port that changes bridge or VLAN loses its
// MACs; the others keep theirs.
func TestReconfigureMovesPort(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c", "d")
	r.reconf(Config{Bridges: []Bridge{
		{Name: "br0", Ports: []Port{acc("a", 0), acc("b", 0), acc("c", 0)}},
		{Name: "br1", Ports: []Port{acc("d", 0)}},
	}})
	for i, p := range []string{"a", "b", "c"} {
		r.send(p, frame(bcast(), macN(i+1), -1))
	}
	r.recv()

	r.reconf(Config{Bridges: []Bridge{
		{Name: "br0", Ports: []Port{acc("a", 0), acc("b", 0)}},
		{Name: "br1", Ports: []Port{acc("c", 0), acc("d", 0)}},
	}})
	r.requireFDB(0, macN(3), "", false)
	r.requireFDB(0, macN(1), "a", false)
	r.send("a", frame(macN(3), macN(1), -1))
	require.Equal(t, []string{"b"}, r.receivers())
	r.send("d", frame(macN(3), macN(4), -1))
	require.Equal(t, []string{"c"}, r.receivers())

	r.reconf(Config{Bridges: []Bridge{
		{Name: "br0", Ports: []Port{acc("a", 0), acc("b", 8)}},
		{Name: "br1", Ports: []Port{acc("c", 0), acc("d", 0)}},
	}})
	r.requireFDB(0, macN(2), "", false)
	r.requireFDB(0, macN(1), "a", false)
	r.send("a", frame(macN(2), macN(1), -1))
	require.Empty(t, r.receivers())
	require.EqualValues(t, 1, dropCount(t, r.s, nodeL2Flood, "no-flood-port"))

	r.reconf(Config{}) // everything goes: bridges and domains are purged
	require.Zero(t, r.s.lrn.macs.Load().count)
	r.send("a", frame(bcast(), macN(1), -1))
	require.Empty(t, r.receivers())
	require.Equal(t, 1, r.ports["a"].Pending(), "a port in no bridge is not polled")
}

func TestMACLimit(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c", "t")
	cfg := oneBridge(acc("a", 10), acc("b", 10), acc("c", 20), trunk("t", 0, 10, 20))
	cfg.Bridges[0].MACLimit = 4
	r.reconf(cfg)

	// The limit is per bridge, over all its VLANs.
	r.send("a", frame(bcast(), macN(1), -1), frame(bcast(), macN(2), -1))
	r.send("c", frame(bcast(), macN(3), -1), frame(bcast(), macN(4), -1))
	r.recv()
	require.Zero(t, limitHits(r.s, "br0"))
	r.send("a", frame(bcast(), macN(5), -1))
	r.recv()
	r.requireFDB(10, macN(5), "", false)
	require.Positive(t, limitHits(r.s, "br0"))
	require.EqualValues(t, 4, r.s.lrn.learned.Load())

	r.send("b", frame(macN(5), macN(6), -1)) // not learned: flooded
	require.Equal(t, []string{"a", "t"}, r.receivers())
	r.requireFDB(10, macN(6), "", false)
	r.send("b", frame(macN(1), macN(6), -1)) // learned ones still forward
	require.Equal(t, []string{"a"}, r.receivers())

	// A flushed port's entries make room without waiting for the ager.
	require.NoError(t, r.s.RemovePort("c"))
	delete(r.ports, "c")
	r.send("b", frame(bcast(), macN(6), -1))
	r.recv()
	r.requireFDB(10, macN(6), "b", false)
	r.send("b", frame(bcast(), macN(7), -1))
	r.recv()
	r.requireFDB(10, macN(7), "b", false)
	hits := limitHits(r.s, "br0")
	r.send("t", frame(bcast(), macN(8), 20)) // full again (1, 2, 6, 7)
	r.recv()
	r.requireFDB(20, macN(8), "", false)
	require.Greater(t, limitHits(r.s, "br0"), hits)

	// So do aged ones.
	r.clock.advance(time.Duration(DefaultMACAge+1) * time.Second)
	r.s.Age()
	r.send("t", frame(bcast(), macN(8), 20))
	r.recv()
	r.requireFDB(20, macN(8), "t", false)
}

// TestMACLimitStatics: static entries count against the limit but are
// installed even when it is reached.
func TestMACLimitStatics(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	cfg := oneBridge(acc("a", 0), acc("b", 0))
	cfg.Bridges[0].MACLimit = 2
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macN(100), Port: "b"}}
	r.reconf(cfg)
	r.send("a", frame(bcast(), macN(1), -1), frame(bcast(), macN(2), -1))
	r.recv()
	r.requireFDB(0, macN(1), "a", false)
	r.requireFDB(0, macN(2), "", false)
	cfg.Bridges[0].StaticMACs = append(cfg.Bridges[0].StaticMACs, StaticMAC{MAC: macN(101), Port: "b"})
	r.reconf(cfg)
	r.requireFDB(0, macN(101), "b", true)
}

func TestMalformedFrames(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "t")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), trunk("t", 0, 10)))
	hdr := frame(bcast(), macN(1), -1)[:14]
	tagged := frame(bcast(), macN(2), 10)[:18]
	for _, tc := range []struct {
		name string
		in   string
		f    []byte
		drop string   // l2-input drop reason, or "" if forwarded
		want []string // receivers when forwarded
	}{
		{name: "empty", in: "a", f: []byte{}, drop: "runt"},
		{name: "one byte", in: "a", f: []byte{0xff}, drop: "runt"},
		{name: "13 bytes", in: "a", f: hdr[:13], drop: "runt"},
		{name: "13 bytes on trunk", in: "t", f: hdr[:13], drop: "runt"},
		{name: "bare header", in: "a", f: hdr, want: []string{"b", "t"}},
		{name: "tagged 14 bytes", in: "t", f: tagged[:14], drop: "runt"},
		{name: "tagged 17 bytes", in: "t", f: tagged[:17], drop: "runt"},
		{name: "802.1ad 17 bytes", in: "t", f: qinq(append([]byte(nil), tagged[:17]...)), drop: "runt"},
		{name: "tagged 17 bytes on access", in: "a", f: tagged[:17], drop: "runt"},
		{name: "bare tagged header", in: "t", f: tagged, want: []string{}}, // VLAN 10 has only t
		{name: "bare priority-tagged header", in: "a", f: append(append([]byte(nil), tagged[:14]...), 0, 0, 0x08, 0), want: []string{"b", "t"}},
		{name: "multicast source", in: "a", f: frame(macN(1), "01:00:5e:00:00:01", -1), drop: "src-mac-multicast"},
		{name: "broadcast source", in: "a", f: frame(macN(1), bcast(), -1), drop: "src-mac-multicast"},
		{name: "multicast source tagged", in: "t", f: frame(macN(1), "03:00:00:00:00:00", 10), drop: "src-mac-multicast"},
		{name: "zero source", in: "a", f: frame(bcast(), "00:00:00:00:00:00", -1), drop: "src-mac-zero"},
		{name: "source is destination", in: "a", f: frame(macN(7), macN(7), -1), drop: "src-mac-is-dst"},
		{name: "ethernet length field", in: "b", f: append(append([]byte(nil), hdr[:12]...), 0x00, 0x2e), want: []string{"a", "t"}},
		{name: "max size", in: "a", f: append(append([]byte(nil), hdr...), make([]byte, pipeline.MaxPacket-14)...), want: []string{"b", "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := allDrops(r.s)
			r.send(tc.in, tc.f)
			got := r.receivers()
			if tc.drop != "" {
				require.Empty(t, got)
				require.Equal(t, map[string]uint64{nodeL2Input + "/" + tc.drop: 1}, dropsSince(r.s, before))
				return
			}
			if len(tc.want) == 0 {
				require.Empty(t, got)
				require.Equal(t, map[string]uint64{nodeL2Flood + "/no-flood-port": 1}, dropsSince(r.s, before))
				return
			}
			require.Equal(t, tc.want, got)
			require.Empty(t, dropsSince(r.s, before))
		})
	}
	// The table learned nothing from dropped frames.
	r.requireFDB(0, "00:00:00:00:00:00", "", false)
	r.requireFDB(0, macN(7), "", false)
	r.requireFDB(0, "01:00:5e:00:00:01", "", false)
	r.requireFDB(0, bcast(), "", false)
}

// TestPortNotInBridge: an attached port that no bridge names is not polled;
// a frame that reaches l2-input from it anyway (a poll list published just
// before a reconfiguration) is dropped as "port-not-in-bridge".
func TestPortNotInBridge(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "x")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0)))
	r.send("x", frame(bcast(), macN(1), -1))
	require.Empty(t, r.receivers())
	require.Equal(t, 1, r.ports["x"].Pending())
	r.requireFDB(0, macN(1), "", false)

	w := r.s.Workers()[0]
	pool := w.Pool()
	entry, ok := r.s.graph.Index(nodeL2Input)
	require.True(t, ok)
	id, ok := pool.Alloc()
	require.True(t, ok)
	require.True(t, pool.SetPacket(id, frame(bcast(), macN(1), -1)))
	pool.Meta(id).InPort = r.s.attached["x"].idx
	w.Inject(entry, []pipeline.BufID{id})
	require.Empty(t, r.receivers())
	require.EqualValues(t, 1, dropCount(t, r.s, nodeL2Input, "port-not-in-bridge"))

	// Configured, x is polled and its waiting frame goes through.
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("x", 0)))
	r.s.Poll()
	require.Equal(t, []string{"a", "b"}, r.receivers())
	require.Zero(t, r.ports["x"].Pending())
}

// TestOutputPortGone: a frame whose output port went down between lookup and
// output is dropped by l2-output, and one to a port that no longer carries
// the VLAN too.
func TestOutputPortGone(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("c", 5)))
	w := r.s.Workers()[0]
	pool := w.Pool()
	entry, ok := r.s.graph.Index(nodeL2Output)
	require.True(t, ok)
	inject := func(out string, vlan, dom uint16) {
		id, ok := pool.Alloc()
		require.True(t, ok)
		require.True(t, pool.SetPacket(id, frame(macN(2), macN(1), -1)))
		m := pool.Meta(id)
		m.InPort, m.OutPort, m.VLAN, m.Domain = r.s.attached["a"].idx, r.s.attached[out].idx, vlan, dom
		w.Inject(entry, []pipeline.BufID{id})
	}
	dom0 := r.s.domIDs.ids[domKey{"br0", 0}]
	inject("b", 0, dom0)
	require.Equal(t, []string{"b"}, r.receivers())
	inject("c", 0, dom0)
	require.Empty(t, r.receivers())
	require.EqualValues(t, 1, dropCount(t, r.s, nodeL2Output, "vlan-mismatch"))
	r.reconf(oneBridge(acc("a", 0), acc("c", 5)))
	inject("b", 0, dom0)
	require.Empty(t, r.receivers())
	require.EqualValues(t, 1, dropCount(t, r.s, nodeL2Output, "port-down"))
}

// TestFloodPoolExhaustion floods a full vector when the pool has no buffer
// left for copies: every copy made is delivered, every one that could not be
// made is counted, and no buffer is lost.
func TestFloodPoolExhaustion(t *testing.T) {
	r := newL2Rig(t, Options{PoolFrames: pipeline.VectorSize})
	r.attach("a", "b", "c", "d")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0), acc("c", 0), acc("d", 0)))
	fs := make([][]byte, pipeline.VectorSize)
	for i := range fs {
		fs[i] = frame(bcast(), macN(1), -1)
	}
	r.send("a", fs...)
	got := r.recv()
	n := 0
	for p, f := range got {
		require.NotEqual(t, "a", p)
		n += len(f)
	}
	noBuf := dropCount(t, r.s, nodeL2Flood, "no-buffer")
	require.Positive(t, noBuf)
	require.GreaterOrEqual(t, n, pipeline.VectorSize, "each frame reaches at least one port")
	require.EqualValues(t, 3*pipeline.VectorSize, uint64(n)+noBuf)
	requireNoLeak(t, r.s)
}
