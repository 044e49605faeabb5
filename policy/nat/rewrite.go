package nat

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/internal/csum"
	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// Packet rewriting: addresses, ports and ICMP identifiers set in place,
// every checksum that covers them updated incrementally (RFC 1624: for a
// 16-bit word changed from m to m', HC' = ~(~HC + ~m + m')), so the cost
// does not depend on the payload and a frame in pieces (a chain: all its
// headers in the first buffer) is rewritten through its first piece.
//
// A checksum update is a ones'-complement delta: the sum of ~m + m' over
// every changed word. The address delta goes into the IPv4 header
// checksum and into the L4 checksum of protocols with a pseudo header
// (TCP, UDP, UDP-Lite, DCCP, ICMPv6); the port delta into the L4
// checksum only. When the L4 checksum is partial (pipeline.Meta has
// OffloadCsumPartial: the field holds the pseudo-header sum, not
// complemented, and whoever completes it sums the rest), only the
// address delta applies, added rather than complemented.

const (
	protoICMP    = 1
	protoTCP     = 6
	protoUDP     = 17
	protoDCCP    = 33
	protoICMPv6  = 58
	protoSCTP    = 132
	protoUDPLite = 136
	maxExt       = 8 // IPv6 extension headers followed, as conntrack
)

// hdr is where locate found a packet's L4 header.
type hdr struct {
	v6    bool
	proto uint8
	l4    int
	end   int // the end of the IP packet within the slice
}

// locate finds the L4 header of the IP packet b (IPv4 or IPv6, following
// up to maxExt IPv6 extension headers as conntrack.Parse does). A total
// length shorter than b trims Ethernet padding off; a longer one (the
// first piece of a chain) or zero (a GSO frame) leaves b whole, and so
// does a quote in an ICMP error (inner: cut short, its lengths are those
// of the packet it was). It never reads outside b.
func locate(b []byte, h *hdr, inner bool) Reason {
	if len(b) < 1 {
		return ReasonTruncated
	}
	h.end = len(b)
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return ReasonTruncated
		}
		hl := int(b[0]&15) * 4
		if hl < 20 {
			return ReasonBadHeader
		}
		if len(b) < hl {
			return ReasonTruncated
		}
		if tot := int(binary.BigEndian.Uint16(b[2:])); !inner && tot != 0 {
			if tot < hl {
				return ReasonBadHeader
			}
			h.end = min(tot, len(b))
		}
		if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
			return ReasonFragment
		}
		h.v6, h.proto, h.l4 = false, b[9], hl
		return ReasonNone
	case 6:
		if len(b) < 40 {
			return ReasonTruncated
		}
		if pl := int(binary.BigEndian.Uint16(b[4:])); pl != 0 && 40+pl < len(b) && !inner {
			h.end = 40 + pl
		}
		nh, off := b[6], 40
		for i := 0; ; i++ {
			var hl int
			switch nh {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if h.end < off+2 {
					return ReasonTruncated
				}
				hl = (int(b[off+1]) + 1) * 8
			case 51: // AH
				if h.end < off+2 {
					return ReasonTruncated
				}
				hl = (int(b[off+1]) + 2) * 4
			case 44: // fragment
				hl = 8
			default:
				h.v6, h.proto, h.l4 = true, nh, off
				return ReasonNone
			}
			if i == maxExt {
				return ReasonBadHeader
			}
			if h.end < off+hl {
				return ReasonTruncated
			}
			if nh == 44 && binary.BigEndian.Uint16(b[off+2:])&^7 != 0 {
				return ReasonFragment
			}
			nh = b[off]
			off += hl
		}
	}
	return ReasonBadHeader
}

// fix applies delta d to the complemented checksum c (RFC 1624 eqn. 3).
func fix(c uint16, d uint64) uint16 { return ^csum.Fold(uint64(^c) + d) }

