package conntrack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPrepareCommits: PrepareCommits, between TrackBatch and the commits
// of a vector that mixes hits, new flows of every kind, invalid packets
// and related ones, changes nothing (counters, flows, results), and the
// commits after it create every new flow under both its keys.
func TestPrepareCommits(t *testing.T) {
	tab := newTable(t, Config{Capacity: 4096})
	w := tab.NewWorker()
	now := uint32(1)
	var p Packet
	for i := range 100 { // established flows 10.0.0.1:i > 10.0.1.1:80
		Parse(&p, tcpPkt(t, "10.0.0.1", "10.0.1.1", uint16(1000+i), 80, fSYN), 0)
		require.NotZero(t, w.Commit(&p, nil, now, 0).Conn)
	}
	old := tcpPkt(t, "10.0.0.1", "10.0.1.1", 1000, 80, fSYN)
	var frames [][]byte
	for i := range 40 {
		frames = append(frames,
			tcpPkt(t, "10.0.1.1", "10.0.0.1", 80, uint16(1000+i), fSYN|fACK), // hit (reply)
			tcpPkt(t, "10.0.0.2", "10.0.1.1", uint16(2000+i), 443, fSYN),     // new TCP
			udpPkt(t, "10.0.0.3", "10.0.1.1", uint16(3000+i), 53),            // new UDP
			echoPkt(t, "10.0.0.4", "10.0.1.1", uint16(i), false),             // new ICMP query
			tcpPkt(t, "10.0.0.5", "10.0.1.1", uint16(4000+i), 443, fACK),     // no SYN: invalid
			echoPkt(t, "10.0.0.6", "10.0.1.1", uint16(i), true),              // echo reply, no flow: invalid
			icmpErr(t, "192.0.2.1", "10.0.0.1", old),                         // related
		)
	}
	require.Greater(t, len(frames), BatchSize) // two chunks
	ps, res := make([]Packet, len(frames)), make([]Result, len(frames))
	for i, f := range frames {
		Parse(&ps[i], f, 7)
	}
	w.TrackBatch(ps, res, now)
	before, n, wn := tab.Counters(), tab.Len(), w.n
	resBefore := append([]Result(nil), res...)
	psBefore := append([]Packet(nil), ps...)
	w.PrepareCommits(ps, res)
	w.Publish()
	require.Equal(t, before, tab.Counters(), "counters")
	require.Equal(t, wn, w.n, "the worker's counts")
	require.Equal(t, n, tab.Len(), "flows")
	require.Equal(t, resBefore, res, "results")
	require.Equal(t, psBefore, ps, "packets")

	created := 0
	for i := range ps {
		if res[i].State != StateNew || res[i].Conn != 0 {
			continue
		}
		c := w.Commit(&ps[i], nil, now, 0)
		require.NotZero(t, c.Conn, "packet %d", i)
		created++
		rev, d, ok := tab.Lookup(ps[i].Key.Reverse())
		require.True(t, ok, "packet %d: reply key", i)
		require.Equal(t, c.Conn, rev)
		require.Equal(t, Reply, d)
	}
	require.Equal(t, 3*40, created, "new TCP, UDP and ICMP flows")
}

// TestPrepareCommitsMissBase: TrackBatch notes where its misses begin,
// so that after a vector in which every packet hit PrepareCommits
// returns at once (a vector of established flows pays one compare), and
// after one with a miss it looks.
func TestPrepareCommitsMissBase(t *testing.T) {
	tab := newTable(t, Config{Capacity: 64})
	w := tab.NewWorker()
	var p Packet
	Parse(&p, udpPkt(t, "10.0.0.1", "10.0.1.1", 5, 53), 0)
	require.NotZero(t, w.Commit(&p, nil, 1, 0).Conn)
	ps, res := make([]Packet, 8), make([]Result, 8)
	for i := range ps {
		ps[i] = p
	}
	for range 2 {
		w.TrackBatch(ps, res, 1)
		require.Equal(t, w.missBase, w.n.misses, "every packet hit")
	}
	ps[3].Key.SrcPort++
	w.TrackBatch(ps, res, 1)
	require.Equal(t, w.missBase+1, w.n.misses, "one miss")
	require.Equal(t, StateNew, res[3].State)
	require.Zero(t, res[3].Conn)
}
