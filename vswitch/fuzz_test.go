package vswitch

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// fuzzSeedFrames are valid and edge-case frames for the seed corpora.
func fuzzSeedFrames() [][]byte {
	tagged := frame(bcast(), macN(2), 10)
	return [][]byte{
		nil,
		{0xff},
		frame(bcast(), macN(1), -1)[:13],
		frame(bcast(), macN(1), -1)[:14],
		frame(macN(2), macN(1), -1),
		frame("01:00:5e:00:00:01", macN(1), -1),
		frame(macN(1), "01:00:5e:00:00:01", -1),
		frame(bcast(), macN(1), 0),
		tagged,
		tagged[:17],
		tagged[:18],
		frame(macN(1), macN(2), 20),
		frame(macN(1), macN(2), 30),
		frame(macN(1), macN(2), 4094),
		qinq(frame(macN(1), macN(2), 20)),
		qinq(frame(macN(1), macN(2), 0))[:18],
		append(append([]byte(nil), tagged[:16]...), 0x81, 0x00, 0x00, 0x14, 0x08, 0x00), // double tag
		append(append([]byte(nil), tagged[:12]...), 0x00, 0x2e),                         // 802.3 length
		append(frame(bcast(), macN(3), -1), make([]byte, 1500)...),
	}
}

// FuzzParseL2 checks that parseL2 never panics and that it reads what
// gopacket reads: MACs, the outer 802.1Q/802.1ad tag's VID and the
// EtherType after it, and that it accepts exactly the frames gopacket can
// decode that far.
func FuzzParseL2(f *testing.F) {
	for _, b := range fuzzSeedFrames() {
		f.Add(b)
	}
	f.Add(qinq(frame(macN(1), macN(2), 4095)))
	f.Fuzz(func(t *testing.T, b []byte) {
		b = b[:len(b):len(b)] // any read past the end panics
		h, ok := parseL2(b)

		var eth layers.Ethernet
		if err := eth.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
			require.False(t, ok, "parseL2 accepted what gopacket refuses (%v)", err)
			require.Less(t, len(b), ethHdrLen)
			return
		}
		raw := binary.BigEndian.Uint16(b[12:14])
		if raw >= 0x0600 { // below, gopacket reads an 802.3 length
			require.EqualValues(t, raw, eth.EthernetType)
		}
		var q layers.Dot1Q
		var qErr error
		isTag := eth.EthernetType == layers.EthernetTypeDot1Q || eth.EthernetType == layers.EthernetTypeQinQ
		if isTag {
			qErr = q.DecodeFromBytes(eth.Payload, gopacket.NilDecodeFeedback)
		}
		require.Equal(t, !isTag || qErr == nil, ok, "parseL2 ok=%v, gopacket tag error %v", ok, qErr)
		if !ok {
			return
		}
		require.Equal(t, eth.DstMAC.String(), hw(h.dst).String())
		require.Equal(t, eth.SrcMAC.String(), hw(h.src).String())
		require.Equal(t, isTag, h.tagged)
		require.Equal(t, isGroup(h.dst), eth.DstMAC[0]&1 != 0)
		if isTag {
			require.Equal(t, q.VLANIdentifier, h.vid)
			require.EqualValues(t, q.Type, h.etherType)
			require.Equal(t, tagVID(b), h.vid)
		} else {
			require.Zero(t, h.vid)
			require.Equal(t, raw, h.etherType)
		}

		// A full decode agrees on whether there is a tag.
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		_, hasTag := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
		require.Equal(t, h.tagged, hasTag)
	})
}

