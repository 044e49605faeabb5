package conntrack

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Packet builders for tests: gopacket for the common headers (an encoder
// independent of the parser), bytes by hand for what gopacket cannot
// write (IPv6 fragment and routing headers, truncated quotes).

const (
	fSYN = tcpSYN
	fACK = tcpACK
	fFIN = tcpFIN
	fRST = tcpRST
	fPSH = tcpPSH
)

func ip(s string) net.IP { return net.IP(netip.MustParseAddr(s).AsSlice()) }

func is6(s string) bool { return netip.MustParseAddr(s).Is6() }

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// l3 returns an IPv4 or IPv6 header layer for src > dst carrying proto.
func l3(src, dst string, proto layers.IPProtocol) interface {
	gopacket.SerializableLayer
	gopacket.NetworkLayer
} {
	if is6(src) {
		return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: ip(src), DstIP: ip(dst)}
	}
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: ip(src), DstIP: ip(dst)}
}

func tcpPkt(tb testing.TB, src, dst string, sport, dport uint16, flags uint8) []byte {
	n := l3(src, dst, layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Window: 65535,
		FIN: flags&fFIN != 0, SYN: flags&fSYN != 0, RST: flags&fRST != 0, PSH: flags&fPSH != 0, ACK: flags&fACK != 0}
	tcp.SetNetworkLayerForChecksum(n)
	return serialize(tb, n, tcp, gopacket.Payload("data"))
}

func udpPkt(tb testing.TB, src, dst string, sport, dport uint16) []byte {
	n := l3(src, dst, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	udp.SetNetworkLayerForChecksum(n)
	return serialize(tb, n, udp, gopacket.Payload("hello"))
}

// echoPkt is an ICMP or ICMPv6 echo request (reply false) or reply.
func echoPkt(tb testing.TB, src, dst string, id uint16, reply bool) []byte {
	if is6(src) {
		n := l3(src, dst, layers.IPProtocolICMPv6)
		typ := uint8(layers.ICMPv6TypeEchoRequest)
		if reply {
			typ = layers.ICMPv6TypeEchoReply
		}
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
		ic.SetNetworkLayerForChecksum(n)
		return serialize(tb, n, ic, &layers.ICMPv6Echo{Identifier: id, SeqNumber: 1}, gopacket.Payload("ping"))
	}
	typ := uint8(layers.ICMPv4TypeEchoRequest)
	if reply {
		typ = layers.ICMPv4TypeEchoReply
	}
	return serialize(tb, l3(src, dst, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: 1}, gopacket.Payload("ping"))
}

// icmpErr is an ICMP(v6) error from src to dst quoting (the first 64
// bytes of) quoted: destination unreachable, port unreachable.
func icmpErr(tb testing.TB, src, dst string, quoted []byte) []byte {
	if len(quoted) > 64 {
		quoted = quoted[:64]
	}
	if is6(src) {
		n := l3(src, dst, layers.IPProtocolICMPv6)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeDestinationUnreachable, 4)}
		ic.SetNetworkLayerForChecksum(n)
		return serialize(tb, n, ic, gopacket.Payload(append(make([]byte, 4), quoted...)))
	}
	return serialize(tb, l3(src, dst, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, 3)},
		gopacket.Payload(quoted))
}

// ext6 is an IPv6 extension header for raw6: its type and its bytes
// (whose first byte raw6 overwrites with the next header).
type ext6 struct {
	typ  uint8
	body []byte
}

func hbh() ext6     { return ext6{0, []byte{0, 0, 1, 4, 0, 0, 0, 0}} }                           // PadN
func dstopts() ext6 { return ext6{60, []byte{0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} } // 16 bytes
func routing() ext6 { return ext6{43, append([]byte{0, 2, 0, 1, 0, 0, 0, 0}, ip("2001:db8::99")...)} }
func ah() ext6 {
	return ext6{51, []byte{0, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}
}
func frag6(off uint16, more bool) ext6 {
	fo := off << 3
	if more {
		fo |= 1
	}
	return ext6{44, []byte{0, 0, byte(fo >> 8), byte(fo), 0, 0, 0, 7}}
}

// raw6 builds an IPv6 packet by hand: header, extension headers, then
// the L4 protocol proto with bytes l4.
func raw6(src, dst string, exts []ext6, proto uint8, l4 []byte) []byte {
	b := make([]byte, 40)
	b[0] = 0x60
	b[7] = 64
	copy(b[8:], ip(src))
	copy(b[24:], ip(dst))
	prev := 6
	for _, e := range exts {
		b[prev] = e.typ
		prev = len(b)
		b = append(b, e.body...)
	}
	b[prev] = proto
	b = append(b, l4...)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)-40))
	return b
}

// l4tcp is a bare 20-byte TCP header.
func l4tcp(sport, dport uint16, flags uint8) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b, sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	b[12] = 5 << 4
	b[13] = flags
	return b
}

func key(src, dst string, sport, dport uint16, proto uint8, zone uint16) Key {
	k := Key{Src: AddrFrom(netip.MustParseAddr(src)), Dst: AddrFrom(netip.MustParseAddr(dst)),
		SrcPort: sport, DstPort: dport, Proto: proto, Zone: zone}
	if is6(src) {
		k.Flags = KeyIPv6
	}
	return k
}

func newTable(tb testing.TB, cfg Config) *Table {
	tb.Helper()
	if cfg.Capacity == 0 {
		cfg.Capacity = 1024
	}
	t, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}
