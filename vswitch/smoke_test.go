package vswitch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/ports/memport"
)

func TestSmoke(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a", "b", "c")
	require.NoError(t, r.s.Reconfigure(Config{Bridges: []Bridge{{Name: "br0", Ports: []Port{{Name: "a"}, {Name: "b"}, {Name: "c"}}}}}))
	r.send("a", frame(macN(2), macN(1), -1))
	require.Equal(t, []string{"b", "c"}, r.receivers())
	r.send("b", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"a"}, r.receivers())
	r.send("a", frame(macN(2), macN(1), -1))
	require.Equal(t, []string{"b"}, r.receivers())
}

func TestFDBAndStats(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a", "b")
	require.NoError(t, r.s.Reconfigure(Config{Bridges: []Bridge{{Name: "br0", Ports: []Port{{Name: "a"}, {Name: "b", Mode: Trunk, Trunks: []uint16{7}}},
		StaticMACs: []StaticMAC{{MAC: macN(9), VLAN: 7, Port: "b"}}}}}))
	r.send("a", frame(macN(2), macN(1), -1))
	r.clock.advance(3 * time.Second)
	r.s.Age()
	fdb := r.s.FDB()
	require.ElementsMatch(t, []FDBEntry{
		{Bridge: "br0", VLAN: 0, MAC: macN(1), Port: "a", AgeSeconds: 3},
		{Bridge: "br0", VLAN: 7, MAC: macN(9), Port: "b", Static: true},
	}, fdb)
	st := r.s.MACStats()
	require.Equal(t, 2, st.Entries)
	require.Equal(t, uint64(1), st.Learned)
	pc, ok := r.s.PortCounters("a")
	require.True(t, ok)
	require.Equal(t, uint64(1), pc.RxPackets)
	pb, _ := r.s.PortCounters("b")
	require.Equal(t, uint64(1), pb.TxPackets)
	_, ok = r.s.PortCounters("nope")
	require.False(t, ok)
}

func TestFlushFDB(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a", "b", "c")
	require.NoError(t, r.s.Reconfigure(Config{Bridges: []Bridge{
		{Name: "br0", Ports: []Port{{Name: "a"}, {Name: "b"}}, StaticMACs: []StaticMAC{{MAC: macN(7), Port: "b"}}},
		{Name: "br1", Ports: []Port{{Name: "c"}}}}}))
	r.send("a", frame(bcast(), macN(1), -1))
	r.send("c", frame(bcast(), macN(3), -1))
	r.recv()
	require.Len(t, r.s.FDB(), 3)
	require.NoError(t, r.s.FlushFDB("br0"))
	fdb := r.s.FDB()
	require.Len(t, fdb, 2, "br0's learned MAC is gone, its static one and br1's stay: %+v", fdb)
	require.Error(t, r.s.FlushFDB("nope"))
	require.NoError(t, r.s.FlushFDB(""))
	require.Len(t, r.s.FDB(), 1)
}

func TestQueuePlacement(t *testing.T) {
	r := newRig(t, Options{Workers: 2})
	mk := func(name string, q int) *memport.Port {
		p, err := memport.New(memport.Config{Name: name, RxQueues: q, TxQueues: q})
		require.NoError(t, err)
		return p
	}
	require.NoError(t, r.s.AddPort(mk("a", 3)))
	require.NoError(t, r.s.AddPort(mk("b", 3)))
	require.NoError(t, r.s.AddPortWith(mk("c", 2), AttachOptions{RxAffinity: map[int]int{0: 1, 1: 0}}))
	require.ErrorIs(t, r.s.AddPortWith(mk("d", 2), AttachOptions{RxAffinity: map[int]int{0: 1, 1: 1}}), ErrAffinity,
		"worker 0 would have no queue to transmit on")
	require.ErrorIs(t, r.s.AddPortWith(mk("e", 2), AttachOptions{RxAffinity: map[int]int{5: 1}}), ErrAffinity)
	require.ErrorIs(t, r.s.AddPortWith(mk("f", 2), AttachOptions{RxAffinity: map[int]int{0: 7}}), ErrAffinity)
	ws := r.s.WorkerInfos()
	require.Equal(t, 8, ws[0].RxQueues+ws[1].RxQueues)
	require.Equal(t, 4, ws[0].RxQueues, "rotation by port index balances 3-queue ports over 2 workers")
	for _, p := range r.s.Ports() {
		if p.Name == "c" {
			require.Equal(t, []QueueInfo{{0, 1}, {1, 0}}, p.RxQueues)
		}
	}
}

// TestAddPortDeferred: a port attached with Deferred is not polled until
// the next Reconfigure publishes it, even when the configuration names it
// already, and is polled from then on.
func TestAddPortDeferred(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a", "b")
	cfg := Config{Bridges: []Bridge{{Name: "br0", Ports: []Port{{Name: "a"}, {Name: "b"}, {Name: "c"}}}}}
	require.NoError(t, r.s.Reconfigure(cfg))
	c, err := memport.New(memport.Config{Name: "c", RxQueues: 1, TxQueues: 1})
	require.NoError(t, err)
	require.NoError(t, r.s.AddPortWith(c, AttachOptions{Deferred: true}))
	r.ports["c"] = c
	r.send("c", frame(bcast(), macN(3), -1))
	require.Empty(t, r.receivers(), "not published: c is not polled")
	require.NoError(t, r.s.Reconfigure(cfg))
	r.s.Poll()
	require.Equal(t, []string{"a", "b"}, r.receivers(), "published: the frame waiting on c is flooded")
}
