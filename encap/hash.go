package encap

import "encoding/binary"

// Multipliers of the flow hash: odd 64-bit constants with well-spread bits
// (from splitmix64 and murmur3's fmix64).
const (
	hashK1 = 0x9E3779B97F4A7C15
	hashK2 = 0xBF58476D1CE4E5B9
	hashK3 = 0x94D049BB133111EB
)

// InnerFlowHash returns a hash of the flow of the Ethernet frame inner, for
// Encap's UDP source port. Past up to two VLAN tags (802.1Q or 802.1ad):
//
//   - IPv4: source, destination, protocol and, for TCP, UDP and SCTP
//     packets that are not fragments, the two ports;
//   - IPv6: source, destination, next header and, when the next header is
//     TCP, UDP or SCTP, the two ports (extension headers are not walked:
//     such packets hash on addresses and the first next header);
//   - anything else (ARP, truncated IP headers): the two MAC addresses
//     and the EtherType.
//
// It never reads outside inner and never panics, whatever it holds. The
// result is never 0 (Meta.FlowHash's "not computed"). It is deterministic,
// not keyed and not symmetric: the two directions of a flow may hash
// differently, which costs nothing as they leave from different VTEPs.
func InnerFlowHash(inner []byte) uint32 {
	if len(inner) < EthLen {
		return finish(uint64(len(inner)) * hashK1)
	}
	et, off := binary.BigEndian.Uint16(inner[12:]), EthLen
	for range 2 {
		if (et != etherTypeVLAN && et != 0x88A8) || off+VLANTagLen > len(inner) {
			break
		}
		et = binary.BigEndian.Uint16(inner[off+2:])
		off += VLANTagLen
	}
	l3 := inner[off:]
	switch {
	case et == etherTypeIPv4 && len(l3) >= IPv4Len && l3[0]>>4 == 4:
		proto := l3[9]
		rest := uint64(proto)
		hl := int(l3[0]&0x0F) << 2
		if hasPorts(proto) && binary.BigEndian.Uint16(l3[6:])&0x3FFF == 0 && hl >= IPv4Len && hl+4 <= len(l3) {
			rest |= uint64(binary.BigEndian.Uint32(l3[hl:])) << 8
		}
		return finish(binary.BigEndian.Uint64(l3[12:20])*hashK1 ^ rest)
	case et == etherTypeIPv6 && len(l3) >= IPv6Len && l3[0]>>4 == 6:
		h := binary.BigEndian.Uint64(l3[8:]) * hashK1
		h = (h ^ h>>32 ^ binary.BigEndian.Uint64(l3[16:])) * hashK2
		h = (h ^ h>>32 ^ binary.BigEndian.Uint64(l3[24:])) * hashK3
		h = (h ^ h>>32 ^ binary.BigEndian.Uint64(l3[32:])) * hashK1
		proto := l3[6]
		rest := uint64(proto)
		if hasPorts(proto) && len(l3) >= IPv6Len+4 {
			rest |= uint64(binary.BigEndian.Uint32(l3[IPv6Len:])) << 8
		}
		return finish(h ^ h>>32 ^ rest)
	}
	h := binary.BigEndian.Uint64(inner[0:]) * hashK1
	h = (h ^ h>>32 ^ uint64(binary.BigEndian.Uint32(inner[8:]))<<16 ^ uint64(et)) * hashK2
	return finish(h)
}

// hasPorts reports whether an IP protocol starts with 16-bit source and
// destination ports: TCP, UDP, SCTP.
func hasPorts(proto uint8) bool { return proto == 6 || proto == protoUDP || proto == 132 }

// finish mixes every bit of h into the 32 bits returned (murmur3's fmix64)
// and maps 0 to 1.
func finish(h uint64) uint32 {
	h ^= h >> 33
	h *= hashK2
	h ^= h >> 29
	h *= hashK3
	h ^= h >> 32
	if r := uint32(h); r != 0 {
		return r
	}
	return 1
}
