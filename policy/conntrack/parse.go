package conntrack

import "encoding/binary"

// Kind says what Parse found, and so how Track treats the packet.
type Kind uint8

const (
	// KindInvalid: Parse returned a reason; the packet is not tracked.
	KindInvalid Kind = iota
	// KindTCP: a TCP segment; Packet.TCPFlags holds its flags.
	KindTCP
	// KindUDP: UDP, UDP-Lite, SCTP or DCCP: ports, no state machine.
	KindUDP
	// KindICMPRequest: an ICMP or ICMPv6 query that may start a flow
	// (echo, timestamp, information, address mask, node information).
	KindICMPRequest
	// KindICMPReply: the answer to a query; never starts a flow.
	KindICMPReply
	// KindICMPError: an ICMP or ICMPv6 error; Packet.Key is the reverse
	// of the key of the packet it quotes: the key, in the direction the
	// error travels, of the flow the quoted packet belongs to, so the
	// error is "related" to that flow. (A quoted packet that went through
	// NAT was rewritten; only its reverse is one of the flow's keys.) The
	// error is addressed to the quoted packet's source, the sender it
	// reports to: one addressed elsewhere is refused
	// (ReasonICMPOuterMismatch).
	KindICMPError
	// KindOther: another IP protocol, tracked by addresses only.
	KindOther
	// KindFragment: a non-first fragment: no L4 header, so no flow to
	// match (Reason is ReasonFragment); the key holds addresses and
	// protocol only.
	KindFragment
	// KindUntracked: a message conntrack leaves alone (ICMPv6 neighbour
	// discovery, MLD, router discovery: Reason is ReasonICMPUntracked).
	// Its key is the message's own, ports as a query's: SrcPort 0,
	// DstPort type<<8 | code, so that policy can tell a router
	// advertisement from a neighbour solicitation.
	KindUntracked
)

// Reason says why a packet is invalid or untracked; 0 is none. Counters
// count packets per reason.
type Reason uint8

const (
	ReasonNone Reason = iota
	// Parse reasons.
	ReasonTruncated     // a header runs past the end of the packet
	ReasonBadVersion    // IP version is neither 4 nor 6 (or differs from what was expected)
	ReasonBadHeader     // IPv4 header length < 20, total length < header, TCP data offset < 20
	ReasonExtHeaders    // more IPv6 extension headers than Parse follows (8)
	ReasonTCPFlags      // a TCP flag combination no valid segment has (SYN+FIN, SYN+RST, none, FIN without ACK)
	ReasonICMPType      // an ICMP type that is neither query, reply, error nor untracked
	ReasonICMPBadInner  // an ICMP error whose quoted packet is unparseable, a fragment, or itself an error
	ReasonFragment      // a non-first fragment (untracked, not invalid)
	ReasonICMPUntracked // ICMPv6 ND, MLD, router discovery (untracked, not invalid)
	// An ICMP error not addressed to the source of the packet it quotes
	// (the sender it would report to): about a flow, it would be
	// "related" to it wherever it went, as Linux refuses
	// (nf_conntrack_inet_error, "outer daddr mismatch").
	ReasonICMPOuterMismatch
	// Tracking reasons.
	ReasonTCPNoSYN      // a TCP segment without SYN (or with ACK) and no flow (see Config.TCPLoose)
	ReasonTCPTransition // a TCP segment the flow's state does not allow (SYN in established, ACK in SYN-sent...)
	ReasonNoFlow        // an ICMP reply or error matching no flow
	ReasonTableFull     // Commit could not place the flow
	ReasonKeyInUse      // Commit: the reply key belongs to another flow (a translation must choose another)
	numReasons
)

var reasonNames = [numReasons]string{
	"none", "truncated", "bad-version", "bad-header", "ext-headers", "tcp-flags",
	"icmp-type", "icmp-bad-inner", "fragment", "icmp-untracked", "icmp-outer-mismatch", "tcp-no-syn",
	"tcp-transition", "no-flow", "table-full", "key-in-use",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "reason-" + itoa(int(r))
}

