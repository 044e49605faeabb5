package proto

import "encoding/binary"

// Multipliers of the flow hash: odd 64-bit constants with well-spread bits
// (from splitmix64 and murmur3's fmix64).
const (
	hashK1 = 0x9E3779B97F4A7C15
	hashK2 = 0xBF58476D1CE4E5B9
	hashK3 = 0x94D049BB133111EB
)

// FlowHash4 returns the ECMP hash of the IPv4 packet ip (trimmed to its
// total length, header length hdrLen, as Check4 accepted it): a mix of source, destination, protocol and, for TCP, UDP and
// SCTP packets that are not fragments, the two ports (all fragments of a
// datagram thus hash alike, without ports). It is never 0, which callers
// use as "not computed". It is deterministic, not symmetric (the two
// directions of a flow may differ), and not keyed.
func FlowHash4(ip []byte, hdrLen int) uint32 {
	addrs := binary.BigEndian.Uint64(ip[12:20])
	proto := ip[9]
	rest := uint64(proto)
	if hasPorts(proto) && !IsFragment4(ip) && hdrLen+4 <= len(ip) {
		rest |= uint64(binary.BigEndian.Uint32(ip[hdrLen:])) << 8
	}
	return finish(addrs*hashK1 ^ rest)
}

// FlowHash6 is FlowHash4 for the IPv6 packet ip (trimmed to its payload
// length, as Check6 accepted it). Extension headers are skipped to find the
// protocol and ports; a packet with a fragment header hashes without ports,
// as do all fragments of its datagram.
func FlowHash6(ip []byte) uint32 {
	_ = ip[39]
	h := binary.BigEndian.Uint64(ip[8:]) * hashK1
	h = (h ^ h>>32 ^ binary.BigEndian.Uint64(ip[16:])) * hashK2
	h = (h ^ h>>32 ^ binary.BigEndian.Uint64(ip[24:])) * hashK3
	h = (h ^ h>>32 ^ binary.BigEndian.Uint64(ip[32:])) * hashK1
	proto, off := ip[6], HeaderLen6
	if !hasPorts(proto) {
		var frag fragKind
		if proto, off, frag = upperLayer6(ip); frag != notFragment {
			off = len(ip)
		}
	}
	rest := uint64(proto)
	if hasPorts(proto) && off+4 <= len(ip) {
		rest |= uint64(binary.BigEndian.Uint32(ip[off:])) << 8
	}
	return finish(h ^ h>>32 ^ rest)
}

// hasPorts reports whether a protocol starts with 16-bit source and
// destination ports.
func hasPorts(proto uint8) bool {
	return proto == ProtoTCP || proto == ProtoUDP || proto == ProtoSCTP
}

// finish mixes every bit of h into the 32 bits returned (the fmix64
// finalizer) and maps 0 to 1.
func finish(h uint64) uint32 {
	h ^= h >> 33
	h *= hashK2
	h ^= h >> 29
	h *= hashK3
	h ^= h >> 32
	r := uint32(h)
	if r == 0 {
		r = 1
	}
	return r
}
