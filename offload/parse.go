package offload

import "encoding/binary"

// Header sizes and numbers the parser knows.
const (
	ethLen   = 14
	vlanLen  = 4
	ipv4Len  = 20
	ipv6Len  = 40
	tcpLen   = 20
	udpLen   = 8
	vxlanLen = 8

	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86DD
	etherTypeVLAN = 0x8100 // 802.1Q
	etherTypeQinQ = 0x88A8 // 802.1ad, accepted as the one tag

	protoTCP = 6
	protoUDP = 17
)

// TCP flags the segmentation changes.
const (
	tcpFIN = 0x01
	tcpPSH = 0x08
	tcpCWR = 0x80
)

// layout is where the headers of one Ethernet/IP/TCP|UDP packet are.
type layout struct {
	l3    int // IP header
	l4    int // TCP or UDP header
	end   int // end of the L4 header
	ipEnd int // end of the IP packet by its length field
	v6    bool
	proto uint8
}

// parse finds the headers of the Ethernet frame at b[off:]: Ethernet with
// at most one VLAN tag, IPv4 (options allowed, no fragment) or IPv6 (no
// extension header), TCP or UDP. All headers must be in b; the payload need
// not be. Length fields are read, not checked against len(b).
func parse(b []byte, off int) (layout, Error) {
	var l layout
	if len(b) < off+ethLen {
		return l, ErrTruncated
	}
	et := binary.BigEndian.Uint16(b[off+12:])
	l.l3 = off + ethLen
	if et == etherTypeVLAN || et == etherTypeQinQ {
		if len(b) < l.l3+vlanLen {
			return l, ErrTruncated
		}
		et = binary.BigEndian.Uint16(b[l.l3+2:])
		l.l3 += vlanLen
	}
	switch et {
	case etherTypeIPv4:
		if len(b) < l.l3+ipv4Len {
			return l, ErrTruncated
		}
		ip := b[l.l3:]
		ihl := int(ip[0]&0x0F) * 4
		if ip[0]>>4 != 4 || ihl < ipv4Len {
			return l, ErrBadIPv4
		}
		if len(b) < l.l3+ihl {
			return l, ErrTruncated
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3FFF != 0 {
			return l, ErrFragment
		}
		l.proto = ip[9]
		l.l4 = l.l3 + ihl
		l.ipEnd = l.l3 + int(binary.BigEndian.Uint16(ip[2:]))
	case etherTypeIPv6:
		if len(b) < l.l3+ipv6Len {
			return l, ErrTruncated
		}
		ip := b[l.l3:]
		if ip[0]>>4 != 6 {
			return l, ErrBadIPv6
		}
		l.v6 = true
		l.proto = ip[6]
		l.l4 = l.l3 + ipv6Len
		l.ipEnd = l.l4 + int(binary.BigEndian.Uint16(ip[4:]))
		switch l.proto {
		case 0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254:
			return l, ErrIPv6ExtHeaders
		}
	default:
		return l, ErrNotIP
	}
	switch l.proto {
	case protoTCP:
		if len(b) < l.l4+tcpLen {
			return l, ErrTruncated
		}
		doff := int(b[l.l4+12]>>4) * 4
		if doff < tcpLen {
			return l, ErrBadTCP
		}
		l.end = l.l4 + doff
		if len(b) < l.end {
			return l, ErrTruncated
		}
	case protoUDP:
		l.end = l.l4 + udpLen
		if len(b) < l.end {
			return l, ErrTruncated
		}
	default:
		return l, ErrNotL4
	}
	if l.ipEnd < l.end {
		return l, ErrBadLength
	}
	return l, 0
}

// csumOff is the offset of the L4 checksum field from the L4 header.
func (l *layout) csumOff() int {
	if l.proto == protoTCP {
		return tcpCsumOff
	}
	return udpCsumOff
}
