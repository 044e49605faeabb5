package encap

import (
	"encoding/binary"
	"math/bits"
)

// The Internet checksum (RFC 1071). A partial sum is a one's-complement sum
// folded to 16 bits; a checksum field holds the complement of the sum of
// everything it covers, so summing a correct message, checksum included,
// gives 0xFFFF. (This mirrors vswitch/internal/proto, which this package,
// being below vswitch, cannot import.)

// sum returns the one's-complement sum of b, read as big-endian 16-bit
// words (an odd last byte padded with a zero byte), added to the partial
// sum initial. It adds eight bytes at a time with carry into a 64-bit
// accumulator and folds at the end.
func sum(b []byte, initial uint16) uint16 {
	ac := uint64(initial)
	var c uint64
	for len(b) >= 32 {
		ac, c = bits.Add64(ac, binary.BigEndian.Uint64(b), c)
		ac, c = bits.Add64(ac, binary.BigEndian.Uint64(b[8:]), c)
		ac, c = bits.Add64(ac, binary.BigEndian.Uint64(b[16:]), c)
		ac, c = bits.Add64(ac, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		ac, c = bits.Add64(ac, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		ac, c = bits.Add64(ac, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		ac, c = bits.Add64(ac, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		ac, c = bits.Add64(ac, uint64(b[0])<<8, c)
	}
	ac, c = bits.Add64(ac, c, 0)
	return fold(ac + c)
}

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
func fold(ac uint64) uint16 {
	ac = ac>>32 + ac&0xFFFFFFFF
	ac = ac>>16 + ac&0xFFFF
	ac = ac>>16 + ac&0xFFFF
	ac = ac>>16 + ac&0xFFFF
	return uint16(ac)
}

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
