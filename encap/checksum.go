package encap

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/internal/csum"
)

// The Internet checksum (RFC 1071). A partial sum is a one's-complement sum
// folded to 16 bits; a checksum field holds the complement of the sum of
// everything it covers, so summing a correct message, checksum included,
// gives 0xFFFF. The byte-summing core is internal/csum, shared with
// vswitch/internal/proto.

// sum returns the one's-complement sum of b (big-endian 16-bit words, an
// odd last byte padded with zero) added to the partial sum initial.
func sum(b []byte, initial uint16) uint16 { return csum.Sum(b, initial) }

// sumIPv4 returns the partial sum of the IPv4 header h: 20 to 60 bytes, a
// multiple of 4. The 32-bit words add into 64 bits with no carry chain, the
// first five unrolled, which is faster than sum for such short input.
func sumIPv4(h []byte) uint16 {
	_ = h[19]
	ac := uint64(binary.BigEndian.Uint32(h[0:])) + uint64(binary.BigEndian.Uint32(h[4:])) +
		uint64(binary.BigEndian.Uint32(h[8:])) + uint64(binary.BigEndian.Uint32(h[12:])) +
		uint64(binary.BigEndian.Uint32(h[16:]))
	for b := h[20:]; len(b) >= 4; b = b[4:] {
		ac += uint64(binary.BigEndian.Uint32(b))
	}
	return fold(ac)
}

// fold reduces a 64-bit one's-complement accumulator to 16 bits; a
// non-zero sum never folds to 0.
func fold(ac uint64) uint16 { return csum.Fold(ac) }

// fold32 reduces a 32-bit one's-complement accumulator to 16 bits: two
// folds are enough for any 32-bit value.
func fold32(ac uint32) uint16 {
	ac = ac>>16 + ac&0xFFFF
	return uint16(ac>>16 + ac&0xFFFF)
}

// udpChecksum returns the value for a UDP checksum field whose message
// sums to s: its complement, with 0 sent as 0xFFFF (RFC 768: 0 means "no
// checksum", which IPv6 forbids).
func udpChecksum(s uint16) uint16 {
	if c := ^s; c != 0 {
		return c
	}
	return 0xFFFF
}