// Packet is what Parse extracts from a packet: the flow key and what the
// state machine needs. It is about 56 bytes; a node keeps an array of them
// per vector, filled by Parse and read by TrackBatch and Commit.
type Packet struct {
	Key  Key
	Kind Kind
	// TCPFlags is the TCP header's flags byte (KindTCP only).
	TCPFlags uint8
	// Reason is Parse's verdict (ReasonNone if the packet is trackable).
	Reason Reason
	// Frag says whether the packet is a fragment: FragFirst (offset 0,
	// more to come: parsed like any packet), or FragLater or FragLast (no
	// L4 header: KindFragment, ReasonFragment until tracking gives it its
	// first fragment's ports; see "Fragments" in the package doc); FragID is
	// then the datagram's identification (IPv4's 16 bits, IPv6's 32),
	// meaningless (not cleared) when Frag is FragNone.
	Frag   Frag
	FragID uint32
}

// Frag is a packet's place in a fragmented datagram (Packet.Frag).
type Frag uint8

const (
	FragNone  Frag = iota // not a fragment
	FragFirst             // the first fragment: L4 header, more to come
	FragLater             // a fragment after the first, more to come: no L4 header
	FragLast              // the last fragment (after the first, no more to come)
)

// Later reports whether f is a fragment after the first (no L4 header).
func (f Frag) Later() bool { return f >= FragLater }

const (
	protoICMP    = 1
	protoTCP     = 6
	protoUDP     = 17
	protoDCCP    = 33
	protoICMPv6  = 58
	protoSCTP    = 132
	protoUDPLite = 136
	maxExt       = 8
)

// Parse fills p from an IPv4 or IPv6 packet starting at its IP header, for
// zone. It returns (and stores in p.Reason) ReasonNone if the packet can
// be tracked. It never reads outside pkt, never panics and never
// allocates. Checksums are not verified.
//
// What most packets are, IPv4 without options, not a fragment, TCP or
// UDP with its header complete and valid, is parsed here, in the
// function itself (a call less per packet); anything else, errors
// included, goes to parseFull, which fills p as this does (FuzzParse
// checks that both answer alike).
func Parse(p *Packet, b []byte, zone uint16) Reason {
	if len(b) < 28 || b[0] != 0x45 {
		return parseFull(p, b, zone)
	}
	_ = b[27]
	n := len(b)
	if tot := int(binary.BigEndian.Uint16(b[2:])); tot != 0 { // 0: the whole buffer
		if tot > n {
			return parseFull(p, b, zone)
		}
		n = tot
	}
	var kind Kind
	var flags uint8
	switch proto := b[9]; {
	case binary.BigEndian.Uint16(b[6:])&0x3fff != 0: // a fragment (MF or an offset)
		return parseFull(p, b, zone)
	case proto == protoUDP && n >= 28:
		kind = KindUDP
	case proto == protoTCP && n >= 40:
		doff := int(b[32]>>4) * 4
		flags = b[33]
		if doff < 20 || n < 20+doff || tcpClass(flags) == tcpInvalid {
			return parseFull(p, b, zone)
		}
		kind = KindTCP
	default:
		return parseFull(p, b, zone)
	}
	k := &p.Key
	k.Src = Addr{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[12:16]))}
	k.Dst = Addr{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[16:20]))}
	k.setWord4(uint64(binary.BigEndian.Uint16(b[20:22])) | uint64(binary.BigEndian.Uint16(b[22:24]))<<16 |
		uint64(zone)<<32 | uint64(b[9])<<48) // flags 0: IPv4
	p.Kind, p.TCPFlags, p.Reason, p.Frag = kind, flags, ReasonNone, FragNone
	return ReasonNone
}

// parseFull is Parse without the fast path.
func parseFull(p *Packet, pkt []byte, zone uint16) Reason {
	p.Key = Key{Zone: zone}
	p.TCPFlags = 0
	p.Kind = KindInvalid
	p.Frag, p.FragID = FragNone, 0
	r := parseIP(p, pkt, false)
	if r != ReasonNone && r != ReasonFragment && r != ReasonICMPUntracked {
		p.Kind = KindInvalid
	}
	p.Reason = r
	return r
}

// parseIP parses an IP header and what follows. inner is set for the
// packet quoted by an ICMP error: its length fields are not checked
// against what is left (the quote is cut short), fragments and ICMP
// errors are refused, and only the first 8 bytes of L4 are needed.
func parseIP(p *Packet, b []byte, inner bool) Reason {
	if len(b) < 1 {
		return ReasonTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return parse4(p, b, inner)
	case 6:
		return parse6(p, b, inner)
	}
	return ReasonBadVersion
}

