package offload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

func segmentCases() map[string]spec {
	full := func(s spec) spec { s.payload = s.maxPayload(); return s }
	return map[string]spec{
		"TCPv4 64K":                   full(spec{mss: 1448, fin: true, psh: true, cwr: true}),
		"TCPv4 64K IP options":        full(spec{mss: 1448, ipOpts: true, psh: true}),
		"TCPv4 64K VLAN":              full(spec{mss: 1448, vlan: true, fin: true}),
		"TCPv4 odd MSS":               full(spec{mss: 1001, psh: true}),
		"TCPv4 exact multiple":        {mss: 1000, payload: 40000, fin: true},
		"TCPv4 one segment":           {mss: 1448, payload: 1000, fin: true, cwr: true},
		"TCPv4 exactly one MSS":       {mss: 1448, payload: 1448, psh: true},
		"TCPv4 no payload":            {mss: 1448, payload: 0, fin: true},
		"TCPv4 MSS 1":                 {mss: 1, payload: 7, fin: true, psh: true, cwr: true},
		"TCPv6 64K":                   full(spec{v6: true, mss: 1428, fin: true, psh: true, cwr: true}),
		"TCPv6 64K QinQ tag":          full(spec{v6: true, vlan: true, qinq: true, mss: 1440}),
		"UDPv4 L4 64K":                full(spec{udp: true, mss: 1472}),
		"UDPv6 L4 VLAN":               {udp: true, v6: true, vlan: true, mss: 1200, payload: 30001},
		"UDPv4 L4 one segment":        {udp: true, mss: 1472, payload: 100},
		"VXLAN4 TCPv4 64K":            full(spec{tunnel: true, mss: 1398, fin: true, psh: true, cwr: true}),
		"VXLAN4 csum TCPv4 VLAN both": full(spec{tunnel: true, outerCsum: true, outerVLAN: true, vlan: true, mss: 1394}),
		"VXLAN6 csum TCPv6 64K":       full(spec{tunnel: true, outer6: true, outerCsum: true, v6: true, mss: 1358, psh: true}),
		"VXLAN6 zero csum TCPv4":      full(spec{tunnel: true, outer6: true, mss: 1378, fin: true}),
		"VXLAN6 csum UDPv4 L4":        {tunnel: true, outer6: true, outerCsum: true, udp: true, mss: 1400, payload: 20000},
		"VXLAN4 UDPv6 L4":             {tunnel: true, udp: true, v6: true, mss: 1333, payload: 9999},
	}
}

func TestSegment(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for name, s := range segmentCases() {
		t.Run(name, func(t *testing.T) {
			frame, payload, h := gsoFrame(t, s, rng)
			_, _, _, _, end := s.offsets()
			n := max(1, (s.payload+s.mss-1)/s.mss)
			for split, frags := range splits(frame, end) {
				t.Run(split, func(t *testing.T) {
					orig := append([]byte(nil), frame...)
					dst, lens := dsts(n+2, end+s.mss+7)
					var got int
					var err error
					if s.tunnel {
						got, err = SegmentVXLAN(frags, &h, dst, lens)
					} else {
						got, err = Segment(frags, &h, dst, lens)
					}
					require.NoError(t, err)
					require.Equal(t, n, got)
					require.Equal(t, orig, frame, "input modified")
					all := []byte{}
					for i := range got {
						seg := dst[i][:lens[i]]
						want := expected(t, s, payload, i, n)
						if !bytes.Equal(want, seg) {
							t.Fatalf("segment %d of %d differs from gopacket's:\n%s", i, n, diff(want, seg))
						}
						all = append(all, checkSegment(t, s, seg, i, n)...)
					}
					require.Equal(t, payload, all, "concatenated payloads")
				})
			}
		})
	}
}

