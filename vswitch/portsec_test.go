package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSpoofedSourceIsDestination: a frame whose source is its own
// destination (another container's MAC) is dropped and counted, and the
// victim's MAC stays on the victim's port.
func TestSpoofedSourceIsDestination(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("victim", "bad", "c")
	r.reconf(oneBridge(acc("victim", 0), acc("bad", 0), acc("c", 0)))
	r.send("victim", frame(bcast(), macN(1), -1))
	r.recv()
	r.requireFDB(0, macN(1), "victim", false)

	before := allDrops(r.s)
	r.send("bad", frame(macN(1), macN(1), -1))
	r.s.SyncLearning()
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-mac-is-dst": 1}, dropsSince(r.s, before))
	r.requireFDB(0, macN(1), "victim", false)
	r.send("c", frame(macN(1), macN(3), -1))
	require.Equal(t, []string{"victim"}, r.receivers())
}

// TestZeroSourceMAC: 00:00:00:00:00:00 is never learned; such frames are
// dropped and counted like multicast sources.
func TestZeroSourceMAC(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0)))
	before := allDrops(r.s)
	r.send("a", frame(bcast(), "00:00:00:00:00:00", -1), frame(macN(2), "00:00:00:00:00:00", -1))
	r.s.SyncLearning()
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-mac-zero": 2}, dropsSince(r.s, before))
	r.requireFDB(0, "00:00:00:00:00:00", "", false)
	require.Empty(t, r.s.FDB())
}

// TestStaticMACRefusesGroupAndZero: a static MAC is a unicast, non-zero
// address.
func TestStaticMACRefusesGroupAndZero(t *testing.T) {
	for _, mac := range []string{"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01"} {
		cfg := oneBridge(acc("a", 0))
		cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: mac, Port: "a"}}
		err := cfg.Validate()
		require.ErrorIs(t, err, ErrInvalidConfig, mac)
		require.Contains(t, err.Error(), "bridges[br0].static_macs[0].mac", mac)
	}
}