func parse4(p *Packet, b []byte, inner bool) Reason {
	if len(b) < 20 {
		return ReasonTruncated
	}
	hl := int(b[0]&15) * 4
	if hl < 20 {
		return ReasonBadHeader
	}
	if len(b) < hl {
		return ReasonTruncated
	}
	if !inner {
		// A total length of 0 is taken as "the whole buffer" (TSO frames).
		if tot := int(binary.BigEndian.Uint16(b[2:])); tot != 0 {
			if tot < hl {
				return ReasonBadHeader
			}
			if tot > len(b) {
				return ReasonTruncated
			}
			b = b[:tot]
		}
	}
	k := &p.Key
	k.Src, k.Dst = addr4(b[12:]), addr4(b[16:])
	k.Proto = b[9]
	if ff := binary.BigEndian.Uint16(b[6:]); ff&0x1fff != 0 {
		if inner {
			return ReasonICMPBadInner
		}
		p.Kind, p.Frag, p.FragID = KindFragment, FragLast, uint32(binary.BigEndian.Uint16(b[4:]))
		if ff&0x2000 != 0 {
			p.Frag = FragLater
		}
		return ReasonFragment
	} else if ff&0x2000 != 0 && !inner {
		p.Frag, p.FragID = FragFirst, uint32(binary.BigEndian.Uint16(b[4:]))
	}
	return parseL4(p, b[hl:], inner)
}

func parse6(p *Packet, b []byte, inner bool) Reason {
	if len(b) < 40 {
		return ReasonTruncated
	}
	if !inner {
		// A payload length of 0 (jumbogram, large GSO frame) is taken as
		// "the whole buffer".
		if pl := int(binary.BigEndian.Uint16(b[4:])); pl != 0 {
			if 40+pl > len(b) {
				return ReasonTruncated
			}
			b = b[:40+pl]
		}
	}
	k := &p.Key
	k.Flags = KeyIPv6
	k.Src, k.Dst = addr6(b[8:]), addr6(b[24:])
	nh, off := b[6], 40
	for i := 0; ; i++ {
		var hl int
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < off+2 {
				return ReasonTruncated
			}
			hl = (int(b[off+1]) + 1) * 8
		case 51: // AH: length in 4-byte units, minus 2
			if len(b) < off+2 {
				return ReasonTruncated
			}
			hl = (int(b[off+1]) + 2) * 4
		case 44: // fragment
			hl = 8
		default:
			k.Proto = nh
			return parseL4(p, b[off:], inner)
		}
		if i == maxExt {
			return ReasonExtHeaders
		}
		if len(b) < off+hl {
			return ReasonTruncated
		}
		if nh == 44 {
			if binary.BigEndian.Uint16(b[off+2:])&^7 != 0 {
				k.Proto = b[off]
				if inner {
					return ReasonICMPBadInner
				}
				p.Kind, p.Frag, p.FragID = KindFragment, FragLast, binary.BigEndian.Uint32(b[off+4:])
				if b[off+3]&1 != 0 {
					p.Frag = FragLater
				}
				return ReasonFragment
			}
			if b[off+3]&1 != 0 && !inner {
				p.Frag, p.FragID = FragFirst, binary.BigEndian.Uint32(b[off+4:])
			}
		}
		nh = b[off]
		off += hl
	}
}

func parseL4(p *Packet, b []byte, inner bool) Reason {
	k := &p.Key
	switch k.Proto {
	case protoTCP:
		if inner {
			if len(b) < 8 {
				return ReasonICMPBadInner
			}
		} else {
			if len(b) < 20 {
				return ReasonTruncated
			}
			if doff := int(b[12]>>4) * 4; doff < 20 {
				return ReasonBadHeader
			} else if len(b) < doff {
				return ReasonTruncated
			}
			p.TCPFlags = b[13]
			if tcpClass(p.TCPFlags) == tcpInvalid {
				return ReasonTCPFlags
			}
		}
		k.SrcPort, k.DstPort = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		p.Kind = KindTCP
	case protoUDP, protoUDPLite, protoSCTP, protoDCCP:
		need := 8
		if k.Proto == protoSCTP || k.Proto == protoDCCP {
			need = 12
		}
		if inner {
			need = 4
		}
		if len(b) < need {
			if inner {
				return ReasonICMPBadInner
			}
			return ReasonTruncated
		}
		k.SrcPort, k.DstPort = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		p.Kind = KindUDP
	case protoICMP, protoICMPv6:
		if !k.isICMP() {
			p.Kind = KindOther
			return ReasonNone
		}
		return parseICMP(p, b, inner)
	default:
		p.Kind = KindOther
	}
	return ReasonNone
}

