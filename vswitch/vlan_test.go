package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
)

// vlanRig is a bridge with access ports in VLANs 0, 10 and 20, a trunk with
// native VLAN 0 and one with native VLAN 20.
func vlanRig(t *testing.T) *rig {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c", "u", "t", "n")
	r.reconf(oneBridge(acc("a", 10), acc("b", 10), acc("c", 20), acc("u", 0), trunk("t", 0, 10, 20), trunk("n", 20, 10)))
	return r
}

func TestVLANs(t *testing.T) {
	r := vlanRig(t)
	type want map[string]int // receiving port -> VID it sees, -1 untagged
	for i, tc := range []struct {
		name string
		in   string
		vlan int // -1 untagged
		ad   bool
		want want
		drop string // l2-input drop reason
	}{
		{name: "access untagged", in: "a", vlan: -1, want: want{"b": -1, "t": 10, "n": 10}},
		{name: "access priority-tagged", in: "a", vlan: 0, want: want{"b": -1, "t": 10, "n": 10}},
		{name: "access 802.1ad priority-tagged", in: "b", vlan: 0, ad: true, want: want{"a": -1, "t": 10, "n": 10}},
		{name: "access VLAN 20", in: "c", vlan: -1, want: want{"t": 20, "n": -1}},
		{name: "access VLAN 0", in: "u", vlan: -1, want: want{"t": -1}},
		{name: "access VLAN 0 priority-tagged", in: "u", vlan: 0, want: want{"t": -1}},
		{name: "trunk tagged 10", in: "t", vlan: 10, want: want{"a": -1, "b": -1, "n": 10}},
		{name: "trunk tagged 20", in: "t", vlan: 20, want: want{"c": -1, "n": -1}},
		{name: "trunk 802.1ad tagged 20", in: "t", vlan: 20, ad: true, want: want{"c": -1, "n": -1}},
		{name: "trunk untagged is native", in: "t", vlan: -1, want: want{"u": -1}},
		{name: "trunk priority-tagged is native", in: "t", vlan: 0, want: want{"u": -1}},
		{name: "native-20 trunk untagged", in: "n", vlan: -1, want: want{"c": -1, "t": 20}},
		{name: "native-20 trunk tagged native", in: "n", vlan: 20, want: want{"c": -1, "t": 20}},
		{name: "native-20 trunk tagged 10", in: "n", vlan: 10, want: want{"a": -1, "b": -1, "t": 10}},
		{name: "trunk VLAN not carried", in: "t", vlan: 30, drop: "vlan-not-allowed"},
		{name: "native-20 trunk VLAN not carried", in: "n", vlan: 1, drop: "vlan-not-allowed"},
		{name: "native-20 trunk VLAN 4094", in: "n", vlan: 4094, drop: "vlan-not-allowed"},
		{name: "access tagged with its VLAN", in: "a", vlan: 10, drop: "tagged-on-access-port"},
		{name: "access tagged other VLAN", in: "a", vlan: 20, drop: "tagged-on-access-port"},
		{name: "access VLAN 0 tagged", in: "u", vlan: 5, drop: "tagged-on-access-port"},
		{name: "access 802.1ad tagged", in: "c", vlan: 20, ad: true, drop: "tagged-on-access-port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := macN(100 + i)
			f := frame(bcast(), src, tc.vlan)
			if tc.ad {
				f = qinq(f)
			}
			untagged := frame(bcast(), src, -1)
			before := allDrops(r.s)
			r.send(tc.in, f)
			got := r.recv()
			if tc.drop != "" {
				require.Empty(t, got)
				require.Equal(t, map[string]uint64{nodeL2Input + "/" + tc.drop: 1}, dropsSince(r.s, before))
				return
			}
			require.Empty(t, dropsSince(r.s, before))
			require.Len(t, got, len(tc.want), "receivers %v", keys(got))
			for p, vid := range tc.want {
				require.Len(t, got[p], 1, "port %s", p)
				d := decode(t, got[p][0])
				require.Equal(t, decoded{dst: bcast(), src: src, vlan: vid, ipOK: true}, d, "port %s", p)
				if vid < 0 {
					require.Equal(t, untagged, got[p][0], "port %s", p)
				} else {
					require.Equal(t, frame(bcast(), src, vid), got[p][0], "port %s", p)
				}
			}
		})
	}
}

