package encap

import "encoding/binary"

// EncapGSO encapsulates a large (GSO) inner frame whose first firstLen
// bytes lie at buf[innerOff:] and which is totalLen bytes long in all (the
// rest is in further buffers of a pipeline chain, which are not touched).
// It writes the outer header as Encap does, with the outer IP and UDP
// lengths of the whole frame, so that offload.SegmentVXLAN can cut the
// result into complete VXLAN packets, fixing inner and outer headers per
// segment. The outer UDP checksum is not summed: where the template has
// one (IPv6, or IPv4 with TemplateConfig.UDPChecksum4) it is set to
// 0xFFFF, which tells SegmentVXLAN to compute each segment's; otherwise
// it stays 0. ok is false, with buf untouched, when the headroom is short,
// the first part does not lie within buf, or totalLen would overflow the
// outer length fields (the caller then segments before encapsulating).
func EncapGSO(t *Template, buf []byte, innerOff, firstLen, totalLen int, flowHash uint32) (newOff, newFirstLen int, ok bool) {
	n := int(t.n)
	maxInner := maxInner4
	if t.is6 {
		maxInner = maxInner6
	}
	if n == 0 || innerOff < n || innerOff > len(buf) || firstLen < 0 || firstLen > len(buf)-innerOff ||
		totalLen < firstLen || totalLen > maxInner {
		return innerOff, firstLen, false
	}
	off := innerOff - n
	h := buf[off:innerOff]
	copy(h, t.hdr[:n])
	ip := h[t.ip:]
	sport := t.SrcPort(flowHash)
	udpLen := uint16(UDPLen + HeaderLen + totalLen)
	var udp []byte
	if t.is6 {
		binary.BigEndian.PutUint16(ip[4:], udpLen)
		udp = ip[IPv6Len : IPv6Len+UDPLen]
	} else {
		tl := uint16(IPv4Len) + udpLen
		binary.BigEndian.PutUint16(ip[2:], tl)
		binary.BigEndian.PutUint16(ip[10:], ^fold32(uint32(t.ipSum)+uint32(tl)))
		udp = ip[IPv4Len : IPv4Len+UDPLen]
	}
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[4:], udpLen)
	if t.is6 || t.udpSum4 {
		binary.BigEndian.PutUint16(udp[6:], 0xFFFF)
	}
	return off, n + firstLen, true
}
