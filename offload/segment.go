package offload

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/internal/csum"
)

// Segment splits the GSO frame described by h into wire frames of at most
// h.GSOSize payload bytes each, writing frame i into dst[i] and its length
// into lens[i], and returns the number of frames.
//
// frags is the frame in pieces (frags[0] holds at least all headers up to
// the end of the L4 header; the payload may continue across the rest).
// dst[i] needs room for the headers and the payload of segment i: headers
// plus h.GSOSize is always enough. dst must not overlap frags.
//
// The frame is Ethernet (at most one VLAN tag), IPv4 (options allowed) or
// IPv6 (no extension header), then TCP for GSOTCPv4 and GSOTCPv6 or UDP
// for GSOUDPL4; its IP length field must match the frame length (the UDP
// length field of a GSOUDPL4 frame is not read). Every segment gets a
// copy of the headers with, for TCP, the sequence number
// advanced by the payload before it, FIN and PSH only on the last segment
// and CWR only on the first; for UDP its own length; the IPv4 total length,
// an IPv4 ID incremented per segment and the header checksum, or the IPv6
// payload length; and a full L4 checksum. A frame whose payload fits one
// segment gives one frame with the same fixes.
//
// With GSONone, the frame is copied to dst[0] unchanged, except that its
// checksum is completed as CompleteChecksum does if FlagNeedsCsum is set;
// the headers are not parsed.
//
// GSOUDP (UFO) returns ErrUnsupportedGSO. Any error is an Error, and on
// error nothing has been written to dst or lens: every check is made
// before the first byte is copied.
func Segment(frags [][]byte, h *VnetHdr, dst [][]byte, lens []int) (int, error) {
	n, e := segment(frags, h, dst, lens, false)
	return n, e.err()
}

// SegmentVXLAN is Segment for a frame already encapsulated in VXLAN (RFC
// 7348): outer Ethernet (at most one VLAN tag), IPv4 or IPv6, UDP (any
// port: the caller knows it is VXLAN), the 8-byte VXLAN header with the I
// flag, then the inner frame as Segment takes it. A GSONone frame is
// handled as Segment does. h describes the inner packet with offsets from the
// start of the outer frame (see VnetHdr.Shift): GSOType names the inner IP
// version and L4 protocol, CsumStart the inner L4 header.
//
// Each segment is a complete VXLAN packet: besides the inner fixes, the
// outer IPv4 total length, ID (incremented per segment) and header
// checksum, or the outer IPv6 payload length, and the outer UDP length.
// The outer UDP checksum follows the input: a zero checksum stays zero
// (RFC 7348 over IPv4, the RFC 6935 zero-checksum mode over IPv6); a
// non-zero one (any IPv6 tunnel of the encap package, or IPv4 with
// TemplateConfig.UDPChecksum4) is computed for each segment, without a
// pass over the payload: the inner L4 checksum is complete, so the inner L4
// bytes sum to the complement of their pseudo-header sum (local checksum
// offload, as Linux does it). The outer IP and UDP length fields of the
// input must match the frame length.
func SegmentVXLAN(frags [][]byte, h *VnetHdr, dst [][]byte, lens []int) (int, error) {
	n, e := segment(frags, h, dst, lens, true)
	return n, e.err()
}

