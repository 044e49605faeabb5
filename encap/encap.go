package encap

import "encoding/binary"

// Largest inner frames whose outer length fields do not overflow: the IPv4
// total length and the IPv6 payload length are 16 bits.
const (
	maxInner4 = 0xFFFF - IPv4Len - UDPLen - HeaderLen
	maxInner6 = 0xFFFF - UDPLen - HeaderLen
)

// Encap encapsulates the inner Ethernet frame buf[innerOff:innerOff+innerLen]
// in place: it writes t's outer header into the t.Len() bytes in front of
// it and fills in the per-packet fields, and returns where the packet now
// starts and its length (innerOff-t.Len(), innerLen+t.Len()). The inner
// frame is not moved or copied.
//
// buf is typically a pool frame and innerOff the packet's offset in it
// (pipeline.Meta.Off), so the header goes into the headroom; the caller
// then moves the packet's start as Pool.Prepend(id, t.Len()) does. ok is
// false, and buf is untouched, when innerOff leaves less than t.Len() bytes
// of headroom, the inner frame does not lie within buf, or it is too long
// for the outer length fields, or t is the zero Template.
//
// The per-packet fields: the IPv4 total length and header checksum (the
// template's partial sum plus the length, complemented), or the IPv6
// payload length; the UDP length; the UDP source port, t.SrcPort(flowHash);
// and the UDP checksum, summed over the inner frame and added to the
// template's partial sum for IPv6 (and IPv4 when configured), else 0.
//
// flowHash should be a hash of the inner flow, such as InnerFlowHash, so
// that the underlay's ECMP and RSS spread tunnels' flows (RFC 7348
// section 5) while keeping each flow's packets in order.
func Encap(t *Template, buf []byte, innerOff, innerLen int, flowHash uint32) (newOff, newLen int, ok bool) {
	n := int(t.n)
	maxInner := maxInner4
	if t.is6 {
		maxInner = maxInner6
	}
	if n == 0 || innerOff < n || innerOff > len(buf) || innerLen < 0 || innerLen > len(buf)-innerOff || innerLen > maxInner {
		return innerOff, innerLen, false
	}
	off := innerOff - n
	h := buf[off:innerOff]
	// Fixed-size copies of the usual lengths compile to a few vector moves
	// instead of a call to memmove.
	switch n {
	case Overhead4:
		*(*[Overhead4]byte)(h) = [Overhead4]byte(t.hdr[:Overhead4])
	case Overhead6:
		*(*[Overhead6]byte)(h) = [Overhead6]byte(t.hdr[:Overhead6])
	default:
		copy(h, t.hdr[:n])
	}
	ip := h[t.ip:]
	sport := t.SrcPort(flowHash)
	udpLen := uint16(UDPLen + HeaderLen + innerLen)
	if t.is6 {
		binary.BigEndian.PutUint16(ip[4:], udpLen)
		udp := ip[IPv6Len : IPv6Len+UDPLen]
		binary.BigEndian.PutUint16(udp[0:], sport)
		binary.BigEndian.PutUint16(udp[4:], udpLen)
		s := fold32(uint32(t.udpSum) + 2*uint32(udpLen) + uint32(sport))
		binary.BigEndian.PutUint16(udp[6:], udpChecksum(sum(buf[innerOff:innerOff+innerLen], s)))
	} else {
		tl := uint16(IPv4Len) + udpLen
		binary.BigEndian.PutUint16(ip[2:], tl)
		binary.BigEndian.PutUint16(ip[10:], ^fold32(uint32(t.ipSum)+uint32(tl)))
		udp := ip[IPv4Len : IPv4Len+UDPLen]
		binary.BigEndian.PutUint16(udp[0:], sport)
		binary.BigEndian.PutUint16(udp[4:], udpLen)
		if t.udpSum4 {
			s := fold32(uint32(t.udpSum) + 2*uint32(udpLen) + uint32(sport))
			binary.BigEndian.PutUint16(udp[6:], udpChecksum(sum(buf[innerOff:innerOff+innerLen], s)))
		}
	}
	return off, n + innerLen, true
}
