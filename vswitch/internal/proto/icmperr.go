package proto

import "encoding/binary"

// Limits of ICMP error messages.
const (
	MaxICMP4ErrorLen = 576  // RFC 1812 4.3.2.3: the whole IPv4 packet
	MaxICMP6ErrorLen = 1280 // RFC 4443 2.4(c): the IPv6 minimum MTU

	ICMP4ErrorHeadroom = MinHeaderLen4 + ICMPHeaderLen // bytes BuildICMP4Error puts before the quote
	ICMP6ErrorHeadroom = HeaderLen6 + ICMPHeaderLen    // bytes BuildICMP6Error puts before the quote

	icmp4ErrorTOS = 0xC0 // precedence 6, internetwork control (RFC 1812 4.3.2.5)
)

// BuildICMP4Error writes into dst an IPv4 packet (no Ethernet) carrying an
// ICMP error about orig, the offending IPv4 packet: from src to orig's
// source, TTL ReplyTTL, TOS 0xC0, DF clear, the identification of orig;
// ICMP type typ and code code, aux as the second 32-bit word of the ICMP
// header (the next-hop MTU for ICMP4CodeFragNeed, the pointer shifted left
// 24 bits for a parameter problem, the gateway for a redirect, else 0);
// then as much of orig, up to its total length, as keeps the packet within
// MaxICMP4ErrorLen and dst. It returns the packet length, or 0 if orig is
// shorter than an IPv4 header or dst shorter than ICMP4ErrorHeadroom. Both
// checksums are set.
//
// dst and orig may overlap; in particular orig may sit ICMP4ErrorHeadroom
// bytes into dst's buffer, so that the quote needs no copy. Whether to send
// at all is ICMP4ErrorAllowed's question.
func BuildICMP4Error(dst, orig []byte, typ, code uint8, aux uint32, src uint32) int {
	if len(orig) < MinHeaderLen4 || len(dst) < ICMP4ErrorHeadroom {
		return 0
	}
	to, id := Src4(orig), binary.BigEndian.Uint16(orig[4:])
	q := len(orig)
	if tl := TotalLen4(orig); tl >= MinHeaderLen4 && tl < q {
		q = tl
	}
	q = min(q, MaxICMP4ErrorLen-ICMP4ErrorHeadroom, len(dst)-ICMP4ErrorHeadroom)
	n := ICMP4ErrorHeadroom + q
	copy(dst[ICMP4ErrorHeadroom:n], orig[:q]) // before writing headers: orig may overlap dst
	ip := dst[:n]
	binary.BigEndian.PutUint32(ip, 0x45<<24|icmp4ErrorTOS<<16|uint32(n))
	binary.BigEndian.PutUint32(ip[4:], uint32(id)<<16)
	binary.BigEndian.PutUint32(ip[8:], ReplyTTL<<24|uint32(ProtoICMP)<<16)
	binary.BigEndian.PutUint32(ip[12:], src)
	binary.BigEndian.PutUint32(ip[16:], to)
	binary.BigEndian.PutUint16(ip[10:], ^sum32(ip[:MinHeaderLen4]))
	msg := ip[MinHeaderLen4:]
	binary.BigEndian.PutUint32(msg, uint32(typ)<<24|uint32(code)<<16)
	binary.BigEndian.PutUint32(msg[4:], aux)
	binary.BigEndian.PutUint16(msg[2:], Checksum(msg, 0))
	return n
}

// ICMP4ErrorAllowed reports whether RFC 1812 4.3.2.7 lets a router send an
// ICMP error about the IPv4 packet orig. It says no when orig is shorter
// than an IPv4 header, is a fragment other than the first, is itself an
// ICMP error (or of an unknown ICMP type, or too short to tell), is sent
// to a multicast or the limited broadcast address, or comes from an address
// that is not one host's: 0/8, 127/8, multicast, 240/4 and broadcast.
// The caller also refuses frames received as link-layer broadcast or
// multicast and packets to a subnet-directed broadcast, which only it can
// see.
func ICMP4ErrorAllowed(orig []byte) bool {
	if len(orig) < MinHeaderLen4 || FragOffset4(orig) != 0 {
		return false
	}
	src, dst := Src4(orig), Dst4(orig)
	if IsThisNetwork4(src) || IsLoopback4(src) || IsMulticast4(src) || IsReserved4(src) ||
		IsMulticast4(dst) || IsBroadcast4(dst) {
		return false
	}
	if Proto4(orig) == ProtoICMP {
		hl := HeaderLen4(orig)
		if hl < MinHeaderLen4 || hl >= len(orig) || !isICMP4Query(orig[hl]) {
			return false
		}
	}
	return true
}