func segment(frags [][]byte, h *VnetHdr, dst [][]byte, lens []int, tunnel bool) (int, Error) {
	if e := h.validate(); e != 0 {
		return 0, e
	}
	total := totalLen(frags)
	if total == 0 {
		return 0, ErrTruncated
	}
	if int(h.HdrLen) > total {
		return 0, ErrBadHdrLen
	}
	gso := h.GSOType &^ GSOECN
	if gso == GSONone {
		return single(frags, total, h, dst, lens)
	}
	if gso == GSOUDP {
		return 0, ErrUnsupportedGSO
	}
	b := frags[0]
	var out, in layout
	if tunnel {
		var e Error
		if out, e = parseOuter(b, total); e != 0 {
			return 0, e
		}
		if in, e = parse(b, out.end+vxlanLen); e != 0 {
			return 0, headerErr(e, len(b), total)
		}
	} else {
		var e Error
		if in, e = parse(b, 0); e != 0 {
			return 0, headerErr(e, len(b), total)
		}
	}
	if in.ipEnd != total {
		return 0, ErrBadLength
	}
	switch gso {
	case GSOTCPv4:
		if in.v6 || in.proto != protoTCP {
			return 0, ErrGSOMismatch
		}
	case GSOTCPv6:
		if !in.v6 || in.proto != protoTCP {
			return 0, ErrGSOMismatch
		}
	case GSOUDPL4:
		if in.proto != protoUDP {
			return 0, ErrGSOMismatch
		}
	}
	if h.Flags&FlagNeedsCsum != 0 && int(h.CsumStart) != in.l4 {
		return 0, ErrBadCsumStart
	}

	hdr := in.end
	payload := total - hdr
	mss := int(h.GSOSize)
	nseg := max(1, (payload+mss-1)/mss)
	if nseg > len(dst) || nseg > len(lens) {
		return 0, ErrTooManySegments
	}
	for i := range nseg - 1 {
		if len(dst[i]) < hdr+mss {
			return 0, ErrDstTooSmall
		}
	}
	if len(dst[nseg-1]) < total-(nseg-1)*mss {
		return 0, ErrDstTooSmall
	}

	s := segmenter{hdrs: b[:hdr], in: in, out: out, tunnel: tunnel}
	s.init()
	g := gather{frags: frags}
	g.skip(hdr)
	for i := range nseg {
		p := mss
		if i == nseg-1 {
			p = payload - i*mss
		}
		o := dst[i][:hdr+p]
		copy(o, s.hdrs)
		g.read(o[hdr:])
		s.fix(o, i, i == nseg-1, uint32(i*mss))
		lens[i] = len(o)
	}
	return nseg, 0
}

// parseOuter parses the outer headers of a VXLAN frame and checks them
// against the frame length total.
func parseOuter(b []byte, total int) (layout, Error) {
	out, e := parse(b, 0)
	if e != 0 {
		if out.l4 != 0 && out.proto != protoUDP && e != ErrIPv6ExtHeaders {
			return out, ErrNotVXLAN // an outer L4 header that is not UDP
		}
		return out, headerErr(e, len(b), total)
	}
	if out.proto != protoUDP {
		return out, ErrNotVXLAN
	}
	if len(b) < out.end+vxlanLen {
		return out, headerErr(ErrTruncated, len(b), total)
	}
	if b[out.end]&0x08 == 0 {
		return out, ErrNotVXLAN
	}
	if out.ipEnd != total || int(binary.BigEndian.Uint16(b[out.l4+4:])) != total-out.l4 {
		return out, ErrBadLength
	}
	return out, 0
}

// headerErr tells headers truncated in the frame from headers that go on
// past frags[0].
func headerErr(e Error, first, total int) Error {
	if e == ErrTruncated && total > first {
		return ErrSplitHeaders
	}
	return e
}

// single copies a frame that is not GSO to dst[0] and completes its
// checksum if it is partial.
func single(frags [][]byte, total int, h *VnetHdr, dst [][]byte, lens []int) (int, Error) {
	if len(dst) < 1 || len(lens) < 1 {
		return 0, ErrTooManySegments
	}
	if len(dst[0]) < total {
		return 0, ErrDstTooSmall
	}
	partial := h.Flags&FlagNeedsCsum != 0
	if partial && int(h.CsumOffset) > total-int(h.CsumStart)-2 {
		return 0, ErrBadCsumOffset
	}
	o := dst[0][:total]
	g := gather{frags: frags}
	g.read(o)
	if partial {
		_ = CompleteChecksum(o, int(h.CsumStart), int(h.CsumOffset)) // checked above
	}
	lens[0] = total
	return 1, 0
}

