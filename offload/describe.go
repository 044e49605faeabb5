package offload

import "encoding/binary"

// Describe returns the virtio-net header a port reports for the
// Ethernet(+VLAN)/IPv4|IPv6/TCP|UDP frame pkt when it hands it over with a
// partial checksum: FlagNeedsCsum, CsumStart at the L4 header, CsumOffset
// of the TCP or UDP checksum, HdrLen the end of the L4 header, GSONone.
// It looks at the outermost headers only (for a VXLAN packet, the outer
// UDP header). It only reads pkt; PreparePartial also writes the
// pseudo-header sum that a partial checksum field must hold.
func Describe(pkt []byte) (VnetHdr, error) {
	l, e := describe(pkt)
	if e != 0 {
		return VnetHdr{}, e
	}
	return hdrFor(&l), nil
}

// DescribeGSO is Describe for a frame that may be larger than one segment
// of gsoSize payload bytes: if its L4 payload is larger, the header also
// gets GSOType (GSOTCPv4, GSOTCPv6 or GSOUDPL4) and GSOSize. It returns
// ErrBadGSOSize for a gsoSize of 0 or 0xFFFF.
func DescribeGSO(pkt []byte, gsoSize uint16) (VnetHdr, error) {
	if gsoSize == 0 || gsoSize == 0xFFFF {
		return VnetHdr{}, ErrBadGSOSize
	}
	l, e := describe(pkt)
	if e != 0 {
		return VnetHdr{}, e
	}
	h := hdrFor(&l)
	if l.ipEnd-l.end > int(gsoSize) {
		switch {
		case l.proto == protoUDP:
			h.GSOType = GSOUDPL4
		case l.v6:
			h.GSOType = GSOTCPv6
		default:
			h.GSOType = GSOTCPv4
		}
		h.GSOSize = gsoSize
	}
	return h, nil
}

// PreparePartial turns the frame pkt into a CHECKSUM_PARTIAL one and
// returns its header as Describe does: it writes the pseudo-header sum
// (not complemented) into the TCP or UDP checksum field, the inverse of
// CompleteChecksum. The IPv4 header checksum must already be right.
func PreparePartial(pkt []byte) (VnetHdr, error) {
	l, e := describe(pkt)
	if e != 0 {
		return VnetHdr{}, e
	}
	var ps uint16
	if l.v6 {
		ps = PseudoSum6(pkt[l.l3:], l.proto, l.ipEnd-l.l4)
	} else {
		ps = PseudoSum4(pkt[l.l3:], l.proto, l.ipEnd-l.l4)
	}
	binary.BigEndian.PutUint16(pkt[l.l4+l.csumOff():], ps)
	return hdrFor(&l), nil
}

func describe(pkt []byte) (layout, Error) {
	l, e := parse(pkt, 0)
	if e == 0 && l.ipEnd > len(pkt) {
		e = ErrBadLength
	}
	return l, e
}

func hdrFor(l *layout) VnetHdr {
	return VnetHdr{
		Flags:      FlagNeedsCsum,
		HdrLen:     uint16(l.end),
		CsumStart:  uint16(l.l4),
		CsumOffset: uint16(l.csumOff()),
	}
}
