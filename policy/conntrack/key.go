package conntrack

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Addr is an IP address as two 64-bit words, big-endian (Hi holds bytes
// 0-7). An IPv4 address is stored IPv4-mapped (::ffff:a.b.c.d); Key.Flags
// says which family the packet was.
type Addr struct{ Hi, Lo uint64 }

// AddrFrom converts a netip.Addr (control plane and tests).
func AddrFrom(a netip.Addr) Addr {
	b := a.As16()
	return Addr{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// Netip converts back; v4 unmaps an IPv4-mapped address.
func (a Addr) Netip(v4 bool) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.Hi)
	binary.BigEndian.PutUint64(b[8:], a.Lo)
	ip := netip.AddrFrom16(b)
	if v4 {
		return ip.Unmap()
	}
	return ip
}

func addr4(b []byte) Addr { return Addr{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b))} }

func addr6(b []byte) Addr {
	return Addr{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

// Key is a flow key in one direction: zone, addresses, protocol and ports.
// It is 40 bytes, five 64-bit words, and compared as such.
//
// For TCP, UDP, UDP-Lite, SCTP and DCCP the ports are the L4 ports. For an
// ICMP or ICMPv6 query (echo and the like) SrcPort is the identifier and
// DstPort the message type<<8 | code, so that a request and its reply,
// whose types differ, have keys that are each other's Reverse. Other
// protocols have zero ports.
type Key struct {
	Src, Dst         Addr
	SrcPort, DstPort uint16
	// Zone separates flows of different bridges or VRFs that may reuse
	// the same addresses.
	Zone  uint16
	Proto uint8
	// Flags: KeyIPv6.
	Flags uint8
}

// KeyIPv6 is set in Key.Flags for an IPv6 flow.
const KeyIPv6 = 1

// KeyRouted is a second namespace of zones: a caller that tracks both
// switched traffic (zone: an L2 domain) and routed traffic (zone: a VRF)
// sets it in Key.Flags after Parse for the routed packets, so the two
// kinds of zone never meet whatever their numbers. Parse never sets it.
const KeyRouted = 2

// IPv6 reports whether k is an IPv6 flow.
func (k *Key) IPv6() bool { return k.Flags&KeyIPv6 != 0 }

// packWord4 is the fifth word of a key: ports, zone, protocol, flags
// (word4: on little-endian machines, the key's last 8 bytes as they lie
// in memory).
func (k *Key) packWord4() uint64 {
	return uint64(k.SrcPort) | uint64(k.DstPort)<<16 | uint64(k.Zone)<<32 |
		uint64(k.Proto)<<48 | uint64(k.Flags)<<56
}

func (k *Key) unpackWord4(w uint64) {
	k.SrcPort, k.DstPort, k.Zone = uint16(w), uint16(w>>16), uint16(w>>32)
	k.Proto, k.Flags = uint8(w>>48), uint8(w>>56)
}

// Reverse returns the key of the other direction of the same flow without
// address translation: addresses swapped; ports swapped, or for an ICMP
// query the type changed to its reply's (or request's).
func (k Key) Reverse() Key {
	k.Src, k.Dst = k.Dst, k.Src
	if k.isICMP() {
		k.DstPort = uint16(icmpPeerType(k.Proto, uint8(k.DstPort>>8)))<<8 | k.DstPort&0xff
	} else {
		k.SrcPort, k.DstPort = k.DstPort, k.SrcPort
	}
	return k
}

// swapPorts is a fifth word (word4) with its two ports swapped: the
// fifth word of the reversed key of a flow that is not ICMP.
func swapPorts(w uint64) uint64 {
	return w&^0xffffffff | w<<16&0xffff0000 | w>>16&0xffff
}

// plainReply reports whether reply is k reversed with ports swapped, the
// case entry.state's stPlain marks: no address translation, not ICMP.
func plainReply(k, reply *Key) bool {
	return !k.isICMP() && reply.Src == k.Dst && reply.Dst == k.Src && reply.word4() == swapPorts(k.word4())
}

func (k *Key) isICMP() bool {
	return k.Proto == protoICMP && k.Flags&KeyIPv6 == 0 || k.Proto == protoICMPv6 && k.Flags&KeyIPv6 != 0
}

// String formats k for logs and tests (control plane only).
func (k Key) String() string {
	v4 := !k.IPv6()
	s := k.Src.Netip(v4).String() + ":" + itoa(int(k.SrcPort)) + " > " +
		k.Dst.Netip(v4).String() + ":" + itoa(int(k.DstPort)) + " proto " + itoa(int(k.Proto))
	if k.Zone != 0 {
		s += " zone " + itoa(int(k.Zone))
	}
	return s
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// Hash constants (wyhash's primes).
const (
	hp0 = 0xa0761d6478bd642f
	hp1 = 0xe7037ed1a0b428db
	hp2 = 0x8ebc6af09c88c6e3
	hp3 = 0x589965cc75374cc3
	hp4 = 0x1d8e4e27c47d124f
)

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash is a seeded 64-bit hash of the key's five words: three 64x64->128
// multiplies, about 3 ns.
func (k *Key) hash(seed uint64) uint64 {
	a := mum(k.Src.Hi^hp0^seed, k.Src.Lo^hp1)
	b := mum(k.Dst.Hi^hp2, k.Dst.Lo^hp3^seed)
	return mum(a^hp4, b^k.word4()^hp1)
}
