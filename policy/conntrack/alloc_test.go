package conntrack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAllocations: Parse, Track (hit, miss, related, invalid), Commit
// (into free room and into a full table, evicting), TrackBatch and
// PrepareCommits allocate nothing.
func TestAllocations(t *testing.T) {
	tab := newTable(t, Config{Capacity: 64})
	w := tab.NewWorker()
	syn := tcpPkt(t, "10.0.0.1", "10.0.0.2", 1, 2, fSYN)
	synack := tcpPkt(t, "10.0.0.2", "10.0.0.1", 2, 1, fSYN|fACK)
	v6 := raw6("2001:db8::1", "2001:db8::2", []ext6{hbh(), dstopts(), frag6(0, true)}, protoUDP, []byte{0, 1, 0, 2, 0, 8, 0, 0})
	errp := icmpErr(t, "192.0.2.1", "10.0.0.1", syn)
	udp := udpPkt(t, "10.0.0.1", "10.0.0.2", 0, 53)
	var p Packet
	now := uint32(1)
	w.Track(&p, syn, 0, now)
	w.Commit(&p, nil, now, 0)
	ps := make([]Packet, 5)
	res := make([]Result, 5)
	port := uint16(0)
	allocs := testing.AllocsPerRun(1000, func() {
		Parse(&p, v6, 0)
		w.Track(&p, synack, 0, now) // hit
		w.Track(&p, errp, 0, now)   // related
		port++
		udp[20], udp[21] = byte(port>>8), byte(port)
		if w.Track(&p, udp, 0, now).Conn == 0 { // miss, then new: the table fills and evicts
			w.Commit(&p, nil, now, 0)
		}
		for i, b := range [][]byte{syn, synack, v6, errp, udp} {
			Parse(&ps[i], b, 0)
		}
		ps[4].Key.Zone = 1 // a new flow: udp's other zone
		w.TrackBatch(ps, res, now)
		w.PrepareCommits(ps, res)
		now++
	})
	require.Zero(t, allocs)
	w.Publish()
	require.NotZero(t, tab.Counters().Evicted+tab.Counters().Expired)
}