// put16 writes v at b[0:2] and returns the delta of the change.
func put16(b []byte, v uint16) uint64 {
	old := binary.BigEndian.Uint16(b)
	if old == v {
		return 0
	}
	binary.BigEndian.PutUint16(b, v)
	return uint64(^old) + uint64(v)
}

// putAddr writes address a (IPv4-mapped for v4) at b and returns the
// delta of the change.
func putAddr(b []byte, a conntrack.Addr, v6 bool) uint64 {
	if !v6 {
		old, v := binary.BigEndian.Uint32(b), uint32(a.Lo)
		if old == v {
			return 0
		}
		binary.BigEndian.PutUint32(b, v)
		return uint64(csum.Fold(uint64(^old))) + uint64(csum.Fold(uint64(v)))
	}
	hi, lo := binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
	if hi == a.Hi && lo == a.Lo {
		return 0
	}
	binary.BigEndian.PutUint64(b, a.Hi)
	binary.BigEndian.PutUint64(b[8:], a.Lo)
	return uint64(csum.Fold(^hi)) + uint64(csum.Fold(a.Hi)) + uint64(csum.Fold(^lo)) + uint64(csum.Fold(a.Lo))
}

// addrIs reports whether the address at b is a.
func addrIs(b []byte, a conntrack.Addr, v6 bool) bool {
	if !v6 {
		return binary.BigEndian.Uint32(b) == uint32(a.Lo)
	}
	return binary.BigEndian.Uint64(b) == a.Hi && binary.BigEndian.Uint64(b[8:]) == a.Lo
}

// icmpQuery reports whether ICMP (v6 false) or ICMPv6 type t is a query
// or reply with an identifier at offset 4 (what conntrack tracks).
func icmpQuery(t uint8, v6 bool) bool {
	if v6 {
		return t == 128 || t == 129 || t == 139 || t == 140
	}
	return t == 0 || t == 8 || t >= 13 && t <= 18
}

// icmpError reports whether type t is an error conntrack relates to a
// flow.
func icmpError(t uint8, v6 bool) bool {
	if v6 {
		return t >= 1 && t <= 4
	}
	return t == 3 || t == 4 || t == 5 || t == 11 || t == 12
}

// l4Shape says what L4 header of protocol proto has: where its checksum
// is (-1: none NAT updates), whether a pseudo header is in it, how many
// bytes a rewrite needs, and whether it has ports (else an ICMP query
// identifier at 4, or nothing). ok is false for a protocol NAT does not
// translate.
type l4Shape struct {
	csumAt       int
	pseudo       bool
	need         int // bytes of L4 header needed (a quote: at least the ports)
	ports, ident bool
	udpZero      bool // a zero checksum means none and stays zero
}

func shapeOf(b []byte, h *hdr, inner bool) (s l4Shape, r Reason) {
	switch {
	case h.proto == protoTCP:
		s = l4Shape{csumAt: 16, pseudo: true, need: 20, ports: true}
		if inner {
			s.need = 4
		}
	case h.proto == protoUDP || h.proto == protoUDPLite || h.proto == protoDCCP:
		s = l4Shape{csumAt: 6, pseudo: true, need: 8, ports: true, udpZero: h.proto != protoDCCP}
		if inner {
			s.need = 4
		}
	case h.proto == protoICMP && !h.v6 || h.proto == protoICMPv6 && h.v6:
		if h.end < h.l4+8 {
			return s, ReasonTruncated
		}
		if !icmpQuery(b[h.l4], h.v6) {
			return s, ReasonProto
		}
		s = l4Shape{csumAt: 2, pseudo: h.v6, need: 8, ident: true}
	case h.proto == protoSCTP || h.v6:
		return s, ReasonProto
	default: // IPv4, a protocol without ports: addresses only
		s = l4Shape{csumAt: -1}
	}
	if h.end < h.l4+s.need {
		return s, ReasonTruncated
	}
	return s, ReasonNone
}

