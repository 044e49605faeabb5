package proto

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

// refSum is the textbook RFC 1071 sum, 16 bits at a time: the reference
// the fast code is held to.
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

// refICMP6Sum sums an ICMPv6 message with its pseudo-header from raw bytes.
func refICMP6Sum(ip []byte) uint16 {
	n := int(binary.BigEndian.Uint16(ip[4:]))
	ph := make([]byte, 0, 40)
	ph = append(ph, ip[8:40]...)
	ph = binary.BigEndian.AppendUint32(ph, uint32(n))
	ph = append(ph, 0, 0, 0, ProtoICMPv6)
	return refSum(ip[40:40+n], refSum(ph, 0))
}

// a4 parses an IPv4 address into this package's uint32 form.
func a4(s string) uint32 {
	a := netip.MustParseAddr(s).As4()
	return binary.BigEndian.Uint32(a[:])
}

// addr6 is an IPv6 address in this package's hi, lo form.
type addr6 struct{ hi, lo uint64 }

func a6(s string) addr6 {
	a := netip.MustParseAddr(s).As16()
	return addr6{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])}
}

func (a addr6) ip() net.IP {
	b := make(net.IP, 16)
	binary.BigEndian.PutUint64(b, a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return b
}

func ip4(a uint32) net.IP { return net.IPv4(byte(a>>24), byte(a>>16), byte(a>>8), byte(a)).To4() }

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0xAA}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0xBB}
)

// serialize encodes layers with gopacket, fixing lengths and checksums.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	require.NoError(t, gopacket.SerializeLayers(buf, opts, ls...))
	return append([]byte(nil), buf.Bytes()...)
}

// v4 returns an IPv4 header layer for serialize.
func v4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, Id: 0x1234,
		SrcIP: ip4(a4(src)), DstIP: ip4(a4(dst))}
}

// v6 returns an IPv6 header layer for serialize.
func v6(src, dst string, nh layers.IPProtocol, hop uint8) *layers.IPv6 {
	return &layers.IPv6{Version: 6, NextHeader: nh, HopLimit: hop,
		SrcIP: a6(src).ip(), DstIP: a6(dst).ip()}
}

// icmp6 returns an ICMPv6 layer whose checksum covers ip's pseudo-header.
func icmp6(t testing.TB, ip *layers.IPv6, typ, code uint8) *layers.ICMPv6 {
	l := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}
	require.NoError(t, l.SetNetworkLayerForChecksum(ip))
	return l
}

// udp4 returns a UDP/IPv4 packet with the given ports and payload size.
func udp4(t testing.TB, src, dst string, sport, dport uint16, n int) []byte {
	ip := v4(src, dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	require.NoError(t, u.SetNetworkLayerForChecksum(ip))
	return serialize(t, ip, u, gopacket.Payload(make([]byte, n)))
}

// udp6 returns a UDP/IPv6 packet with the given ports and payload size.
func udp6(t testing.TB, src, dst string, sport, dport uint16, n int) []byte {
	ip := v6(src, dst, layers.IPProtocolUDP, 64)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	require.NoError(t, u.SetNetworkLayerForChecksum(ip))
	return serialize(t, ip, u, gopacket.Payload(make([]byte, n)))
}

// echo4 returns an ICMP echo request with n bytes of data.
func echo4(t testing.TB, src, dst string, n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return serialize(t, v4(src, dst, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(ICMP4Echo, 0), Id: 0x4242, Seq: 7},
		gopacket.Payload(data))
}

// echo6 returns an ICMPv6 echo request with n bytes of data.
func echo6(t testing.TB, src, dst string, n int) []byte {
	ip := v6(src, dst, layers.IPProtocolICMPv6, 64)
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 5)
	}
	return serialize(t, ip, icmp6(t, ip, ICMP6EchoRequest, 0),
		&layers.ICMPv6Echo{Identifier: 0x4242, SeqNumber: 9}, gopacket.Payload(data))
}

// decode decodes b from the given first layer and fails on a decode error.
func decode(t testing.TB, b []byte, first gopacket.LayerType) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(b, first, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v", el.Error())
	}
	return p
}

// randBytes returns n random bytes from r.
func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// setChecksum4 stores a freshly computed header checksum in ip.
func setChecksum4(ip []byte) {
	hl := int(ip[0]&0xF) * 4
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], ^refSum(ip[:hl], 0))
}
