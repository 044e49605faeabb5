package proto

import "encoding/binary"

// Lengths of the frames the ND builders write.
const (
	NSFrameLen    = EthHeaderLen + HeaderLen6 + ndMsgLen + ndLLOptLen // NS with source link-layer address
	NSDADFrameLen = EthHeaderLen + HeaderLen6 + ndMsgLen              // NS from :: (duplicate address detection)
	NAFrameLen    = EthHeaderLen + HeaderLen6 + ndMsgLen + ndLLOptLen // NA with target link-layer address
)

// BuildNS writes into dst a whole Ethernet frame soliciting the link-layer
// address of target: an ICMPv6 neighbor solicitation from src (hop limit
// 255) to target's solicited-node multicast address and its 33:33 MAC, with
// a source link-layer address option carrying srcMAC, or, when src is ::
// (duplicate address detection), without one as RFC 4861 7.2.2 requires.
// It returns the frame length (NSFrameLen or NSDADFrameLen), or 0 if dst
// is shorter.
func BuildNS(dst []byte, srcMAC [6]byte, srcHi, srcLo, targetHi, targetLo uint64) int {
	optLen := ndLLOptLen
	if IsUnspecified6(srcHi, srcLo) {
		optLen = 0
	}
	n := EthHeaderLen + HeaderLen6 + ndMsgLen + optLen
	if len(dst) < n {
		return 0
	}
	snHi, snLo := SolicitedNode6(targetHi, targetLo)
	putEth(dst, MulticastMAC6(snHi, snLo), srcMAC, EtherTypeIPv6)
	ip := dst[EthHeaderLen:n]
	putIP6(ip, ndMsgLen+optLen, ProtoICMPv6, 255, srcHi, srcLo, snHi, snLo)
	putNDMsg(ip[HeaderLen6:], ICMP6NeighborSolicit, 0, targetHi, targetLo)
	if optLen != 0 {
		putLLOpt(ip[HeaderLen6+ndMsgLen:], NDOptSourceLL, srcMAC)
	}
	setICMP6Checksum(ip)
	return n
}

// BuildNA writes into dst a whole Ethernet frame advertising that target is
// at srcMAC: an ICMPv6 neighbor advertisement from target itself (hop limit
// 255) to dst address dstHi, dstLo and Ethernet address dstMAC, with flags
// (NARouter, NASolicited, NAOverride) and a target link-layer address
// option carrying srcMAC. It returns NAFrameLen, or 0 if dst is shorter.
func BuildNA(dst []byte, srcMAC, dstMAC [6]byte, dstHi, dstLo, targetHi, targetLo uint64, flags uint8) int {
	if len(dst) < NAFrameLen {
		return 0
	}
	putEth(dst, dstMAC, srcMAC, EtherTypeIPv6)
	ip := dst[EthHeaderLen:NAFrameLen]
	putIP6(ip, ndMsgLen+ndLLOptLen, ProtoICMPv6, 255, targetHi, targetLo, dstHi, dstLo)
	putNDMsg(ip[HeaderLen6:], ICMP6NeighborAdvert, flags, targetHi, targetLo)
	putLLOpt(ip[HeaderLen6+ndMsgLen:], NDOptTargetLL, srcMAC)
	setICMP6Checksum(ip)
	return NAFrameLen
}

// BuildNAReply writes into dst the advertisement answering ns, a neighbor
// solicitation (IPv6 packet) that passed ParseND and whose target is ours,
// per RFC 4861 7.2.4: to the solicitor's address and nsSrcMAC (the
// Ethernet source of ns, or its source link-layer address option) with the
// solicited flag set, or, if ns came from :: (duplicate address detection),
// to all-nodes ff02::1 with the solicited flag clear. flags supplies
// NARouter and NAOverride. It returns NAFrameLen, or 0 if dst is shorter.
func BuildNAReply(dst, ns []byte, ourMAC, nsSrcMAC [6]byte, flags uint8) int {
	if len(ns) < HeaderLen6+ndMsgLen {
		return 0
	}
	dstHi, dstLo := Src6(ns)
	dstMAC := nsSrcMAC
	flags |= NASolicited
	if IsUnspecified6(dstHi, dstLo) {
		dstHi, dstLo = AllNodesHi, AllNodesLo
		dstMAC = MulticastMAC6(dstHi, dstLo)
		flags &^= NASolicited
	}
	tgtHi := binary.BigEndian.Uint64(ns[HeaderLen6+8:])
	tgtLo := binary.BigEndian.Uint64(ns[HeaderLen6+16:])
	return BuildNA(dst, ourMAC, dstMAC, dstHi, dstLo, tgtHi, tgtLo, flags)
}

// putNDMsg writes the 24 bytes of an NS or NA message with a zero checksum.
func putNDMsg(b []byte, typ, flags uint8, targetHi, targetLo uint64) {
	_ = b[23]
	binary.BigEndian.PutUint32(b, uint32(typ)<<24)
	binary.BigEndian.PutUint32(b[4:], uint32(flags)<<24)
	putAddr6(b[8:], targetHi, targetLo)
}

// putLLOpt writes an 8-byte link-layer address option.
func putLLOpt(b []byte, typ uint8, mac [6]byte) {
	_ = b[7]
	b[0], b[1] = typ, 1
	copy(b[2:8], mac[:])
}
