package proto

import "encoding/binary"

// Check6 validates the IPv6 header at the front of ip. Reasons: Runt (ip
// shorter than 40 bytes), BadVersion and BadLength (the payload length
// runs past ip). As with IPv4, a longer ip (Ethernet padding) is accepted;
// the caller trims it to HeaderLen6+PayloadLen6. Extension headers are not
// inspected, and jumbograms (payload length 0 with a jumbo option) are
// seen as empty packets.
func Check6(ip []byte) Reason { return Check6Avail(ip, len(ip)) }

// Check6Avail is Check6 for a packet of avail bytes of which ip holds the
// first (at least the fixed header): a large frame in a pipeline chain.
func Check6Avail(ip []byte, avail int) Reason {
	if len(ip) < HeaderLen6 {
		return Runt
	}
	if ip[0]>>4 != 6 {
		return BadVersion
	}
	if HeaderLen6+int(binary.BigEndian.Uint16(ip[4:])) > avail {
		return BadLength
	}
	return OK
}

// Src6 returns the source address.
func Src6(ip []byte) (hi, lo uint64) {
	return binary.BigEndian.Uint64(ip[8:]), binary.BigEndian.Uint64(ip[16:])
}

// Dst6 returns the destination address.
func Dst6(ip []byte) (hi, lo uint64) {
	return binary.BigEndian.Uint64(ip[24:]), binary.BigEndian.Uint64(ip[32:])
}

// NextHeader6 returns the next header field of the fixed header.
func NextHeader6(ip []byte) uint8 { return ip[6] }

// HopLimit6 returns the hop limit.
func HopLimit6(ip []byte) uint8 { return ip[7] }

// PayloadLen6 returns the payload length: the bytes after the fixed
// header, extension headers included.
func PayloadLen6(ip []byte) int { return int(binary.BigEndian.Uint16(ip[4:])) }

// putAddr6 writes an address at the front of b.
func putAddr6(b []byte, hi, lo uint64) {
	binary.BigEndian.PutUint64(b, hi)
	binary.BigEndian.PutUint64(b[8:], lo)
}

// fragKind says what a fragment header, if any, made of a packet.
type fragKind uint8

const (
	notFragment   fragKind = iota
	firstFragment          // offset 0: the upper-layer header is here
	laterFragment          // offset > 0: only upper-layer payload is here
)

// maxExtHeaders bounds the extension header walk; real packets have one
// or two, and a longer chain is treated as opaque.
const maxExtHeaders = 8

// upperLayer6 skips the extension headers of ip (hop-by-hop, routing,
// fragment, destination options, AH) and returns the protocol that follows
// them and its offset in ip. When the chain is longer than maxExtHeaders or
// runs past ip, it stops and returns the extension header it could not
// skip, so the caller sees a protocol it does not handle. off may equal
// len(ip): the caller checks there is room for what it reads at off.
func upperLayer6(ip []byte) (nh uint8, off int, frag fragKind) {
	nh, off = ip[6], HeaderLen6
	for range maxExtHeaders {
		var n int
		switch nh {
		case ProtoHopByHop, ProtoRouting, ProtoDstOpts:
			if off+2 > len(ip) {
				return nh, off, frag
			}
			n = int(ip[off+1])<<3 + 8
		case ProtoFragment:
			if off+8 > len(ip) {
				return nh, off, frag
			}
			frag = firstFragment
			if binary.BigEndian.Uint16(ip[off+2:])&^7 != 0 {
				frag = laterFragment
			}
			n = 8
		case ProtoAH:
			if off+2 > len(ip) {
				return nh, off, frag
			}
			n = int(ip[off+1])<<2 + 8
		default:
			return nh, off, frag
		}
		if off+n > len(ip) {
			return nh, off, frag
		}
		nh = ip[off]
		off += n
		if frag == laterFragment {
			// What follows is payload, whatever nh says it starts with.
			return nh, off, frag
		}
	}
	return nh, off, frag
}

// putIP6 writes an IPv6 header at the front of b with traffic class and
// flow label 0.
func putIP6(b []byte, payloadLen int, nh, hopLimit uint8, srcHi, srcLo, dstHi, dstLo uint64) {
	_ = b[39]
	binary.BigEndian.PutUint32(b, 6<<28)
	binary.BigEndian.PutUint16(b[4:], uint16(payloadLen))
	b[6], b[7] = nh, hopLimit
	putAddr6(b[8:], srcHi, srcLo)
	putAddr6(b[24:], dstHi, dstLo)
}
