package nat

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// The slow reference: packets built from their fields with every
// checksum computed from scratch by RFC 1071's loop, independent of
// internal/csum and of the incremental code under test.

// refSum is RFC 1071's loop, 16 bits at a time, folded (not
// complemented).
func refSum(bs ...[]byte) uint32 {
	var s uint32
	odd := false
	for _, b := range bs {
		for _, c := range b {
			if odd {
				s += uint32(c)
			} else {
				s += uint32(c) << 8
			}
			odd = !odd
		}
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return s
}

func refCsum(bs ...[]byte) uint16 { return ^uint16(refSum(bs...)) }

// spec describes a packet: IP header fields, an L4 header and payload,
// or an ICMP error quoting another packet.
type spec struct {
	v6       bool
	src, dst conntrack.Addr
	proto    uint8
	// sport, dport: ports; for an ICMP query sport is the identifier.
	sport, dport uint16
	icmpType     uint8
	tos, ttl     uint8
	id           uint16
	opts         []byte   // IPv4 options (a multiple of 4 bytes)
	exts         [][]byte // IPv6 extension headers (type in [0], body after; [0] is replaced by next header)
	extTypes     []uint8
	tcpOpts      []byte // a multiple of 4
	payload      []byte
	tcpFlags     uint8 // 0: ACK
	udpNoCsum    bool  // UDP: checksum 0
	partial      bool  // L4 checksum field holds the pseudo-header sum
	// An ICMP error: quote is the quoted packet, cut to quoteLen bytes.
	quote    *spec
	quoteLen int
}

func (s *spec) key() conntrack.Key {
	k := conntrack.Key{Src: s.src, Dst: s.dst, SrcPort: s.sport, DstPort: s.dport, Proto: s.proto}
	if s.isICMPQuery() {
		k.DstPort = uint16(s.icmpType) << 8
	}
	if s.v6 {
		k.Flags = conntrack.KeyIPv6
	}
	return k
}

func (s *spec) isICMPQuery() bool {
	return s.quote == nil && (s.proto == protoICMP && !s.v6 || s.proto == protoICMPv6 && s.v6)
}

func putA(b []byte, a conntrack.Addr, v6 bool) {
	if v6 {
		binary.BigEndian.PutUint64(b, a.Hi)
		binary.BigEndian.PutUint64(b[8:], a.Lo)
	} else {
		binary.BigEndian.PutUint32(b, uint32(a.Lo))
	}
}

// build returns the packet with all checksums right (or, partial, the
// L4 checksum field holding the pseudo-header sum).
func (s *spec) build() []byte {
	l4 := s.buildL4()
	var ip []byte
	if s.v6 {
		ip = make([]byte, 40)
		ip[0] = 0x60 | s.tos>>4
		ip[1] = s.tos << 4
		ip[7] = s.ttl
		putA(ip[8:], s.src, true)
		putA(ip[24:], s.dst, true)
		prev := 6
		for i, e := range s.exts {
			ip[prev] = s.extTypes[i]
			prev = len(ip)
			ip = append(ip, e...)
		}
		ip[prev] = s.proto
		binary.BigEndian.PutUint16(ip[4:], uint16(len(ip)-40+len(l4)))
	} else {
		hl := 20 + len(s.opts)
		ip = make([]byte, hl)
		ip[0] = 0x40 | byte(hl/4)
		ip[1] = s.tos
		binary.BigEndian.PutUint16(ip[2:], uint16(hl+len(l4)))
		binary.BigEndian.PutUint16(ip[4:], s.id)
		ip[8] = s.ttl
		ip[9] = s.proto
		putA(ip[12:], s.src, false)
		putA(ip[16:], s.dst, false)
		copy(ip[20:], s.opts)
		binary.BigEndian.PutUint16(ip[10:], refCsum(ip))
	}
	s.fillL4Csum(l4)
	return append(ip, l4...)
}

func (s *spec) pseudo(l4len int) []byte {
	if s.v6 {
		p := make([]byte, 40)
		putA(p, s.src, true)
		putA(p[16:], s.dst, true)
		binary.BigEndian.PutUint32(p[32:], uint32(l4len))
		p[39] = s.proto
		return p
	}
	p := make([]byte, 12)
	putA(p, s.src, false)
	putA(p[4:], s.dst, false)
	p[9] = s.proto
	binary.BigEndian.PutUint16(p[10:], uint16(l4len))
	return p
}

func (s *spec) buildL4() []byte {
	var l4 []byte
	switch {
	case s.quote != nil:
		q := s.quote.build()
		if s.quoteLen < len(q) {
			q = q[:s.quoteLen]
		}
		l4 = make([]byte, 8)
		l4[0] = s.icmpType
		l4[1] = 3
		l4 = append(l4, q...)
	case s.proto == protoTCP:
		l4 = make([]byte, 20+len(s.tcpOpts))
		binary.BigEndian.PutUint16(l4, s.sport)
		binary.BigEndian.PutUint16(l4[2:], s.dport)
		binary.BigEndian.PutUint32(l4[4:], 0x01020304)
		l4[12] = byte(len(l4)/4) << 4
		l4[13] = 0x10
		if s.tcpFlags != 0 {
			l4[13] = s.tcpFlags
		}
		binary.BigEndian.PutUint16(l4[14:], 65535)
		copy(l4[20:], s.tcpOpts)
		l4 = append(l4, s.payload...)
	case s.proto == protoUDP || s.proto == protoUDPLite || s.proto == protoDCCP:
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4, s.sport)
		binary.BigEndian.PutUint16(l4[2:], s.dport)
		l4 = append(l4, s.payload...)
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	case s.isICMPQuery():
		l4 = make([]byte, 8)
		l4[0] = s.icmpType
		binary.BigEndian.PutUint16(l4[4:], s.sport)
		binary.BigEndian.PutUint16(l4[6:], 7)
		l4 = append(l4, s.payload...)
	default:
		l4 = append([]byte{}, s.payload...)
	}
	return l4
}