// ICMP message classes.
const (
	icmpOther = iota
	icmpRequest
	icmpReply
	icmpError
	icmpUntracked
)

// icmpTypes classifies the 256 types of ICMPv4 ([0]) and ICMPv6 ([1]).
var icmpTypes = func() (c [2][256]uint8) {
	for _, t := range []uint8{8, 13, 15, 17} {
		c[0][t] = icmpRequest
	}
	for _, t := range []uint8{0, 14, 16, 18} {
		c[0][t] = icmpReply
	}
	for _, t := range []uint8{3, 4, 5, 11, 12} {
		c[0][t] = icmpError
	}
	c[1][128], c[1][139] = icmpRequest, icmpRequest
	c[1][129], c[1][140] = icmpReply, icmpReply
	for _, t := range []uint8{1, 2, 3, 4} {
		c[1][t] = icmpError
	}
	// MLD (130-132, 143), ND and router discovery (133-137), inverse ND
	// (141-142), SEND (148-149), multicast router discovery (151-153).
	for _, t := range []uint8{130, 131, 132, 133, 134, 135, 136, 137, 141, 142, 143, 148, 149, 151, 152, 153} {
		c[1][t] = icmpUntracked
	}
	return c
}()

// icmpPeerType maps a query type to its reply's and back; other types map
// to themselves.
func icmpPeerType(proto, t uint8) uint8 {
	if proto == protoICMPv6 {
		switch t {
		case 128, 139:
			return t + 1
		case 129, 140:
			return t - 1
		}
		return t
	}
	switch t {
	case 8:
		return 0
	case 0:
		return 8
	case 13, 15, 17:
		return t + 1
	case 14, 16, 18:
		return t - 1
	}
	return t
}

func parseICMP(p *Packet, b []byte, inner bool) Reason {
	k := &p.Key
	if len(b) < 8 {
		if inner {
			return ReasonICMPBadInner
		}
		return ReasonTruncated
	}
	fam := 0
	if k.Flags&KeyIPv6 != 0 {
		fam = 1
	}
	switch icmpTypes[fam][b[0]] {
	case icmpRequest:
		p.Kind = KindICMPRequest
	case icmpReply:
		p.Kind = KindICMPReply
	case icmpError:
		if inner {
			return ReasonICMPBadInner
		}
		// The quoted packet: its key replaces the error's own. It must
		// be of the same family as the error.
		to := k.Dst
		*k = Key{Zone: k.Zone}
		q := b[8:]
		if len(q) < 1 || int(q[0]>>4) != 4+2*fam {
			return ReasonICMPBadInner
		}
		if r := parseIP(p, q, true); r != ReasonNone {
			return ReasonICMPBadInner
		}
		// The flow is looked up by the reverse of the quoted packet, as
		// Linux does (icmp_error_message): the quote is a packet as it was
		// on the far side of the switch, so after NAT only its reverse is
		// one of the flow's keys (the key of the direction the error
		// travels in).
		*k = k.Reverse()
		// An error goes back to the sender of the packet it quotes. Its
		// source may be anyone on the way (a router reporting a TTL or
		// an MTU), its destination may not: one addressed elsewhere
		// would pass as related to a flow its receiver never had.
		// (NAT rewrites both addresses alike, so this holds on either
		// side of a translation.)
		if k.Dst != to {
			return ReasonICMPOuterMismatch
		}
		p.Kind = KindICMPError
		return ReasonNone
	case icmpUntracked:
		if inner {
			return ReasonICMPBadInner
		}
		p.Kind = KindUntracked
		k.DstPort = uint16(b[0])<<8 | uint16(b[1])
		return ReasonICMPUntracked
	default:
		if inner {
			return ReasonICMPBadInner
		}
		return ReasonICMPType
	}
	k.SrcPort = binary.BigEndian.Uint16(b[4:])
	k.DstPort = uint16(b[0])<<8 | uint16(b[1])
	return ReasonNone
}