// isICMP4Query reports whether an ICMP type is a known non-error message.
func isICMP4Query(typ uint8) bool {
	switch typ {
	case ICMP4DestUnreach, 4, ICMP4Redirect, ICMP4TimeExceeded, ICMP4ParamProblem:
		return false // 4 is the deprecated source quench
	}
	return typ <= icmp4MaxKnownType
}

// BuildICMP6Error writes into dst an IPv6 packet (no Ethernet) carrying an
// ICMPv6 error about orig, the offending IPv6 packet: from srcHi, srcLo to
// orig's source, hop limit ReplyTTL; type typ and code code, aux as the
// second 32-bit word of the ICMPv6 header (the MTU for packet too big, the
// pointer for a parameter problem, else 0); then as much of orig, up to
// its payload length, as keeps the packet within MaxICMP6ErrorLen and dst;
// the checksum covers the pseudo-header. It returns the packet length, or
// 0 if orig is shorter than an IPv6 header or dst shorter than
// ICMP6ErrorHeadroom. dst and orig may overlap, as for BuildICMP4Error.
// Whether to send at all is ICMP6ErrorAllowed's question.
func BuildICMP6Error(dst, orig []byte, typ, code uint8, aux uint32, srcHi, srcLo uint64) int {
	if len(orig) < HeaderLen6 || len(dst) < ICMP6ErrorHeadroom {
		return 0
	}
	toHi, toLo := Src6(orig)
	q := min(len(orig), HeaderLen6+PayloadLen6(orig), MaxICMP6ErrorLen-ICMP6ErrorHeadroom, len(dst)-ICMP6ErrorHeadroom)
	n := ICMP6ErrorHeadroom + q
	copy(dst[ICMP6ErrorHeadroom:n], orig[:q]) // before writing headers: orig may overlap dst
	ip := dst[:n]
	putIP6(ip, ICMPHeaderLen+q, ProtoICMPv6, ReplyTTL, srcHi, srcLo, toHi, toLo)
	msg := ip[HeaderLen6:]
	binary.BigEndian.PutUint32(msg, uint32(typ)<<24|uint32(code)<<16)
	binary.BigEndian.PutUint32(msg[4:], aux)
	setICMP6Checksum(ip)
	return n
}

// ICMP6ErrorAllowed reports whether RFC 4443 2.4(e) lets a node send an
// ICMPv6 error of type typ and code code about the IPv6 packet orig. It
// says no when orig is shorter than an IPv6 header; is an ICMPv6 error or
// redirect (or an ICMPv6 message too short to tell, unless a later
// fragment, whose type cannot be seen); was sent to a multicast address,
// unless the error is packet too big or a parameter problem with code
// ICMP6CodeOption; or comes from ::, ::1 or a multicast address. The
// caller also refuses, with the same exceptions, frames received as
// link-layer multicast or broadcast, and applies the rate limit.
func ICMP6ErrorAllowed(orig []byte, typ, code uint8) bool {
	if len(orig) < HeaderLen6 {
		return false
	}
	srcHi, srcLo := Src6(orig)
	if IsUnspecified6(srcHi, srcLo) || IsLoopback6(srcHi, srcLo) || IsMulticast6(srcHi, srcLo) {
		return false
	}
	if dstHi, dstLo := Dst6(orig); IsMulticast6(dstHi, dstLo) &&
		typ != ICMP6PacketTooBig && (typ != ICMP6ParamProblem || code != ICMP6CodeOption) {
		return false
	}
	pkt := orig[:min(len(orig), HeaderLen6+PayloadLen6(orig))]
	nh, off, frag := upperLayer6(pkt)
	if nh == ProtoICMPv6 && frag != laterFragment {
		if off >= len(pkt) {
			return false
		}
		if t := pkt[off]; t < ICMP6EchoRequest || t == ICMP6Redirect {
			return false
		}
	}
	return true
}
