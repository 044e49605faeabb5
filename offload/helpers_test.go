package offload

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// spec describes a test frame: a GSO frame, or one segment of it.
type spec struct {
	v6        bool // inner (or only) IPv6
	udp       bool // UDP instead of TCP
	vlan      bool // one 802.1Q tag on the inner (or only) frame
	qinq      bool // the tag is 802.1ad
	ipOpts    bool // IPv4 options (4 bytes)
	tunnel    bool // VXLAN-wrapped
	outer6    bool // outer IPv6
	outerVLAN bool // a tag on the outer frame
	outerCsum bool // a non-zero outer UDP checksum
	fin, psh  bool // TCP flags of the GSO frame
	cwr       bool
	payload   int
	mss       int
}

// Offsets of a frame of spec s, by arithmetic independent of the parser.
func (s spec) offsets() (outerL3, outerL4, innerL3, innerL4, end int) {
	innerL2 := 0
	if s.tunnel {
		outerL3 = 14
		if s.outerVLAN {
			outerL3 += 4
		}
		outerL4 = outerL3 + 20
		if s.outer6 {
			outerL4 = outerL3 + 40
		}
		innerL2 = outerL4 + 16
	}
	innerL3 = innerL2 + 14
	if s.vlan {
		innerL3 += 4
	}
	switch {
	case s.v6:
		innerL4 = innerL3 + 40
	case s.ipOpts:
		innerL4 = innerL3 + 24
	default:
		innerL4 = innerL3 + 20
	}
	end = innerL4 + 32
	if s.udp {
		end = innerL4 + 8
	}
	return
}

func (s spec) gsoType() uint8 {
	switch {
	case s.udp:
		return GSOUDPL4
	case s.v6:
		return GSOTCPv6
	default:
		return GSOTCPv4
	}
}

// maxPayload is the payload of the largest frame of spec s: an outer (or
// only) IP length of 65535.
func (s spec) maxPayload() int {
	outerL3, _, innerL3, _, end := s.offsets()
	l3 := innerL3
	if s.tunnel {
		l3 = outerL3
	}
	if s.v6 && !s.tunnel || s.tunnel && s.outer6 {
		return 65535 + 40 - (end - l3)
	}
	return 65535 - (end - l3)
}

const (
	seq0    = 0xFFFFF000 // wraps during a 64 KiB frame
	innerID = 0xFFF0     // wraps too
	outerID = 0x1234
)

var (
	mac1, mac2 = net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	mac3, mac4 = net.HardwareAddr{2, 0, 0, 0, 0, 3}, net.HardwareAddr{2, 0, 0, 0, 0, 4}
)

// build serializes, with gopacket and full checksums, the frame of spec s
// carrying payload with the TCP sequence number seq, the IPv4 IDs
// inner+idDelta and outer+idDelta, and the TCP flags given.
func build(t testing.TB, s spec, payload []byte, seq uint32, idDelta uint16, fin, psh, cwr bool) []byte {
	t.Helper()
	var ls []gopacket.SerializableLayer
	if s.tunnel {
		eth := &layers.Ethernet{SrcMAC: mac3, DstMAC: mac4, EthernetType: layers.EthernetTypeIPv4}
		if s.outer6 {
			eth.EthernetType = layers.EthernetTypeIPv6
		}
		ls = append(ls, eth)
		if s.outerVLAN {
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: 300, Type: eth.EthernetType})
			eth.EthernetType = layers.EthernetTypeDot1Q
		}
		udp := &layers.UDP{SrcPort: 49999, DstPort: 4789}
		if s.outer6 {
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
				SrcIP: net.ParseIP("fd00::a"), DstIP: net.ParseIP("fd00::b")}
			require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
			ls = append(ls, ip)
		} else {
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, Id: outerID + idDelta,
				Flags: layers.IPv4DontFragment, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
			require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
			ls = append(ls, ip)
		}
		ls = append(ls, udp, &layers.VXLAN{ValidIDFlag: true, VNI: 4242})
	}
	eth := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv4}
	if s.v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	ls = append(ls, eth)
	if s.vlan {
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 100, Priority: 3, Type: eth.EthernetType})
		eth.EthernetType = layers.EthernetTypeDot1Q
		if s.qinq {
			eth.EthernetType = layers.EthernetTypeQinQ
		}
	}
	var netLayer gopacket.NetworkLayer
	proto := layers.IPProtocolTCP
	if s.udp {
		proto = layers.IPProtocolUDP
	}
	if s.v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 63, TrafficClass: 0x10, FlowLabel: 0x12345, NextHeader: proto,
			SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		ls, netLayer = append(ls, ip), ip
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 63, TOS: 0x10, Protocol: proto, Id: innerID + idDelta,
			Flags: layers.IPv4DontFragment, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		if s.ipOpts {
			ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
		}
		ls, netLayer = append(ls, ip), ip
	}
	if s.udp {
		udp := &layers.UDP{SrcPort: 5000, DstPort: 6000}
		require.NoError(t, udp.SetNetworkLayerForChecksum(netLayer))
		ls = append(ls, udp)
	} else {
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: seq, Ack: 0x01020304, ACK: true,
			FIN: fin, PSH: psh, CWR: cwr, ECE: true, Window: 501, Options: []layers.TCPOption{
				{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
			}}
		require.NoError(t, tcp.SetNetworkLayerForChecksum(netLayer))
		ls = append(ls, tcp)
	}
	ls = append(ls, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	b := append([]byte(nil), buf.Bytes()...)
	_, outerL4, _, innerL4, end := s.offsets()
	require.Equal(t, end+len(payload), len(b), "test frame layout")
	// gopacket writes a UDP checksum of 0 as 0; RFC 768 sends 0xFFFF.
	if s.udp && binary.BigEndian.Uint16(b[innerL4+6:]) == 0 {
		binary.BigEndian.PutUint16(b[innerL4+6:], 0xFFFF)
	}
	if s.tunnel {
		switch {
		case !s.outerCsum:
			binary.BigEndian.PutUint16(b[outerL4+6:], 0)
		case binary.BigEndian.Uint16(b[outerL4+6:]) == 0:
			binary.BigEndian.PutUint16(b[outerL4+6:], 0xFFFF)
		}
	}
	return b
}