// setTuple rewrites the IP packet b, located in h, to addresses src and
// dst and ports sport and dport (an ICMP query: identifier sport), and
// fixes its checksums: the IPv4 header's, and the L4 one (full, or the
// pseudo-header part if partial). For a packet quoted in an ICMP error
// (inner) the L4 checksum is fixed only if the quote holds it. It returns
// the delta of all it changed, which an enclosing ICMP checksum needs. It
// changes nothing when it returns a Reason.
func setTuple(b []byte, h *hdr, src, dst conntrack.Addr, sport, dport uint16, partial, inner bool) (uint64, Reason) {
	s, r := shapeOf(b, h, inner)
	if r != ReasonNone {
		return 0, r
	}
	var a uint64 // address delta
	if h.v6 {
		a = putAddr(b[8:], src, true) + putAddr(b[24:], dst, true)
	} else {
		a = putAddr(b[12:], src, false) + putAddr(b[16:], dst, false)
	}
	all := a
	if a != 0 && !h.v6 {
		all += put16(b[10:], fix(binary.BigEndian.Uint16(b[10:]), a))
	}
	l4 := b[h.l4:h.end]
	var p uint64 // port delta
	switch {
	case s.ports:
		p = put16(l4, sport) + put16(l4[2:], dport)
	case s.ident:
		p = put16(l4[4:], sport)
	}
	all += p
	if s.csumAt < 0 || s.csumAt+2 > len(l4) {
		return all, ReasonNone
	}
	c := binary.BigEndian.Uint16(l4[s.csumAt:])
	var nc uint16
	switch {
	case partial:
		if !s.pseudo || a == 0 {
			return all, ReasonNone
		}
		nc = csum.Fold(uint64(c) + a)
	case c == 0 && s.udpZero:
		return all, ReasonNone
	default:
		d := p
		if s.pseudo {
			d += a
		}
		if d == 0 {
			return all, ReasonNone
		}
		nc = fix(c, d)
		if nc == 0 && s.udpZero {
			nc = 0xffff
		}
	}
	return all + put16(l4[s.csumAt:], nc), ReasonNone
}

func family(k *conntrack.Key, h *hdr) bool { return k.IPv6() == h.v6 }

// Rewrite sets the source and destination addresses and ports of pkt, an
// IPv4 or IPv6 packet from its IP header, to those of to (for an ICMP or
// ICMPv6 query or reply: the identifier to to.SrcPort; to.DstPort, the
// type, is not written), and updates the IPv4 header checksum and the L4
// checksum incrementally. partial says the L4 checksum is partial
// (pipeline.OffloadCsumPartial, with the checksum start at this packet's
// L4 header): only its pseudo-header part changes. A UDP checksum of 0
// (none) stays 0. to.Zone is ignored; to's family and protocol must be
// the packet's.
//
// It handles TCP, UDP, UDP-Lite, DCCP, ICMP and ICMPv6 queries, and
// (IPv4 only) protocols without ports, whose addresses alone change. An
// ICMP error goes to RewriteICMPError. Otherwise, or if a header it must
// change is not all in pkt, it returns a Reason and changes nothing. It
// never reads or writes outside pkt and never allocates.
func Rewrite(pkt []byte, to *conntrack.Key, partial bool) Reason {
	return rewrite(pkt, to.Proto, to.IPv6(), to.Src, to.Dst, to.SrcPort, to.DstPort, partial)
}

func rewrite(pkt []byte, proto uint8, v6 bool, src, dst conntrack.Addr, sport, dport uint16, partial bool) Reason {
	var h hdr
	if r := locate(pkt, &h, false); r != ReasonNone {
		return r
	}
	if v6 != h.v6 {
		return ReasonFamily
	}
	if proto != h.proto {
		return ReasonProto
	}
	_, r := setTuple(pkt, &h, src, dst, sport, dport, partial, false)
	return r
}