func (s *spec) fillL4Csum(l4 []byte) {
	at, pseudo := -1, false
	switch {
	case s.quote != nil || s.isICMPQuery():
		at, pseudo = 2, s.v6
	case s.proto == protoTCP:
		at, pseudo = 16, true
	case s.proto == protoUDP || s.proto == protoUDPLite || s.proto == protoDCCP:
		at, pseudo = 6, true
	}
	if at < 0 {
		return
	}
	if s.partial {
		if pseudo {
			binary.BigEndian.PutUint16(l4[at:], uint16(refSum(s.pseudo(len(l4)))))
		}
		return
	}
	if s.udpNoCsum && s.proto != protoDCCP {
		return
	}
	var c uint16
	if pseudo {
		c = refCsum(s.pseudo(len(l4)), l4)
	} else {
		c = refCsum(l4)
	}
	if c == 0 && (s.proto == protoUDP || s.proto == protoUDPLite) {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(l4[at:], c)
}

// Random specs and keys.

func randAddr(rng *rand.Rand, v6 bool) conntrack.Addr {
	if v6 {
		return conntrack.Addr{Hi: rng.Uint64(), Lo: rng.Uint64()}
	}
	return conntrack.Addr{Lo: 0xffff<<32 | uint64(rng.Uint32())}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
		if rng.IntN(8) == 0 { // runs of 0xff and 0 find ones'-complement edge cases
			b[i] = 0xff
		} else if rng.IntN(8) == 0 {
			b[i] = 0
		}
	}
	return b
}

var queryTypes = [2][]uint8{{8, 0, 13, 14, 15, 16, 17, 18}, {128, 129, 139, 140}}

// randSpec draws a packet that Rewrite handles.
func randSpec(rng *rand.Rand, v6 bool) *spec {
	s := &spec{v6: v6, src: randAddr(rng, v6), dst: randAddr(rng, v6),
		sport: uint16(rng.Uint32()), dport: uint16(rng.Uint32()),
		tos: byte(rng.Uint32()), ttl: byte(rng.Uint32()), id: uint16(rng.Uint32()),
		payload: randBytes(rng, rng.IntN(80))}
	if rng.IntN(6) == 0 {
		s.sport, s.dport = 0xffff, 0
	}
	fam := 0
	if v6 {
		fam = 1
	}
	switch rng.IntN(9) {
	case 0, 1, 2:
		s.proto = protoTCP
		s.tcpOpts = randBytes(rng, 4*rng.IntN(4))
	case 3, 4:
		s.proto = protoUDP
		s.udpNoCsum = rng.IntN(4) == 0
	case 5:
		s.proto = []uint8{protoUDPLite, protoDCCP}[rng.IntN(2)]
	case 6, 7:
		s.proto = protoICMP
		if v6 {
			s.proto = protoICMPv6
		}
		s.icmpType = queryTypes[fam][rng.IntN(len(queryTypes[fam]))]
	default:
		if v6 {
			s.proto = protoTCP
		} else {
			s.proto = []uint8{47, 50, 4, 103}[rng.IntN(4)] // GRE, ESP, IPIP, PIM
		}
	}
	if !v6 && rng.IntN(4) == 0 {
		s.opts = randBytes(rng, 4*(1+rng.IntN(10)))
	}
	if v6 && rng.IntN(3) == 0 {
		for range 1 + rng.IntN(3) {
			typ := []uint8{0, 60, 43, 51, 44}[rng.IntN(5)]
			var e []byte
			switch typ {
			case 51:
				e = make([]byte, 24)
				e[1] = 4
			case 44:
				e = make([]byte, 8) // offset 0: a first fragment
			default:
				n := 8 * (1 + rng.IntN(3))
				e = make([]byte, n)
				e[1] = byte(n/8 - 1)
			}
			s.exts, s.extTypes = append(s.exts, e), append(s.extTypes, typ)
		}
	}
	return s
}

// withTuple returns a copy of s with k's addresses and ports (an ICMP
// query: identifier).
func (s *spec) withTuple(k *conntrack.Key) *spec {
	c := *s
	c.src, c.dst = k.Src, k.Dst
	if s.isICMPQuery() {
		c.sport = k.SrcPort
	} else if hasPorts(s.proto) {
		c.sport, c.dport = k.SrcPort, k.DstPort
	}
	return &c
}

func hasPorts(p uint8) bool {
	return p == protoTCP || p == protoUDP || p == protoUDPLite || p == protoDCCP
}

func mustAddr(s string) conntrack.Addr { return conntrack.AddrFrom(netip.MustParseAddr(s)) }