func TestVLANUnicast(t *testing.T) {
	r := vlanRig(t)
	r.send("a", frame(bcast(), macN(1), -1)) // VLAN 10 behind a
	r.send("t", frame(bcast(), macN(2), 10)) // VLAN 10 behind t
	r.send("n", frame(bcast(), macN(3), -1)) // VLAN 20 (native) behind n
	r.recv()
	r.requireFDB(10, macN(1), "a", false)
	r.requireFDB(10, macN(2), "t", false)
	r.requireFDB(20, macN(3), "n", false)

	r.send("t", frame(macN(1), macN(2), 10)) // pop
	got := r.recv()
	require.Equal(t, []string{"a"}, keys(got))
	require.Equal(t, frame(macN(1), macN(2), -1), got["a"][0])

	r.send("a", frame(macN(2), macN(1), -1)) // push
	got = r.recv()
	require.Equal(t, []string{"t"}, keys(got))
	require.Equal(t, frame(macN(2), macN(1), 10), got["t"][0])

	r.send("t", frame(macN(3), macN(4), 20)) // tagged in, native (untagged) out
	got = r.recv()
	require.Equal(t, []string{"n"}, keys(got))
	require.Equal(t, frame(macN(3), macN(4), -1), got["n"][0])

	r.send("n", frame(macN(4), macN(3), 20)) // native VID tagged in, tagged out
	got = r.recv()
	require.Equal(t, []string{"t"}, keys(got))
	require.Equal(t, frame(macN(4), macN(3), 20), got["t"][0])

	// macN(1) is not in VLAN 20: flooded there, never to a.
	r.send("c", frame(macN(1), macN(5), -1))
	require.Equal(t, []string{"n", "t"}, r.receivers())
}

// TestVLANLearningDomains: each VLAN of a bridge learns on its own, so one
// MAC may sit behind different ports in different VLANs.
func TestVLANLearningDomains(t *testing.T) {
	r := vlanRig(t)
	r.send("a", frame(bcast(), macN(1), -1)) // VLAN 10
	r.send("c", frame(bcast(), macN(1), -1)) // VLAN 20
	r.send("u", frame(bcast(), macN(1), -1)) // VLAN 0
	r.recv()
	r.requireFDB(10, macN(1), "a", false)
	r.requireFDB(20, macN(1), "c", false)
	r.requireFDB(0, macN(1), "u", false)
	require.Zero(t, r.s.lrn.moved.Load())

	r.send("t", frame(macN(1), macN(2), 10))
	require.Equal(t, []string{"a"}, r.receivers())
	r.send("t", frame(macN(1), macN(2), 20))
	require.Equal(t, []string{"c"}, r.receivers())
	r.send("t", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"u"}, r.receivers())
	r.send("n", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"c"}, r.receivers())
	r.send("n", frame(macN(1), macN(2), 10))
	require.Equal(t, []string{"a"}, r.receivers())
	// macN(2) was learned on t in VLANs 10, 20 and 0 and on n in 20 and 10.
	r.requireFDB(0, macN(2), "t", false)
	r.requireFDB(20, macN(2), "n", false)
	r.requireFDB(10, macN(2), "n", false)
	require.EqualValues(t, 2, r.s.lrn.moved.Load())
}

// TestTrunkVID4095 sends a frame tagged with the reserved VID 4095 to a
// trunk. It must be dropped as a VLAN the trunk does not carry.
func TestTrunkVID4095(t *testing.T) {
	r := vlanRig(t)
	f := frame(bcast(), macN(1), 4095)
	require.Equal(t, 4095, decode(t, f).vlan)
	before := allDrops(r.s)
	r.send("t", f)
	require.Empty(t, r.receivers())
	require.Equal(t, map[string]uint64{nodeL2Input + "/vlan-not-allowed": 1}, dropsSince(r.s, before))
	r.send("a", f) // on an access port it is simply tagged
	require.EqualValues(t, 1, dropCount(t, r.s, nodeL2Input, "tagged-on-access-port"))
}

// maxFrame is an untagged frame of the largest size a port receives.
func maxFrame(dst, src string) []byte {
	f := frame(dst, src, -1)
	return append(f, make([]byte, pipeline.MaxPacket-len(f))...)
}

// TestTagPushOnMaxSizeFrame sends a frame of pipeline.MaxPacket bytes from
// an access port to a trunk, which must tag it: the tagged frame is 4 bytes
// longer than a memory port sends (its MaxFrame), so l2-output drops it as
// too-big, never truncating it, while the access port gets the frame.
func TestTagPushOnMaxSizeFrame(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "t")
	r.reconf(oneBridge(acc("a", 10), acc("b", 10), trunk("t", 0, 10)))
	f := maxFrame(bcast(), macN(1))
	before := allDrops(r.s)
	r.send("a", f)
	got := r.recv()
	require.Equal(t, [][]byte{f}, got["b"])
	require.NotContains(t, got, "t")
	require.Equal(t, map[string]uint64{nodeL2Output + "/too-big": 1}, dropsSince(r.s, before))
	// One byte less than the limit with the tag fits.
	r.send("a", f[:len(f)-vlanTagLen])
	got = r.recv()
	require.Len(t, got["t"], 1)
	require.Len(t, got["t"][0], pipeline.MaxPacket)
	require.Equal(t, 10, decode(t, got["t"][0]).vlan)
}
