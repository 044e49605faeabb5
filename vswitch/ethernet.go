package vswitch

// Ethernet header facts the L2 nodes need.
const (
	ethHdrLen     = 14
	vlanTagLen    = 4
	etherTypeVLAN = 0x8100
	etherTypeQinQ = 0x88a8
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86DD
	etherTypeARP  = 0x0806
)

// l2Header is what parseL2 finds at the front of a frame.
type l2Header struct {
	dst, src uint64 // MACs in the low 48 bits
	tagged   bool   // an outer 802.1Q or 802.1ad tag is present
	vid      uint16 // its VLAN ID (0 for priority-tagged or untagged)
	// etherType is the type after the outer tag (inner tags are payload).
	etherType uint16
}

// parseL2 decodes the Ethernet header and the outer VLAN tag, if any; ok is
// false for a frame too short for them. It never reads past len(pkt). The
// L2 nodes read the same fields inline (returning a struct from a call on
// the per-packet path costs a store-forwarding stall); this is the reference
// the fuzz test holds them to.
func parseL2(pkt []byte) (h l2Header, ok bool) {
	if len(pkt) < ethHdrLen {
		return h, false
	}
	h.dst = mac48(pkt[0:6])
	h.src = mac48(pkt[6:12])
	h.etherType = uint16(pkt[12])<<8 | uint16(pkt[13])
	if isVLANType(h.etherType) {
		if len(pkt) < ethHdrLen+vlanTagLen {
			return h, false
		}
		h.tagged = true
		h.vid = tagVID(pkt)
		h.etherType = uint16(pkt[16])<<8 | uint16(pkt[17])
	}
	return h, true
}

func isVLANType(et uint16) bool { return et == etherTypeVLAN || et == etherTypeQinQ }

// tagVID reads the VLAN ID of the outer tag of a tagged frame.
func tagVID(pkt []byte) uint16 { return (uint16(pkt[14])<<8 | uint16(pkt[15])) & 0xFFF }

// isGroup reports whether a MAC (low 48 bits) is multicast or broadcast.
func isGroup(mac uint64) bool { return mac>>40&1 != 0 }
