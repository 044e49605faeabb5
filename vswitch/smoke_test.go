package vswitch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
