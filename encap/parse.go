package encap

import (
	"encoding/binary"
	"net/netip"
)

// DecapConfig says what ParseOuter accepts. The zero value accepts VXLAN to
// DefaultPort, does not verify UDP checksums over IPv4 and refuses zero
// ones over IPv6.
type DecapConfig struct {
	// Port is the UDP destination port of VXLAN packets; 0 means
	// DefaultPort.
	Port uint16
	// VerifyUDP4 verifies non-zero UDP checksums over IPv4, which RFC 7348
	// section 5 leaves optional ("MAY"). A zero one is always accepted.
	VerifyUDP4 bool
	// AcceptZeroUDP6 accepts IPv6 packets whose UDP checksum is 0, which
	// RFC 6935 and RFC 6936 allow for tunnels configured so (Linux:
	// "udp6zerocsumrx"). Off, they count as ZeroUDPChecksum.
	AcceptZeroUDP6 bool
	// IPv4HeaderChecked skips the outer IPv4 header's checksum: the
	// caller verified it already (the switch's vxlan-decap sits behind
	// ip4-forward, which checks every header it routes or delivers).
	IPv4HeaderChecked bool
}

// Outer is what ParseOuter learns from a VXLAN packet's outer headers. It
// is a comparable value with no pointers.
type Outer struct {
	// Src and Dst are the outer IP addresses, an IPv4 one in IPv4-mapped
	// form (::ffff:a.b.c.d), as netip.Addr.As16 writes it.
	Src, Dst [16]byte
	// SrcPort and DstPort are the UDP ports.
	SrcPort, DstPort uint16
	// VNI is the VXLAN network identifier. Whether it names a network of
	// ours is the caller's to check.
	VNI uint32
	// VLAN is the VLAN ID of the outer 802.1Q tag, 0 when untagged.
	VLAN uint16
	// TOS is the outer IPv4 TOS or IPv6 traffic class (DSCP and ECN, for
	// RFC 6040 decapsulation).
	TOS uint8
	// Is6 reports an IPv6 underlay.
	Is6 bool
	// InnerOff and InnerLen locate the inner Ethernet frame in the packet
	// given to ParseOuter. InnerLen comes from the UDP length: trailing
	// bytes past it (Ethernet padding) are not part of the inner frame.
	InnerOff, InnerLen int
}

// SrcAddr returns the outer source address.
func (o *Outer) SrcAddr() netip.Addr { return netip.AddrFrom16(o.Src).Unmap() }

// DstAddr returns the outer destination address.
func (o *Outer) DstAddr() netip.Addr { return netip.AddrFrom16(o.Dst).Unmap() }

// Src4 returns an IPv4 source address as a big-endian uint32 (10.0.0.1 is
// 0x0a000001), the form integer-keyed tables use.
func (o *Outer) Src4() uint32 { return binary.BigEndian.Uint32(o.Src[12:]) }

// Dst4 is Src4 for the destination address.
func (o *Outer) Dst4() uint32 { return binary.BigEndian.Uint32(o.Dst[12:]) }

// SrcHiLo returns the source address as two big-endian uint64 halves, the
// form integer-keyed IPv6 tables use.
func (o *Outer) SrcHiLo() (hi, lo uint64) {
	return binary.BigEndian.Uint64(o.Src[:8]), binary.BigEndian.Uint64(o.Src[8:])
}

// DstHiLo is SrcHiLo for the destination address.
func (o *Outer) DstHiLo() (hi, lo uint64) {
	return binary.BigEndian.Uint64(o.Dst[:8]), binary.BigEndian.Uint64(o.Dst[8:])
}

// v4Mapped is the prefix of an IPv4-mapped IPv6 address.
var v4Mapped = [12]byte{10: 0xFF, 11: 0xFF}

