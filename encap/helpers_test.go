package encap

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// Frame geometry of the pipeline (pipeline.FrameSize, pipeline.Headroom),
// repeated here so the package's tests need nothing above it.
const (
	testFrameSize = 2176
	testHeadroom  = 128
)

var (
	macLocal = [6]byte{0x02, 0, 0, 0, 0x10, 0x01} // our underlay interface
	macNext  = [6]byte{0x02, 0, 0, 0, 0x10, 0x02} // next hop
	macA     = [6]byte{0x02, 0, 0, 0, 0, 0xAA}    // inner hosts
	macB     = [6]byte{0x02, 0, 0, 0, 0, 0xBB}

	vtep4a = netip.MustParseAddr("192.0.2.1")
	vtep4b = netip.MustParseAddr("198.51.100.7")
	vtep6a = netip.MustParseAddr("2001:db8:1::1")
	vtep6b = netip.MustParseAddr("2001:db8:2::77")
)

// refSum is the textbook RFC 1071 sum, 16 bits at a time: the reference
// the fast sum and the checksums Encap writes are held to.
func refSum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xFFFF {
		s = s>>16 + s&0xFFFF
	}
	return uint16(s)
}

// refUDPSum sums a UDP datagram (its length field taken as is) with its
// pseudo-header built from raw bytes: 0xFFFF when the checksum is right.
func refUDPSum(src, dst netip.Addr, udp []byte) uint16 {
	var ph []byte
	ph = append(ph, src.AsSlice()...)
	ph = append(ph, dst.AsSlice()...)
	ph = append(ph, 0, protoUDP)
	ph = binary.BigEndian.AppendUint16(ph, uint16(len(udp)))
	return refSum(udp, refSum(ph, 0))
}

// serialize encodes layers with gopacket, fixing lengths and checksums.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	require.NoError(t, gopacket.SerializeLayers(buf, opts, ls...))
	return append([]byte(nil), buf.Bytes()...)
}

func payload(rng *rand.Rand, n int) gopacket.Payload {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// innerUDP4 is an Ethernet/IPv4/UDP frame with n bytes of random payload.
func innerUDP4(t testing.TB, rng *rand.Rand, n int) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IPv4(10, 0, 0, byte(rng.Uint32())), DstIP: net.IPv4(10, 0, 1, byte(rng.Uint32()))}
	udp := &layers.UDP{SrcPort: layers.UDPPort(rng.Uint32()), DstPort: layers.UDPPort(rng.Uint32())}
	require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
	return serialize(t, &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4},
		ip, udp, payload(rng, n))
}

// innerTCP6 is an Ethernet/IPv6/TCP frame with n bytes of random payload.
func innerTCP6(t testing.TB, rng *rand.Rand, n int) []byte {
	src := net.ParseIP("fd00::1")
	src[15] = byte(rng.Uint32())
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
		SrcIP: src, DstIP: net.ParseIP("fd00::2")}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(rng.Uint32()), DstPort: 443, Seq: rng.Uint32(), ACK: true, Window: 512}
	require.NoError(t, tcp.SetNetworkLayerForChecksum(ip))
	return serialize(t, &layers.Ethernet{SrcMAC: macB[:], DstMAC: macA[:], EthernetType: layers.EthernetTypeIPv6},
		ip, tcp, payload(rng, n))
}