// checkSegment decodes segment i of n with gopacket, checks its fields and
// checksums with the reference sum, and returns its payload.
func checkSegment(t *testing.T, s spec, seg []byte, i, n int) []byte {
	t.Helper()
	last := i == n-1
	lo := i * s.mss
	plen := min(s.mss, s.payload-lo)
	pkt := gopacket.NewPacket(seg, layers.LayerTypeEthernet, gopacket.Default)
	require.Nil(t, pkt.ErrorLayer(), "segment %d decodes", i)
	outerL3, outerL4, innerL3, innerL4, end := s.offsets()
	require.Len(t, seg, end+plen)

	if s.tunnel {
		if s.outer6 {
			require.Equal(t, len(seg)-outerL3-40, int(binary.BigEndian.Uint16(seg[outerL3+4:])))
		} else {
			checkIPv4(t, seg[outerL3:outerL4], len(seg)-outerL3, outerID+uint16(i))
		}
		udp := seg[outerL4:]
		require.Equal(t, len(seg)-outerL4, int(binary.BigEndian.Uint16(udp[4:])), "outer UDP length")
		require.NotNil(t, pkt.Layer(layers.LayerTypeVXLAN), "segment %d is VXLAN", i)
		if c := binary.BigEndian.Uint16(udp[6:]); !s.outerCsum {
			require.Zero(t, c, "outer UDP checksum stays zero")
		} else {
			require.Equal(t, uint16(0xFFFF), refSum(seg[outerL4:], uint32(refPseudo(seg[outerL3:], s.outer6, true, len(seg)-outerL4))),
				"outer UDP checksum of segment %d", i)
		}
	}
	if s.v6 {
		require.Equal(t, len(seg)-innerL3-40, int(binary.BigEndian.Uint16(seg[innerL3+4:])))
	} else {
		checkIPv4(t, seg[innerL3:innerL4], len(seg)-innerL3, innerID+uint16(i))
	}
	require.Equal(t, uint16(0xFFFF), refSum(seg[innerL4:], uint32(refPseudo(seg[innerL3:], s.v6, s.udp, len(seg)-innerL4))),
		"L4 checksum of segment %d", i)

	// The last TCP or UDP layer is the inner one.
	var l4 gopacket.Layer
	for _, l := range pkt.Layers() {
		if l.LayerType() == layers.LayerTypeTCP || l.LayerType() == layers.LayerTypeUDP {
			l4 = l
		}
	}
	require.NotNil(t, l4)
	switch l := l4.(type) {
	case *layers.TCP:
		require.False(t, s.udp)
		require.Equal(t, uint32(seq0)+uint32(lo), l.Seq, "seq of segment %d", i)
		require.Equal(t, s.fin && last, l.FIN, "FIN of segment %d", i)
		require.Equal(t, s.psh && last, l.PSH, "PSH of segment %d", i)
		require.Equal(t, s.cwr && i == 0, l.CWR, "CWR of segment %d", i)
		require.True(t, l.ACK)
		require.True(t, l.ECE)
		require.Len(t, l.Payload, plen)
		return l.Payload
	case *layers.UDP:
		require.True(t, s.udp)
		require.Equal(t, 8+plen, int(l.Length))
		require.Len(t, l.Payload, plen)
		return l.Payload
	}
	return nil
}

func checkIPv4(t *testing.T, ip []byte, length int, id uint16) {
	t.Helper()
	require.Equal(t, length, int(binary.BigEndian.Uint16(ip[2:])), "IPv4 total length")
	require.Equal(t, id, binary.BigEndian.Uint16(ip[4:]), "IPv4 ID")
	require.Equal(t, uint16(0xFFFF), refSum(ip, 0), "IPv4 header checksum")
}

func diff(want, got []byte) string {
	if len(want) != len(got) {
		return fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			lo, hi := max(0, i-4), min(len(want), i+8)
			return fmt.Sprintf("first difference at %d: got % x, want % x", i, got[lo:hi], want[lo:hi])
		}
	}
	return "equal"
}

// TestSegmentNone: a non-GSO frame is copied, its partial checksum
// completed.
func TestSegmentNone(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []spec{{payload: 1000}, {v6: true, udp: true, payload: 999}, {vlan: true, payload: 1}} {
		s.mss = 1448
		frame, payload, h := gsoFrame(t, s, rng)
		h.GSOType, h.GSOSize = GSONone, 0
		want := expected(t, s, payload, 0, 1)
		_, _, _, _, end := s.offsets()
		for split, frags := range splits(frame, end) {
			dst, lens := dsts(1, 2000)
			n, err := Segment(frags, &h, dst, lens)
			require.NoError(t, err, split)
			require.Equal(t, 1, n)
			requireEqualCsum(t, s, want, dst[0][:lens[0]])
		}
		// Without FlagNeedsCsum, the frame is copied as is.
		h2 := VnetHdr{}
		dst, lens := dsts(1, 2000)
		n, err := Segment([][]byte{frame}, &h2, dst, lens)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, frame, dst[0][:lens[0]])
	}
}

// requireEqualCsum compares frames that may differ only in a TCP checksum
// of 0 (gopacket) written as 0xFFFF (CompleteChecksum, like Linux).
func requireEqualCsum(t *testing.T, s spec, want, got []byte) {
	t.Helper()
	_, _, _, innerL4, _ := s.offsets()
	if !s.udp && binary.BigEndian.Uint16(want[innerL4+16:]) == 0 {
		want = append([]byte(nil), want...)
		binary.BigEndian.PutUint16(want[innerL4+16:], 0xFFFF)
	}
	require.Equal(t, want, got)
}