// ParseOuter checks that pkt, a frame starting at the outer Ethernet
// header, is a VXLAN packet for c.Port and returns its outer fields and
// where the inner frame lies. It checks, in order: an EtherType of IPv4 or
// IPv6 after at most one 802.1Q tag; for IPv4 the version, IHL (options are
// allowed and skipped), total length, header checksum, that it is not a
// fragment and that the protocol is UDP; for IPv6 the version, payload
// length and that the next header is UDP (no extension header is
// walked; a fragment header counts as Fragment); the UDP destination port,
// length and checksum (see DecapConfig); the VXLAN I flag (the reserved
// bits and fields are ignored, RFC 7348); and that the inner frame holds
// an Ethernet header. It does not check that the outer MAC or IP
// destination is ours or that the VNI is known: that is the caller's.
//
// Bytes past the outer IP length are ignored (Ethernet padding). It never
// reads outside pkt and never panics, whatever pkt holds. On any Reason but
// OK the Outer is partly filled and means nothing.
func ParseOuter(pkt []byte, c DecapConfig) (o Outer, r Reason) {
	if len(pkt) < EthLen {
		return o, Runt
	}
	et, l2 := binary.BigEndian.Uint16(pkt[12:]), EthLen
	if et == etherTypeVLAN {
		if len(pkt) < EthLen+VLANTagLen {
			return o, Runt
		}
		o.VLAN = binary.BigEndian.Uint16(pkt[14:]) & 0x0FFF
		et, l2 = binary.BigEndian.Uint16(pkt[16:]), EthLen+VLANTagLen
	}
	ip := pkt[l2:]
	var udp []byte   // the IP payload
	var udpOff int   // its offset in pkt
	var addrs []byte // the source and destination addresses
	switch et {
	case etherTypeIPv4:
		if len(ip) < IPv4Len {
			return o, Runt
		}
		hl := int(ip[0]&0x0F) << 2
		if ip[0]>>4 != 4 || hl < IPv4Len {
			return o, BadOuterIP
		}
		if hl > len(ip) {
			return o, Runt
		}
		tl := int(binary.BigEndian.Uint16(ip[2:]))
		if tl < hl {
			return o, BadOuterIP
		}
		if tl > len(ip) {
			return o, Runt
		}
		if !c.IPv4HeaderChecked && sumIPv4(ip[:hl]) != 0xFFFF {
			return o, BadIPChecksum
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3FFF != 0 {
			return o, Fragment
		}
		if ip[9] != protoUDP {
			return o, NotUDP
		}
		copy(o.Src[:12], v4Mapped[:])
		copy(o.Src[12:], ip[12:16])
		copy(o.Dst[:12], v4Mapped[:])
		copy(o.Dst[12:], ip[16:20])
		o.TOS = ip[1]
		udp, udpOff, addrs = ip[hl:tl], l2+hl, ip[12:20]
	case etherTypeIPv6:
		if len(ip) < IPv6Len {
			return o, Runt
		}
		if ip[0]>>4 != 6 {
			return o, BadOuterIP
		}
		pl := int(binary.BigEndian.Uint16(ip[4:]))
		if pl > len(ip)-IPv6Len {
			return o, Runt
		}
		switch ip[6] {
		case protoUDP:
		case protoFragment:
			return o, Fragment
		default:
			return o, NotUDP
		}
		o.Src, o.Dst = [16]byte(ip[8:24]), [16]byte(ip[24:40])
		o.TOS = uint8(binary.BigEndian.Uint16(ip[0:]) >> 4)
		o.Is6 = true
		udp, udpOff, addrs = ip[IPv6Len:IPv6Len+pl], l2+IPv6Len, ip[8:40]
	default:
		return o, NotIP
	}
	return o, parseUDP(&o, udp, udpOff, addrs, c)
}

// parseUDP checks the UDP datagram udp, at offset udpOff in the packet,
// whose pseudo-header holds the addresses addrs, and the VXLAN header in
// it, and fills in the rest of o.
func parseUDP(o *Outer, udp []byte, udpOff int, addrs []byte, c DecapConfig) Reason {
	if len(udp) < UDPLen {
		return Runt
	}
	port := c.Port
	if port == 0 {
		port = DefaultPort
	}
	o.SrcPort = binary.BigEndian.Uint16(udp[0:])
	o.DstPort = binary.BigEndian.Uint16(udp[2:])
	if o.DstPort != port {
		return WrongPort
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < UDPLen || ulen > len(udp) {
		return BadUDPLength
	}
	udp = udp[:ulen]
	switch csum := binary.BigEndian.Uint16(udp[6:]); {
	case csum == 0:
		if o.Is6 && !c.AcceptZeroUDP6 {
			return ZeroUDPChecksum
		}
	case o.Is6 || c.VerifyUDP4:
		if sum(udp, sum(addrs, protoUDP+uint16(ulen))) != 0xFFFF {
			return BadUDPChecksum
		}
	}
	if ulen < UDPLen+HeaderLen {
		return Runt
	}
	vx := udp[UDPLen : UDPLen+HeaderLen]
	if vx[0]&FlagI == 0 {
		return BadVXLANFlags
	}
	o.VNI = binary.BigEndian.Uint32(vx[4:]) >> 8
	o.InnerOff = udpOff + UDPLen + HeaderLen
	o.InnerLen = ulen - UDPLen - HeaderLen
	if o.InnerLen < EthLen {
		return InnerRunt
	}
	return OK
}
