package conntrack

import "encoding/binary"

// ParseBatch is Parse for a vector: it fills ps[i] from ips[i] (an IP
// packet from its IP header) for zones[i], for every i < len(ps). Parse's
// fast path (IPv4 without options, not a fragment, TCP or UDP) is written
// out in the loop rather than called: a node that parses a vector this
// way saves a call per packet, and its own loop, with no call left in it,
// keeps its values in registers instead of spilling them around one.
// Anything else goes to parseFull, as in Parse (FuzzParse checks that the
// three answer alike).
func ParseBatch(ps []Packet, ips [][]byte, zones []uint16) {
	ips, zones = ips[:len(ps)], zones[:len(ps)]
	for i := range ps {
		p, b, zone := &ps[i], ips[i], zones[i]
		if len(b) < 28 || b[0] != 0x45 {
			parseFull(p, b, zone)
			continue
		}
		_ = b[27]
		n := len(b)
		if tot := int(binary.BigEndian.Uint16(b[2:])); tot != 0 { // 0: the whole buffer
			if tot > n {
				parseFull(p, b, zone)
				continue
			}
			n = tot
		}
		var kind Kind
		var flags uint8
		switch proto := b[9]; {
		case binary.BigEndian.Uint16(b[6:])&0x3fff != 0: // a fragment: parseFull
		case proto == protoUDP && n >= 28:
			kind = KindUDP
		case proto == protoTCP && n >= 40:
			doff := int(b[32]>>4) * 4
			if f := b[33]; doff >= 20 && n >= 20+doff && tcpClass(f) != tcpInvalid {
				kind, flags = KindTCP, f
			}
		}
		if kind == KindInvalid {
			parseFull(p, b, zone)
			continue
		}
		k := &p.Key
		k.Src = Addr{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[12:16]))}
		k.Dst = Addr{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[16:20]))}
		k.setWord4(uint64(binary.BigEndian.Uint16(b[20:22])) | uint64(binary.BigEndian.Uint16(b[22:24]))<<16 |
			uint64(zone)<<32 | uint64(b[9])<<48) // flags 0: IPv4
		p.Kind, p.TCPFlags, p.Reason, p.Frag = kind, flags, ReasonNone, FragNone
	}
}