// rewriteFragment sets the addresses of pkt, a fragment after the first
// (locate said ReasonFragment), to src and dst, with the IPv4 header
// checksum: such a fragment has no L4 header, its ports and L4 checksum
// are in the first fragment, which rewrite translated whole (the
// checksum's update covers the datagram's other pieces too: it is a
// difference). It changes nothing when it returns a Reason.
func rewriteFragment(pkt []byte, v6 bool, src, dst conntrack.Addr) Reason {
	switch {
	case !v6 && len(pkt) >= 20 && pkt[0]>>4 == 4:
		d := putAddr(pkt[12:], src, false) + putAddr(pkt[16:], dst, false)
		if d != 0 {
			put16(pkt[10:], fix(binary.BigEndian.Uint16(pkt[10:]), d))
		}
	case v6 && len(pkt) >= 40 && pkt[0]>>4 == 6:
		putAddr(pkt[8:], src, true)
		putAddr(pkt[24:], dst, true)
	default:
		return ReasonFamily
	}
	return ReasonNone
}

// RewriteICMPError translates an ICMP or ICMPv6 error about a packet of a
// translated flow. cur is the key, in the error's direction, that the
// error matched in conntrack (conntrack.Packet.Key: the reverse of the
// quoted packet's), want the key it must have after translation (for a
// packet of direction d: the reverse of the flow's key of the other
// direction). As Linux's nf_nat_icmp_reply_translation does, it rewrites
// the quoted packet to want.Reverse() (addresses, ports or identifier,
// its IPv4 header checksum, and its L4 checksum if the quote holds it),
// and the error's own source and destination where they are cur's source
// and destination (an error from a router on the path keeps its source),
// then fixes the error's IPv4 header checksum and its ICMP checksum
// (partial: the pseudo-header part only, ICMPv6). It changes nothing
// when it returns a Reason, never reads or writes outside pkt and never
// allocates.
func RewriteICMPError(pkt []byte, cur, want *conntrack.Key, partial bool) Reason {
	var h hdr
	if r := locate(pkt, &h, false); r != ReasonNone {
		return r
	}
	if !family(want, &h) || !family(cur, &h) {
		return ReasonFamily
	}
	if h.proto != protoICMP && !h.v6 || h.proto != protoICMPv6 && h.v6 {
		return ReasonNotError
	}
	if h.end < h.l4+8 {
		return ReasonTruncated
	}
	if !icmpError(pkt[h.l4], h.v6) {
		return ReasonNotError
	}
	q := pkt[h.l4+8 : h.end]
	var ih hdr
	if r := locate(q, &ih, true); r != ReasonNone {
		return r
	}
	if ih.v6 != h.v6 {
		return ReasonFamily
	}
	if ih.proto != want.Proto {
		return ReasonProto
	}
	iw := want.Reverse()
	d, r := setTuple(q, &ih, iw.Src, iw.Dst, iw.SrcPort, iw.DstPort, false, true)
	if r != ReasonNone {
		return r
	}
	var a uint64
	so, do := 12, 16
	if h.v6 {
		so, do = 8, 24
	}
	if addrIs(pkt[so:], cur.Src, h.v6) {
		a += putAddr(pkt[so:], want.Src, h.v6)
	}
	if addrIs(pkt[do:], cur.Dst, h.v6) {
		a += putAddr(pkt[do:], want.Dst, h.v6)
	}
	if a != 0 && !h.v6 {
		put16(pkt[10:], fix(binary.BigEndian.Uint16(pkt[10:]), a))
	}
	if h.v6 {
		d += a // the pseudo header
	}
	ic := pkt[h.l4+2:]
	c := binary.BigEndian.Uint16(ic)
	switch {
	case partial:
		if h.v6 && a != 0 {
			put16(ic, csum.Fold(uint64(c)+a))
		}
	case d != 0:
		put16(ic, fix(c, d))
	}
	return ReasonNone
}