func hw(m uint64) net.HardwareAddr {
	return net.HardwareAddr{byte(m >> 40), byte(m >> 32), byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}

// fuzzPorts is the bridge FuzzL2Input drives: VLAN 0 on a and t, VLAN 10 on
// b, t (tagged) and n (native), VLAN 20 tagged on t and n.
var fuzzPorts = []Port{acc("a", 0), acc("b", 10), trunk("t", 0, 10, 20), trunk("n", 10, 20)}

func carriesVLAN(p Port, v uint16) bool {
	return p.VLAN == v || p.Mode == Trunk && slices.Contains(p.Trunks, v)
}

// l2Expect is what the switch should do with one frame on one port.
type l2Expect struct {
	drop  string // "node/reason", or "" when the frame is switched
	vlan  uint16
	src   uint64
	dst   uint64
	inner []byte // the frame with its outer tag removed
}

// expectL2 classifies a frame received on port p, independently of the
// nodes: runts, multicast, zero and source-is-destination sources, tags on access ports and VLANs a trunk
// does not carry are dropped; anything else belongs to a VLAN.
func expectL2(p Port, b []byte) l2Expect {
	if len(b) < 14 {
		return l2Expect{drop: nodeL2Input + "/runt"}
	}
	et := binary.BigEndian.Uint16(b[12:14])
	tagged := et == 0x8100 || et == 0x88a8
	if tagged && len(b) < 18 {
		return l2Expect{drop: nodeL2Input + "/runt"}
	}
	e := l2Expect{vlan: p.VLAN, dst: mac48(b[0:6]), src: mac48(b[6:12]), inner: b}
	if b[6]&1 != 0 {
		return l2Expect{drop: nodeL2Input + "/src-mac-multicast"}
	}
	if e.src == 0 {
		return l2Expect{drop: nodeL2Input + "/src-mac-zero"}
	}
	if e.src == e.dst {
		return l2Expect{drop: nodeL2Input + "/src-mac-is-dst"}
	}
	if !tagged {
		return e
	}
	if vid := binary.BigEndian.Uint16(b[14:16]) & 0xfff; vid != 0 {
		if p.Mode != Trunk {
			return l2Expect{drop: nodeL2Input + "/tagged-on-access-port"}
		}
		if !carriesVLAN(p, vid) {
			return l2Expect{drop: nodeL2Input + "/vlan-not-allowed"}
		}
		e.vlan = vid
	} else if it := binary.BigEndian.Uint16(b[16:18]); it == 0x8100 || it == 0x88a8 {
		// A priority tag around another tag (VLAN hopping).
		if p.Mode != Trunk {
			return l2Expect{drop: nodeL2Input + "/tagged-on-access-port"}
		}
		return l2Expect{drop: nodeL2Input + "/tag-in-priority-tag"}
	}
	e.inner = append(append([]byte(nil), b[:12]...), b[16:]...)
	return e
}

// egress is the frame port p should transmit for e.
func (e l2Expect) egress(p Port) []byte {
	if p.Mode != Trunk || e.vlan == p.VLAN {
		return e.inner
	}
	out := append([]byte(nil), e.inner[:12]...)
	out = append(out, 0x81, 0x00, byte(e.vlan>>8), byte(e.vlan))
	return append(out, e.inner[12:]...)
}

// portNamed returns the fuzz port called n.
func portNamed(n string) Port {
	for _, p := range fuzzPorts {
		if p.Name == n {
			return p
		}
	}
	panic("no fuzz port " + n)
}

// FuzzL2Input sends two arbitrary frames, each on any of an access port
// (VLAN 0 or 10) and two trunks, through a switch whose table starts empty.
// Nothing may panic or leak a buffer, and the switch must do exactly what
// expectL2 and the learning rules say: the first frame is flooded to every
// other port of its VLAN, the second goes only where the first frame's
// source was learned if it is addressed there, and every transmitted frame
// is the received one with its tag popped, and pushed again for trunks.
func FuzzL2Input(f *testing.F) {
	seeds := fuzzSeedFrames()
	for i, a := range seeds {
		f.Add(uint8(i), a, uint8(i+1), seeds[(i+5)%len(seeds)])
	}
	f.Add(uint8(0), frame(bcast(), macN(1), -1), uint8(1), frame(macN(1), macN(2), -1)) // a, then b: other VLAN, flooded
	f.Add(uint8(1), frame(bcast(), macN(1), -1), uint8(3), frame(macN(1), macN(2), -1)) // n to b, learned in VLAN 10
	f.Add(uint8(2), frame(bcast(), macN(1), 20), uint8(3), frame(macN(1), macN(2), 20)) // n to t in VLAN 20
	f.Add(uint8(3), frame(bcast(), macN(1), 10), uint8(3), frame(macN(1), macN(2), -1)) // native VID tagged, then to itself
	f.Add(uint8(2), frame(bcast(), macN(1), 4095), uint8(0), frame(bcast(), macN(1), 4095))
	f.Add(uint8(1), maxFrame(bcast(), macN(1)), uint8(0), maxFrame(macN(1), macN(2))) // b to t: tag pushed
	hop := append(append(append([]byte(nil), frame(bcast(), macN(1), -1)[:12]...), 0x81, 0x00, 0x00, 0x00, 0x81, 0x00, 0x00, 0x14), frame(bcast(), macN(1), -1)[12:]...)
	f.Add(uint8(0), hop, uint8(2), hop) // a priority tag around VLAN 20's: access and trunk

	c := newFakeClock()
	s, err := New(Options{Clock: c.now, PoolFrames: pipeline.VectorSize})
	require.NoError(f, err)
	f.Cleanup(func() { s.Close() })
	r := &rig{s: s, clock: c, ports: map[string]*memport.Port{}}
	for _, p := range fuzzPorts {
		mp, err := memport.New(memport.Config{Name: p.Name, RingSize: 16})
		require.NoError(f, err)
		require.NoError(f, s.AddPort(mp))
		r.ports[p.Name] = mp
	}
	require.NoError(f, s.Reconfigure(oneBridge(fuzzPorts...)))

	f.Fuzz(func(t *testing.T, in1 uint8, f1 []byte, in2 uint8, f2 []byte) {
		r.t = t
		// Age out whatever an earlier input taught the switch.
		r.clock.advance((DefaultMACAge + 1) * time.Second)
		r.s.Age()
		require.Zero(t, r.s.lrn.macs.Load().count, "the table was not emptied")

		p1, p2 := fuzzPorts[int(in1)%len(fuzzPorts)], fuzzPorts[int(in2)%len(fuzzPorts)]
		f1, f2 = f1[:min(len(f1), pipeline.MaxPacket)], f2[:min(len(f2), pipeline.MaxPacket)]
		e1 := expectL2(p1, f1)
		var learnedVLAN uint16
		var learnedMAC uint64
		learnedOn := ""
		if e1.drop == "" {
			learnedVLAN, learnedMAC, learnedOn = e1.vlan, e1.src, p1.Name
		}
		fuzzSendAndCheck(t, r, p1, f1, e1, "", 0, 0)
		fuzzSendAndCheck(t, r, p2, f2, expectL2(p2, f2), learnedOn, learnedVLAN, learnedMAC)
	})
}

// fuzzSendAndCheck sends b on port p and checks the outcome against e, given
// the one MAC the table may hold (learnedMAC in learnedVLAN behind port
// learnedOn, if learnedOn is not "").
func fuzzSendAndCheck(t *testing.T, r *rig, p Port, b []byte, e l2Expect, learnedOn string, learnedVLAN uint16, learnedMAC uint64) {
	t.Helper()
	before := allDrops(r.s)
	r.send(p.Name, b)
	got := r.recv()
	drops := dropsSince(r.s, before)
	requireNoLeak(t, r.s)
	require.Zero(t, r.ports[p.Name].Pending())

	if e.drop != "" {
		require.Empty(t, got, "dropped frame was transmitted")
		require.Equal(t, map[string]uint64{e.drop: 1}, drops)
		return
	}
	var want []string
	switch {
	case !isGroup(e.dst) && learnedOn != "" && e.vlan == learnedVLAN && e.dst == learnedMAC:
		if learnedOn == p.Name {
			require.Empty(t, got)
			require.Equal(t, map[string]uint64{nodeL2Fwd + "/dst-on-ingress-port": 1}, drops)
			return
		}
		want = []string{learnedOn}
	default:
		for _, q := range fuzzPorts {
			if q.Name != p.Name && carriesVLAN(q, e.vlan) {
				want = append(want, q.Name)
			}
		}
	}
	// A frame that would grow past what a port sends (a VLAN tag on a
	// maximum-size frame) is dropped and counted for that port instead.
	var tooBig uint64
	kept := want[:0]
	for _, n := range want {
		if len(e.egress(portNamed(n))) > pipeline.MaxPacket {
			tooBig++
			continue
		}
		kept = append(kept, n)
	}
	want = kept
	if tooBig > 0 {
		require.Equal(t, map[string]uint64{nodeL2Output + "/too-big": tooBig}, drops)
	} else {
		require.Empty(t, drops)
	}
	require.Equal(t, sortStrings(want), keys(got))
	for _, q := range fuzzPorts {
		fs, ok := got[q.Name]
		if !ok {
			continue
		}
		require.Len(t, fs, 1, "port %s", q.Name)
		out := fs[0]
		require.Equal(t, e.egress(q), out, "frame transmitted on %s", q.Name)
		pkt := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		require.True(t, ok, "frame transmitted on %s does not decode as Ethernet", q.Name)
		require.Equal(t, hw(e.dst).String(), eth.DstMAC.String())
		require.Equal(t, hw(e.src).String(), eth.SrcMAC.String())
		if q.Mode == Trunk && e.vlan != q.VLAN {
			tag, ok := pkt.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
			require.True(t, ok, "no tag on %s", q.Name)
			require.Equal(t, e.vlan, tag.VLANIdentifier)
		}
	}
}