// innerARP is an Ethernet ARP request, 42 bytes (unpadded).
func innerARP(t testing.TB, rng *rand.Rand) []byte {
	return serialize(t,
		&layers.Ethernet{SrcMAC: macA[:], DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: macA[:], SourceProtAddress: []byte{10, 0, 0, byte(rng.Uint32())},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
}

// randomInner returns one of the inner frame kinds with a random payload.
func randomInner(t testing.TB, rng *rand.Rand) []byte {
	switch rng.IntN(3) {
	case 0:
		return innerUDP4(t, rng, rng.IntN(1400))
	case 1:
		return innerTCP6(t, rng, rng.IntN(1400))
	default:
		return innerARP(t, rng)
	}
}

// inFrame returns a pipeline-shaped frame holding inner at the headroom
// offset, and that offset.
func inFrame(inner []byte) ([]byte, int) {
	buf := make([]byte, testFrameSize)
	copy(buf[testHeadroom:], inner)
	return buf, testHeadroom
}

// config4 and config6 are tunnel configurations over each underlay.
func config4() TemplateConfig {
	return TemplateConfig{SrcMAC: macLocal, DstMAC: macNext, Src: vtep4a, Dst: vtep4b, VNI: 0x123456}
}

func config6() TemplateConfig {
	return TemplateConfig{SrcMAC: macLocal, DstMAC: macNext, Src: vtep6a, Dst: vtep6b, VNI: 0x123456}
}

func mustTemplate(t testing.TB, c TemplateConfig) *Template {
	t.Helper()
	tpl, err := NewTemplate(c)
	require.NoError(t, err)
	return &tpl
}

// encapsulate runs Encap on a copy of inner in a fresh frame and returns
// the whole packet.
func encapsulate(t testing.TB, tpl *Template, inner []byte, hash uint32) []byte {
	t.Helper()
	buf, off := inFrame(inner)
	off, n, ok := Encap(tpl, buf, off, len(inner), hash)
	require.True(t, ok)
	return buf[off : off+n]
}

// decoded is a VXLAN packet as gopacket sees it.
type decoded struct {
	eth   layers.Ethernet
	dot1q *layers.Dot1Q
	ip4   *layers.IPv4
	ip6   *layers.IPv6
	udp   layers.UDP
	vxlan layers.VXLAN
}

// decode parses pkt with gopacket layer by layer. The VXLAN layer is
// decoded from the UDP payload whatever the port.
func decode(t testing.TB, pkt []byte) *decoded {
	t.Helper()
	var d decoded
	require.NoError(t, d.eth.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback))
	rest, et := d.eth.Payload, d.eth.EthernetType
	if et == layers.EthernetTypeDot1Q {
		d.dot1q = new(layers.Dot1Q)
		require.NoError(t, d.dot1q.DecodeFromBytes(rest, gopacket.NilDecodeFeedback))
		rest, et = d.dot1q.Payload, d.dot1q.Type
	}
	switch et {
	case layers.EthernetTypeIPv4:
		d.ip4 = new(layers.IPv4)
		require.NoError(t, d.ip4.DecodeFromBytes(rest, gopacket.NilDecodeFeedback))
		rest = d.ip4.Payload
	case layers.EthernetTypeIPv6:
		d.ip6 = new(layers.IPv6)
		require.NoError(t, d.ip6.DecodeFromBytes(rest, gopacket.NilDecodeFeedback))
		rest = d.ip6.Payload
	default:
		t.Fatalf("outer EtherType %v", et)
	}
	require.NoError(t, d.udp.DecodeFromBytes(rest, gopacket.NilDecodeFeedback))
	require.NoError(t, d.vxlan.DecodeFromBytes(d.udp.Payload, gopacket.NilDecodeFeedback))
	return &d
}

// ipHeader returns the outer IP header bytes of an encapsulated packet.
func (d *decoded) ipHeader() []byte {
	if d.ip4 != nil {
		return d.ip4.Contents
	}
	return d.ip6.Contents
}

// addrs returns the outer addresses.
func (d *decoded) addrs() (src, dst netip.Addr) {
	if d.ip4 != nil {
		s, _ := netip.AddrFromSlice(d.ip4.SrcIP.To4())
		ds, _ := netip.AddrFromSlice(d.ip4.DstIP.To4())
		return s, ds
	}
	s, _ := netip.AddrFromSlice(d.ip6.SrcIP)
	ds, _ := netip.AddrFromSlice(d.ip6.DstIP)
	return s, ds
}

// udpBytes returns the UDP datagram, header included, trimmed to its length.
func (d *decoded) udpBytes() []byte {
	return append(append([]byte(nil), d.udp.Contents...), d.udp.Payload...)
}
