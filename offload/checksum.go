package offload

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/internal/csum"
)

// The Internet checksum (RFC 1071). A partial sum is a one's-complement
// sum folded to 16 bits; a checksum field holds the complement of the sum
// of what it covers. The byte-summing core, eight bytes at a time with
// carries, is internal/csum, shared with encap and vswitch.

// CompleteChecksum finishes a CHECKSUM_PARTIAL packet as Linux's
// skb_checksum_help does: the 16-bit field at pkt[start+offset:] holds the
// pseudo-header sum (not complemented); the one's-complement sum of
// pkt[start:], that field included, is folded, complemented and written
// back, 0 being written as 0xFFFF (CSUM_MANGLED_0, the same value in one's
// complement, and the form UDP requires). It returns ErrBadCsumOffset if
// the field is not inside pkt.
func CompleteChecksum(pkt []byte, start, offset int) error {
	if start < 0 || offset < 0 || start > len(pkt) || offset > len(pkt)-start-2 {
		return ErrBadCsumOffset
	}
	c := ^csum.Sum(pkt[start:], 0)
	if c == 0 {
		c = 0xFFFF
	}
	binary.BigEndian.PutUint16(pkt[start+offset:], c)
	return nil
}

// PseudoSum4 returns the partial sum of the IPv4 pseudo header (RFC 793,
// RFC 768) for the IPv4 header iph (at least 20 bytes: the addresses are
// at 12 to 20), the protocol proto and the L4 length l4len. It is the value
// a CHECKSUM_PARTIAL packet carries in its checksum field.
func PseudoSum4(iph []byte, proto uint8, l4len int) uint16 {
	return pseudo(addrSum4(iph), proto, l4len)
}

// PseudoSum6 is PseudoSum4 for the IPv6 header iph (at least 40 bytes)
// (RFC 8200 section 8.1).
func PseudoSum6(iph []byte, proto uint8, l4len int) uint16 {
	return pseudo(addrSum6(iph), proto, l4len)
}

func addrSum4(iph []byte) uint16 { return csum.Sum(iph[12:20], 0) }
func addrSum6(iph []byte) uint16 { return csum.Sum(iph[8:40], 0) }

// pseudo adds the protocol and the length to the partial sum of the
// addresses. The 32-bit upper-layer length of IPv6 sums the same as a
// 16-bit one when it fits in 16 bits, as it always does here.
func pseudo(addrs uint16, proto uint8, l4len int) uint16 {
	return csum.Fold(uint64(addrs) + uint64(proto) + uint64(l4len))
}

// ipv4HeaderChecksum sets the header checksum of the IPv4 header iph.
func ipv4HeaderChecksum(iph []byte) {
	iph[10], iph[11] = 0, 0
	binary.BigEndian.PutUint16(iph[10:], ^csum.Sum(iph, 0))
}

// FillChecksums computes and writes the full checksums of the
// Ethernet(+VLAN)/IPv4|IPv6/TCP|UDP frame pkt: the IPv4 header checksum,
// and the TCP or UDP checksum over the pseudo header and the L4 header and
// payload up to the end the IP length field gives (Ethernet padding after
// it is left out). A UDP checksum of 0 is written as 0xFFFF. It refuses a
// frame it cannot parse or whose IP length goes past the frame.
func FillChecksums(pkt []byte) error {
	l, e := parse(pkt, 0)
	if e != 0 {
		return e
	}
	if l.ipEnd > len(pkt) {
		return ErrBadLength
	}
	fillL4(pkt, &l, l.ipEnd)
	if !l.v6 {
		ipv4HeaderChecksum(pkt[l.l3:l.l4])
	}
	return nil
}

// fillL4 writes the full L4 checksum of the packet laid out as l, whose
// L4 payload ends at end, and returns the pseudo-header sum it used.
func fillL4(pkt []byte, l *layout, end int) uint16 {
	var ps uint16
	if l.v6 {
		ps = PseudoSum6(pkt[l.l3:], l.proto, end-l.l4)
	} else {
		ps = PseudoSum4(pkt[l.l3:], l.proto, end-l.l4)
	}
	f := l.l4 + l.csumOff()
	pkt[f], pkt[f+1] = 0, 0
	c := ^csum.Sum(pkt[l.l4:end], ps)
	if c == 0 && l.proto == protoUDP {
		c = 0xFFFF
	}
	binary.BigEndian.PutUint16(pkt[f:], c)
	return ps
}
