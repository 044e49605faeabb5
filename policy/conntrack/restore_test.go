package conntrack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRestore: flows walked out of one table and restored into another
// (a hitless restart) keep their keys, translation, TCP state, reply
// flag, mark, label and age: the next packet of each, in either
// direction, is established in the new table, and the flow expires on
// the same schedule.
func TestRestore(t *testing.T) {
	a := newRig(t, Config{})
	// A TCP connection, established.
	a.expect(tcpPkt(t, "10.0.0.1", "10.0.0.2", 1000, 80, fSYN), StateNew, Original, TCPSynSent)
	a.expect(tcpPkt(t, "10.0.0.2", "10.0.0.1", 80, 1000, fSYN|fACK), StateEstablished, Reply, TCPSynRecv)
	a.expect(tcpPkt(t, "10.0.0.1", "10.0.0.2", 1000, 80, fACK), StateEstablished, Original, TCPEstablished)
	// A translated UDP flow (masquerade: the reply comes to 192.0.2.1:40000).
	a.w.Track(&a.p, udpPkt(t, "10.0.0.1", "198.51.100.7", 5353, 53), 1, a.now)
	reply := key("198.51.100.7", "192.0.2.1", 53, 40000, protoUDP, 1)
	res := a.w.Commit(&a.p, &reply, a.now, 7)
	require.NotZero(t, res.Conn)
	a.tab.SetLabel(res.Conn, 99)

	var flows []Flow
	a.tab.Walk(func(f *Flow) bool { flows = append(flows, *f); return true })
	require.Len(t, flows, 2)

	b := newRig(t, Config{})
	b.now = 50 // another process: another clock
	for _, f := range flows {
		age := a.now - f.LastSeen
		require.True(t, b.w.Restore(&f, b.now-age), "%v", f.Orig)
	}
	var got []Flow
	b.tab.Walk(func(f *Flow) bool { got = append(got, *f); return true })
	require.Len(t, got, 2)
	for i := range got {
		got[i].Conn, flows[i].Conn = 0, 0
		got[i].LastSeen, flows[i].LastSeen = 0, 0
	}
	require.ElementsMatch(t, flows, got)

	b.expect(tcpPkt(t, "10.0.0.2", "10.0.0.1", 80, 1000, fACK), StateEstablished, Reply, TCPEstablished)
	r := b.w.Track(&b.p, udpPkt(t, "198.51.100.7", "192.0.2.1", 53, 40000), 1, b.now)
	require.Equal(t, StateEstablished, r.State, "the translated reply finds its flow")
	require.Equal(t, Reply, r.Dir)
	require.Equal(t, uint32(7), b.tab.Mark(r.Conn))
	require.Equal(t, uint64(99), b.tab.Label(r.Conn))

	// A restored flow's key in use: refused, nothing changes.
	require.False(t, b.w.Restore(&flows[0], b.now))
}