// gsoFrame builds the GSO frame of spec s with a random payload, its L4
// checksum partial as a sender leaves it, and its virtio-net header.
func gsoFrame(t testing.TB, s spec, rng *rand.Rand) (frame, payload []byte, h VnetHdr) {
	t.Helper()
	payload = make([]byte, s.payload)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	frame = build(t, s, payload, seq0, 0, s.fin, s.psh, s.cwr)
	_, _, innerL3, innerL4, end := s.offsets()
	off := 16
	if s.udp {
		off = 6
	}
	binary.BigEndian.PutUint16(frame[innerL4+off:], refPseudo(frame[innerL3:], s.v6, s.udp, len(frame)-innerL4))
	h = VnetHdr{Flags: FlagNeedsCsum, GSOType: s.gsoType(), HdrLen: uint16(end), GSOSize: uint16(s.mss),
		CsumStart: uint16(innerL4), CsumOffset: uint16(off)}
	if s.cwr {
		h.GSOType |= GSOECN
	}
	return frame, payload, h
}

// expected builds segment i of n of the GSO frame of spec s with gopacket.
func expected(t testing.TB, s spec, payload []byte, i, n int) []byte {
	lo, hi := i*s.mss, min((i+1)*s.mss, len(payload))
	last := i == n-1
	return build(t, s, payload[lo:hi], seq0+uint32(lo), uint16(i), s.fin && last, s.psh && last, s.cwr && i == 0)
}

// refSum is RFC 1071's loop, 16 bits at a time, independent of csum.Sum.
func refSum(b []byte, s uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xFFFF {
		s = s&0xFFFF + s>>16
	}
	return uint16(s)
}

// refPseudo is the pseudo-header sum of the IP header ip.
func refPseudo(ip []byte, v6, udp bool, l4len int) uint16 {
	p := uint32(6)
	if udp {
		p = 17
	}
	if v6 {
		return refSum(ip[8:40], p+uint32(l4len))
	}
	return refSum(ip[12:20], p+uint32(l4len))
}

// splits returns the frame in pieces: whole; headers then odd-sized
// chunks; headers plus one byte, then single bytes for a stretch.
func splits(frame []byte, hdr int) map[string][][]byte {
	out := map[string][][]byte{"whole": {frame}}
	var odd [][]byte
	odd = append(odd, frame[:hdr])
	for b, k := frame[hdr:], 777; len(b) > 0; k = k%1500 + 333 {
		k = min(k, len(b))
		odd, b = append(odd, b[:k]), b[k:]
	}
	out["odd chunks"] = odd
	if len(frame) > hdr+1 {
		tiny := [][]byte{frame[:hdr+1]}
		end := min(len(frame), hdr+50)
		for i := hdr + 1; i < end; i++ {
			tiny = append(tiny, frame[i:i+1])
		}
		tiny = append(tiny, []byte{}, frame[end:])
		out["tiny pieces"] = tiny
	}
	return out
}

// dsts returns n buffers of size bytes each and their lengths.
func dsts(n, size int) ([][]byte, []int) {
	d := make([][]byte, n)
	for i := range d {
		d[i] = make([]byte, size)
	}
	return d, make([]int, n)
}
