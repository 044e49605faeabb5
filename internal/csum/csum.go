// Package csum is the Internet checksum (RFC 1071) core shared by the
// packet code of the switch (vswitch/internal/proto) and of the tunnels
// (encap): a one's-complement sum over bytes, eight at a time, and the
// fold of a 64-bit accumulator to 16 bits.
//
// A partial sum is a one's-complement sum folded to 16 bits; a checksum
// field holds the complement of the sum of everything it covers, so
// summing a correct message, checksum included, gives 0xFFFF.
package csum

import (
	"encoding/binary"
	"math/bits"
)

// Sum returns the one's-complement sum of b, read as big-endian 16-bit
// words (an odd last byte is padded with a zero byte), added to the partial
// sum initial. It adds eight bytes at a time with carry into a 64-bit
// accumulator and folds at the end.
func Sum(b []byte, initial uint16) uint16 {
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
	return Fold(ac + c)
}

// Fold reduces a 64-bit one's-complement accumulator to 16 bits. It keeps
// the one's-complement distinction: a non-zero sum never folds to 0.
func Fold(ac uint64) uint16 {
	ac = ac>>32 + ac&0xFFFFFFFF
	ac = ac>>16 + ac&0xFFFF
	ac = ac>>16 + ac&0xFFFF
	ac = ac>>16 + ac&0xFFFF
	return uint16(ac)
}
