package proto

import "encoding/binary"

// Neighbor discovery (RFC 4861) message layout.
const (
	ndMsgLen   = 24 // type, code, checksum, reserved/flags, target
	ndLLOptLen = 8  // a link-layer address option for Ethernet

	NDOptSourceLL uint8 = 1 // source link-layer address option
	NDOptTargetLL uint8 = 2 // target link-layer address option

	NARouter    uint8 = 0x80 // NA flag R: the sender is a router
	NASolicited uint8 = 0x40 // NA flag S: sent in response to an NS
	NAOverride  uint8 = 0x20 // NA flag O: override a cached link-layer address
)

// ND is what ParseND finds in a neighbor solicitation or advertisement.
type ND struct {
	Type     uint8  // ICMP6NeighborSolicit or ICMP6NeighborAdvert
	Flags    uint8  // NA: NARouter|NASolicited|NAOverride bits; NS: 0
	TargetHi uint64 // target address
	TargetLo uint64
	// LLAddr is the link-layer address option for this type (source for
	// an NS, target for an NA) when HasLLAddr is set. Other options are
	// skipped, and only the first of a duplicated one counts.
	LLAddr    [6]byte
	HasLLAddr bool
}

// ParseND validates the neighbor solicitation or advertisement ip (an IPv6
// packet whose ICMPv6 message follows the fixed header) by the rules of RFC
// 4861 7.1.1 and 7.1.2 and fills nd. Reasons, in the order checked: those
// of Check6; BadType (next header not ICMPv6, or neither NS nor NA); Runt
// (message shorter than 24 bytes); BadHopLimit (not 255, so it came from
// off the link); BadCode (not 0); BadChecksum; BadTarget (target is
// multicast); BadOption (an option of length 0, one that runs past the
// message, or a link-layer address option not 8 bytes long); BadAddress
// (a multicast source, an NS from :: not sent to a solicited-node address
// or carrying a source link-layer address, or an NA to multicast with the
// solicited flag).
// nd is only meaningful when the result is OK.
func ParseND(ip []byte, nd *ND) Reason {
	if r := Check6(ip); r != OK {
		return r
	}
	if ip[6] != ProtoICMPv6 {
		return BadType
	}
	n := PayloadLen6(ip)
	msg := ip[HeaderLen6 : HeaderLen6+n]
	if n < 1 || (msg[0] != ICMP6NeighborSolicit && msg[0] != ICMP6NeighborAdvert) {
		return BadType
	}
	if n < ndMsgLen {
		return Runt
	}
	if ip[7] != 255 {
		return BadHopLimit
	}
	if msg[1] != 0 {
		return BadCode
	}
	if Sum(msg, icmp6Pseudo(ip, n)) != 0xFFFF {
		return BadChecksum
	}
	nd.Type = msg[0]
	nd.Flags = 0
	if nd.Type == ICMP6NeighborAdvert {
		nd.Flags = msg[4] & (NARouter | NASolicited | NAOverride)
	}
	nd.TargetHi = binary.BigEndian.Uint64(msg[8:])
	nd.TargetLo = binary.BigEndian.Uint64(msg[16:])
	if IsMulticast6(nd.TargetHi, nd.TargetLo) {
		return BadTarget
	}
	if r := parseLLOpt(msg[ndMsgLen:], nd); r != OK {
		return r
	}
	srcHi, srcLo := Src6(ip)
	dstHi, dstLo := Dst6(ip)
	switch {
	case IsMulticast6(srcHi, srcLo):
		return BadAddress
	case nd.Type == ICMP6NeighborSolicit:
		if IsUnspecified6(srcHi, srcLo) && (!IsSolicitedNode6(dstHi, dstLo) || nd.HasLLAddr) {
			return BadAddress
		}
	case IsMulticast6(dstHi, dstLo) && nd.Flags&NASolicited != 0:
		return BadAddress
	}
	return OK
}

// parseLLOpt walks the options of an ND message and records the first
// link-layer address option for nd.Type (source for NS, target for NA).
func parseLLOpt(opts []byte, nd *ND) Reason {
	want := NDOptSourceLL
	if nd.Type == ICMP6NeighborAdvert {
		want = NDOptTargetLL
	}
	nd.HasLLAddr = false
	for len(opts) > 0 {
		if len(opts) < 2 {
			return BadOption
		}
		l := int(opts[1]) << 3
		if l == 0 || l > len(opts) {
			return BadOption
		}
		if opts[0] == want && !nd.HasLLAddr {
			if l != ndLLOptLen {
				return BadOption
			}
			nd.LLAddr = [6]byte(opts[2:8])
			nd.HasLLAddr = true
		}
		opts = opts[l:]
	}
	return OK
}
