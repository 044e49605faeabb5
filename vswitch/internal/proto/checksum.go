package proto

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/internal/csum"
)

// Partial sums (the uint16 values Sum, PseudoSum4 and PseudoSum6 return and
// take) are one's-complement sums folded to 16 bits; a checksum field holds
// the complement of the sum of everything it covers. A receiver checks a
// message by summing it, checksum field included: the result is 0xFFFF.

// Sum returns the one's-complement sum of b, read as big-endian 16-bit
// words (an odd last byte is padded with a zero byte), added to the partial
// sum initial (internal/csum does the work).
func Sum(b []byte, initial uint16) uint16 { return csum.Sum(b, initial) }

// Checksum returns the Internet checksum (RFC 1071) of b on top of the
// partial sum initial (0, or a pseudo-header sum): the value to store in a
// zeroed checksum field, or 0 when b already holds a correct one.
func Checksum(b []byte, initial uint16) uint16 { return ^Sum(b, initial) }

// fold reduces a 64-bit one's-complement accumulator to 16 bits.
func fold(ac uint64) uint16 { return csum.Fold(ac) }

// sum32 returns the partial sum of the 32-bit words of b, whose length is a
// multiple of 4 and at most a few kilobytes (IPv4 headers). With no carry
// chain it is faster than Sum for 20 to 60 bytes.
func sum32(b []byte) uint16 {
	var ac uint64
	for len(b) >= 4 {
		ac += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	return fold(ac)
}

// Add returns the one's-complement sum of two partial sums.
func Add(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s>>16 + s&0xFFFF)
}

// PseudoSum4 returns the partial sum of the IPv4 pseudo-header that TCP,
// UDP and other upper layers checksum: source, destination, protocol and
// upper-layer length.
func PseudoSum4(src, dst uint32, proto uint8, length uint16) uint16 {
	return fold(uint64(src) + uint64(dst) + uint64(proto) + uint64(length))
}

// PseudoSum6 returns the partial sum of the IPv6 pseudo-header (RFC 8200
// 8.1) that ICMPv6, TCP and UDP checksum: source, destination, upper-layer
// packet length and next header.
func PseudoSum6(srcHi, srcLo, dstHi, dstLo uint64, nextHeader uint8, length uint32) uint16 {
	return fold(half(srcHi) + half(srcLo) + half(dstHi) + half(dstLo) +
		uint64(nextHeader) + uint64(length))
}

// half adds the two 32-bit halves of x, which keeps its one's-complement
// sum (2^32 is 1 modulo 0xFFFF) in 33 bits.
func half(x uint64) uint64 { return x>>32 + x&0xFFFFFFFF }

// Update16 returns checksum csum after a 16-bit word it covers changed from
// old to new: HC' = ~(~HC + ~m + m') (RFC 1624 eqn. 3), which, unlike the
// RFC 1141 form, never turns a correct checksum into 0xFFFF.
func Update16(csum, old, new uint16) uint16 {
	s := uint32(^csum) + uint32(^old) + uint32(new)
	s = s>>16 + s&0xFFFF
	return ^uint16(s>>16 + s&0xFFFF)
}

// Update32 is Update16 for a 32-bit field, such as an IPv4 address, that
// starts on a 16-bit boundary.
func Update32(csum uint16, old, new uint32) uint16 {
	return ^fold(uint64(^csum) + uint64(^old) + uint64(new))
}

// DecTTL4 decrements the TTL of the IPv4 header ip and updates its header
// checksum incrementally. The caller has checked the TTL is above 1: a
// router sends time exceeded instead of forwarding with TTL 0.
func DecTTL4(ip []byte) {
	_ = ip[11]
	ip[8]--
	// Update16 with m' = m - 0x100, where ~m + m' is always 0xFEFF; one
	// fold is enough as 0xFFFF + 0xFEFF carries at most once.
	s := uint32(^binary.BigEndian.Uint16(ip[10:])) + 0xFEFF
	binary.BigEndian.PutUint16(ip[10:], ^uint16(s>>16+s&0xFFFF))
}

// DecHop6 decrements the hop limit of the IPv6 header ip (IPv6 has no
// header checksum). The caller has checked the hop limit is above 1.
func DecHop6(ip []byte) { ip[7]-- }