// segmenter holds what is the same for every segment of a frame.
type segmenter struct {
	hdrs     []byte // the headers of the GSO frame
	in, out  layout // inner (or only) and outer packet
	tunnel   bool
	outCsum  bool   // the outer UDP checksum is computed
	inAddrs  uint16 // partial sums of the pseudo-header addresses
	outAddrs uint16
	inID     uint16 // IPv4 IDs of the GSO frame
	outID    uint16
	seq      uint32 // TCP sequence number of the GSO frame
}

func (s *segmenter) init() {
	s.inAddrs, s.inID = ipConsts(s.hdrs, &s.in)
	if s.in.proto == protoTCP {
		s.seq = binary.BigEndian.Uint32(s.hdrs[s.in.l4+4:])
	}
	if s.tunnel {
		s.outAddrs, s.outID = ipConsts(s.hdrs, &s.out)
		s.outCsum = binary.BigEndian.Uint16(s.hdrs[s.out.l4+6:]) != 0
	}
}

// ipConsts returns the partial sum of the pseudo-header addresses and the
// IPv4 ID (0 for IPv6) of the packet laid out as l.
func ipConsts(b []byte, l *layout) (uint16, uint16) {
	if l.v6 {
		return addrSum6(b[l.l3:]), 0
	}
	return addrSum4(b[l.l3:]), binary.BigEndian.Uint16(b[l.l3+4:])
}

// fix rewrites the copied headers of segment i (o, headers and payload)
// whose payload starts off bytes into the GSO payload.
func (s *segmenter) fix(o []byte, i int, last bool, off uint32) {
	n := len(o)
	in := &s.in
	setIPLen(o, in, n, s.inID+uint16(i))
	l4len := n - in.l4
	ps := pseudo(s.inAddrs, in.proto, l4len)
	if in.proto == protoTCP {
		t := o[in.l4:]
		binary.BigEndian.PutUint32(t[4:], s.seq+off)
		if !last {
			t[13] &^= tcpFIN | tcpPSH
		}
		if i > 0 {
			t[13] &^= tcpCWR
		}
		t[16], t[17] = 0, 0
		binary.BigEndian.PutUint16(t[16:], ^csum.Sum(o[in.l4:], ps))
	} else {
		u := o[in.l4:]
		binary.BigEndian.PutUint16(u[4:], uint16(l4len))
		u[6], u[7] = 0, 0
		binary.BigEndian.PutUint16(u[6:], udpCsum(csum.Sum(o[in.l4:], ps)))
	}
	if !s.tunnel {
		return
	}
	out := &s.out
	setIPLen(o, out, n, s.outID+uint16(i))
	ulen := n - out.l4
	u := o[out.l4:]
	binary.BigEndian.PutUint16(u[4:], uint16(ulen))
	if s.outCsum {
		u[6], u[7] = 0, 0
		// The inner L4 bytes, checksum included, sum to ^ps.
		sum := csum.Sum(o[out.l4:in.l4], pseudo(s.outAddrs, protoUDP, ulen))
		binary.BigEndian.PutUint16(u[6:], udpCsum(csum.Fold(uint64(sum)+uint64(^ps))))
	}
}

// setIPLen sets the length fields of the IP header laid out as l for a
// packet ending at n and, for IPv4, the ID and the header checksum.
func setIPLen(o []byte, l *layout, n int, id uint16) {
	ip := o[l.l3:l.l4]
	if l.v6 {
		binary.BigEndian.PutUint16(ip[4:], uint16(n-l.l4))
		return
	}
	binary.BigEndian.PutUint16(ip[2:], uint16(n-l.l3))
	binary.BigEndian.PutUint16(ip[4:], id)
	ipv4HeaderChecksum(ip)
}

// udpCsum is the UDP checksum field for a message summing to s, 0 sent as
// 0xFFFF (RFC 768).
func udpCsum(s uint16) uint16 {
	if c := ^s; c != 0 {
		return c
	}
	return 0xFFFF
}
