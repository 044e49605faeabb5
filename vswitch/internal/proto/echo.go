package proto

import "encoding/binary"

// ReplyTTL is the TTL or hop limit of the packets this package originates:
// echo replies and ICMP errors.
const ReplyTTL = 64

// Echo4ReplyInPlace turns the ICMP echo request ip (an IPv4 packet that
// passed Check4 and CheckICMP4, type ICMP4Echo, addressed to one of our
// unicast addresses) into its echo reply: source and destination swapped,
// TTL ReplyTTL, type echo reply; identifier, sequence, data and IP options
// are kept. Both checksums are updated incrementally (a swap does not
// change a one's-complement sum), so the cost does not grow with the data.
// The caller gives the packet to the FIB as a new, locally sent one.
func Echo4ReplyInPlace(ip []byte) {
	hl := HeaderLen4(ip)
	_ = ip[hl+3]
	a := binary.BigEndian.Uint64(ip[12:])
	binary.BigEndian.PutUint64(ip[12:], a<<32|a>>32)
	// The TTL shares a 16-bit word with the protocol; the type with the code.
	old := binary.BigEndian.Uint16(ip[8:])
	ip[8] = ReplyTTL
	csum := Update16(binary.BigEndian.Uint16(ip[10:]), old, binary.BigEndian.Uint16(ip[8:]))
	binary.BigEndian.PutUint16(ip[10:], csum)
	msg := ip[hl:]
	old = binary.BigEndian.Uint16(msg)
	msg[0] = ICMP4EchoReply
	csum = Update16(binary.BigEndian.Uint16(msg[2:]), old, binary.BigEndian.Uint16(msg))
	binary.BigEndian.PutUint16(msg[2:], csum)
}

// Echo6ReplyInPlace turns the ICMPv6 echo request ip (an IPv6 packet that
// passed Check6 and CheckICMP6, type ICMP6EchoRequest) into its echo reply
// from srcHi, srcLo: the request's source becomes the destination, the
// hop limit ReplyTTL, the type echo reply, and the checksum is recomputed
// over the new pseudo-header and the message. The caller chooses the
// source: the address that was pinged, or, when that was multicast, a
// unicast address of the receiving interface (RFC 4443 4.2).
func Echo6ReplyInPlace(ip []byte, srcHi, srcLo uint64) {
	_ = ip[HeaderLen6+3]
	copy(ip[24:40], ip[8:24])
	putAddr6(ip[8:], srcHi, srcLo)
	ip[7] = ReplyTTL
	ip[HeaderLen6] = ICMP6EchoReply
	setICMP6Checksum(ip)
}
