package encap

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/offload"
)

// innerTCP4 is an Ethernet/IPv4/TCP frame with n bytes of random payload.
func innerTCP4(t testing.TB, rng *rand.Rand, n int) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
		SrcIP: net.IPv4(10, 0, 0, 1), DstIP: net.IPv4(10, 0, 1, 2), Id: uint16(rng.Uint32())}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: rng.Uint32(), ACK: true, PSH: true, Window: 512}
	require.NoError(t, tcp.SetNetworkLayerForChecksum(ip))
	return serialize(t, &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4},
		ip, tcp, payload(rng, n))
}

// splitFrame lays frame out as a pipeline chain would: the first part
// (first bytes) after testHeadroom in a frame-sized buffer, the rest in
// pieces of at most testFrameSize.
func splitFrame(frame []byte, first int) (buf []byte, rest [][]byte) {
	buf = make([]byte, testFrameSize)
	copy(buf[testHeadroom:], frame[:first])
	for o := first; o < len(frame); o += testFrameSize {
		rest = append(rest, frame[o:min(o+testFrameSize, len(frame))])
	}
	return buf, rest
}

// TestEncapGSOThenSegment: a 30 KB TCP frame encapsulated large with
// EncapGSO and cut by offload.SegmentVXLAN gives, segment by segment, the
// packets that cutting first (offload.Segment) and encapsulating each
// segment with Encap gives, but for the outer IPv4 ID (per segment there)
// and so the outer IPv4 header checksum; every checksum is right.
func TestEncapGSOThenSegment(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for name, c := range map[string]TemplateConfig{
		"v4":         config4(),
		"v4 udpcsum": func() TemplateConfig { c := config4(); c.UDPChecksum4 = true; return c }(),
		"v4 VLAN":    func() TemplateConfig { c := config4(); c.VLAN = 9; return c }(),
		"v6":         config6(),
	} {
		for _, v6 := range []bool{false, true} {
			tpl := mustTemplate(t, c)
			var frame []byte
			h := offload.VnetHdr{Flags: offload.FlagNeedsCsum, GSOSize: 1398, CsumOffset: 16}
			if v6 {
				frame = innerTCP6(t, rng, 30000)
				h.GSOType, h.CsumStart = offload.GSOTCPv6, 14+40
			} else {
				frame = innerTCP4(t, rng, 30000)
				h.GSOType, h.CsumStart = offload.GSOTCPv4, 14+20
			}
			hdrLen := int(h.CsumStart) + 20

			// Reference: segment, then encapsulate each segment.
			var want [][]byte
			dst := make([][]byte, 32)
			lens := make([]int, 32)
			for i := range dst {
				dst[i] = make([]byte, testFrameSize)
			}
			n, err := offload.Segment([][]byte{frame}, &h, dst, lens)
			require.NoError(t, err)
			for i := range n {
				buf := make([]byte, testFrameSize)
				copy(buf[testHeadroom:], dst[i][:lens[i]])
				seg := buf[testHeadroom : testHeadroom+lens[i]]
				off, l, ok := Encap(tpl, buf, testHeadroom, len(seg), 77)
				require.True(t, ok)
				want = append(want, buf[off:off+l])
			}

			// Encapsulate large, then segment.
			buf, rest := splitFrame(frame, hdrLen+100)
			off, l, ok := EncapGSO(tpl, buf, testHeadroom, hdrLen+100, len(frame), 77)
			require.True(t, ok, "%s v6=%v", name, v6)
			require.Equal(t, testHeadroom-tpl.Len(), off)
			require.Equal(t, hdrLen+100+tpl.Len(), l)
			frags := append([][]byte{buf[off : off+l]}, rest...)
			th := h
			th.Shift(uint16(tpl.Len()))
			for i := range dst {
				clear(dst[i])
			}
			got, err := offload.SegmentVXLAN(frags, &th, dst, lens)
			require.NoError(t, err, "%s v6=%v", name, v6)
			require.Equal(t, len(want), got, "%s v6=%v: segments", name, v6)
			for i := range got {
				seg := dst[i][:lens[i]]
				w := want[i]
				require.Equal(t, len(w), len(seg), "%s v6=%v segment %d", name, v6, i)
				ipAt := int(tpl.ip)
				if !tpl.is6 {
					require.Equal(t, uint16(0xFFFF), refSum(seg[ipAt:ipAt+IPv4Len], 0), "outer IPv4 header checksum")
					// Blank the fields that differ by design: ID, header checksum.
					for _, b := range [][]byte{seg, w} {
						binary.BigEndian.PutUint16(b[ipAt+4:], 0)
						binary.BigEndian.PutUint16(b[ipAt+10:], 0)
					}
				}
				require.Equal(t, w, seg, "%s v6=%v segment %d", name, v6, i)
			}
		}
	}
}

func TestEncapGSORefuses(t *testing.T) {
	tpl4, tpl6 := mustTemplate(t, config4()), mustTemplate(t, config6())
	buf := make([]byte, testFrameSize)
	for _, tc := range []struct {
		name              string
		tpl               *Template
		off, first, total int
		ok                bool
	}{
		{"fits v4", tpl4, testHeadroom, 1000, maxInner4, true},
		{"too long v4", tpl4, testHeadroom, 1000, maxInner4 + 1, false},
		{"fits v6", tpl6, testHeadroom, 1000, maxInner6, true},
		{"too long v6", tpl6, testHeadroom, 1000, maxInner6 + 1, false},
		{"total shorter than first", tpl4, testHeadroom, 1000, 999, false},
		{"no headroom", tpl4, 10, 1000, 5000, false},
		{"first past buffer", tpl4, testHeadroom, testFrameSize, 70000, false},
		{"zero template", &Template{}, testHeadroom, 100, 200, false},
	} {
		clear(buf)
		off, l, ok := EncapGSO(tc.tpl, buf, tc.off, tc.first, tc.total, 1)
		require.Equal(t, tc.ok, ok, tc.name)
		if !ok {
			require.Equal(t, tc.off, off, tc.name)
			require.Equal(t, tc.first, l, tc.name)
			require.Equal(t, make([]byte, len(buf)), buf, "%s: refused, nothing written", tc.name)
		}
	}
}
