package vswitch

// Ethernet header facts the L2 nodes need.
const (
	ethHdrLen     = 14
	vlanTagLen    = 4
	etherTypeVLAN = 0x8100
	etherTypeQinQ = 0x88a8
)

// l2Verdict is why parseL2 rejected a frame (0: accepted).
type l2Verdict uint8

const (
	l2OK l2Verdict = iota
	l2Runt
	l2RuntTag
)

// l2Header is what parseL2 finds at the front of a frame.
type l2Header struct {
	dst, src uint64 // MACs in the low 48 bits
	tagged   bool   // an outer 802.1Q or 802.1ad tag is present
	vid      uint16 // its VLAN ID (0 for priority-tagged or untagged)
	// etherType is the type after the outer tag (inner tags are payload).
	etherType uint16
}

// parseL2 decodes the Ethernet header and the outer VLAN tag, if any. It
// never reads past len(pkt).
func parseL2(pkt []byte) (h l2Header, v l2Verdict) {
	if len(pkt) < ethHdrLen {
		return h, l2Runt
	}
	h.dst = mac48(pkt[0:6])
	h.src = mac48(pkt[6:12])
	h.etherType = uint16(pkt[12])<<8 | uint16(pkt[13])
	if h.etherType == etherTypeVLAN || h.etherType == etherTypeQinQ {
		if len(pkt) < ethHdrLen+vlanTagLen {
			return h, l2RuntTag
		}
		h.tagged = true
		h.vid = (uint16(pkt[14])<<8 | uint16(pkt[15])) & 0xFFF
		h.etherType = uint16(pkt[16])<<8 | uint16(pkt[17])
	}
	return h, l2OK
}

// isGroup reports whether a MAC (low 48 bits) is multicast or broadcast.
func isGroup(mac uint64) bool { return mac>>40&1 != 0 }
