package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// wrapInPriorityTag puts an 802.1Q priority tag (VID 0, PCP 5) in front
// of tagged frame b's tag.
func wrapInPriorityTag(b []byte) []byte {
	out := append([]byte(nil), b[:12]...)
	out = append(out, 0x81, 0x00, 0xa0, 0x00)
	return append(out, b[12:]...)
}

// TestPriorityTagWrappingTag: a priority tag (VID 0) around a VLAN tag is
// dropped, on an access port (it was popped and the frame left a trunk
// whose native VLAN is untagged as VLAN 5 traffic: VLAN hopping) and on a
// trunk; a plain priority tag is still popped, and a trunk's tagged frame
// of a VLAN it carries keeps an inner tag as payload (QinQ).
func TestPriorityTagWrappingTag(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "t", "t2", "v5")
	r.reconf(oneBridge(acc("a", 0), trunk("t", 0, 5), trunk("t2", 0, 5), acc("v5", 5)))

	for _, ad := range []bool{false, true} {
		hop := wrapInPriorityTag(frame(bcast(), macN(1), 5))
		if ad { // the inner tag 802.1ad
			hop[16], hop[17] = 0x88, 0xa8
		}
		before := allDrops(r.s)
		r.send("a", hop)
		require.Empty(t, r.recv(), "802.1ad inner %v: nothing leaves, least of all as VLAN 5", ad)
		require.Equal(t, map[string]uint64{nodeL2Input + "/tagged-on-access-port": 1}, dropsSince(r.s, before))

		before = allDrops(r.s)
		r.send("t", wrapInPriorityTag(frame(bcast(), macN(2), 5)))
		require.Empty(t, r.recv())
		require.Equal(t, map[string]uint64{nodeL2Input + "/tag-in-priority-tag": 1}, dropsSince(r.s, before))
	}

	// A priority-tagged frame still belongs to the port's VLAN, untagged.
	pri := frame(bcast(), macN(1), 0)
	r.send("a", pri)
	got := r.recv()
	require.ElementsMatch(t, []string{"t", "t2"}, keys(got))
	require.Equal(t, frame(bcast(), macN(1), -1), got["t"][0])

	// QinQ payload in a VLAN the trunk carries: switched in VLAN 5 as is.
	qinq := frame(bcast(), macN(2), 7)
	qinq = append(append(append([]byte(nil), qinq[:12]...), 0x81, 0x00, 0x00, 0x05), qinq[12:]...)
	r.send("t", qinq)
	got = r.recv()
	require.ElementsMatch(t, []string{"t2", "v5"}, keys(got))
	require.Equal(t, qinq, got["t2"][0], "tag 5 pushed back, tag 7 inside")
	require.Equal(t, frame(bcast(), macN(2), 7), got["v5"][0], "tag 5 popped, tag 7 is payload")
}
