package nat

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// The fuzzers feed arbitrary bytes and translations to the rewriters.
// Besides never panicking (Go's bounds checks turn any access outside the
// packet into a panic) and leaving a refused packet untouched, they check
// what makes an incremental update right whatever the packet holds: the
// ones'-complement sum of everything each checksum covers, checksum
// included, is what it was (a packet whose checksums were right still has
// them right, and one whose checksums were wrong is no more and no less
// wrong).

func fuzzKey(v6 bool, proto uint8, a, b []byte, sport, dport uint16) conntrack.Key {
	k := conntrack.Key{Proto: proto, SrcPort: sport, DstPort: dport}
	var x [32]byte
	copy(x[:], a)
	copy(x[16:], b)
	if v6 {
		k.Flags = conntrack.KeyIPv6
		k.Src = conntrack.Addr{Hi: binary.BigEndian.Uint64(x[:]), Lo: binary.BigEndian.Uint64(x[8:])}
		k.Dst = conntrack.Addr{Hi: binary.BigEndian.Uint64(x[16:]), Lo: binary.BigEndian.Uint64(x[24:])}
	} else {
		k.Src = conntrack.Addr{Lo: 0xffff<<32 | uint64(binary.BigEndian.Uint32(x[:]))}
		k.Dst = conntrack.Addr{Lo: 0xffff<<32 | uint64(binary.BigEndian.Uint32(x[16:]))}
	}
	return k
}

// sameSum reports whether two folded ones'-complement sums are the same
// number (0 and 0xffff are both zero).
func sameSum(a, b uint32) bool { return a%0xffff == b%0xffff }

// l4Sum is the sum over the pseudo header (if the protocol has one) and
// the L4 bytes of the IP packet b located in h, or for a partial
// checksum the field minus the pseudo-header sum. ok is false when there
// is nothing to check (no checksum, or a UDP "no checksum").
func l4Sum(b []byte, h *hdr, partial bool) (uint32, bool) {
	s, r := shapeOf(b, h, false)
	if r != ReasonNone || s.csumAt < 0 {
		return 0, false
	}
	l4 := b[h.l4:h.end]
	c := binary.BigEndian.Uint16(l4[s.csumAt:])
	if s.udpZero && c == 0 && !partial {
		return 0, false
	}
	var ps uint32
	if s.pseudo {
		ps = refSum(sp(b, h, len(l4)))
	}
	if partial {
		if !s.pseudo {
			return uint32(c), true
		}
		return (uint32(c) + 0xffff - ps) % 0xffff, true
	}
	if !s.pseudo {
		return refSum(l4), true
	}
	return refSum(append(sp(b, h, len(l4)), l4...)), true
}

func sp(b []byte, h *hdr, n int) []byte {
	s := spec{v6: h.v6, proto: h.proto}
	if h.v6 {
		s.src = conntrack.Addr{Hi: binary.BigEndian.Uint64(b[8:]), Lo: binary.BigEndian.Uint64(b[16:])}
		s.dst = conntrack.Addr{Hi: binary.BigEndian.Uint64(b[24:]), Lo: binary.BigEndian.Uint64(b[32:])}
	} else {
		s.src = conntrack.Addr{Lo: uint64(binary.BigEndian.Uint32(b[12:]))}
		s.dst = conntrack.Addr{Lo: uint64(binary.BigEndian.Uint32(b[16:]))}
	}
	return s.pseudo(n)
}

func seedPackets(f *testing.F, errors bool) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 40 {
		s := randSpec(rng, i%2 == 0)
		if errors {
			cur := s.key()
			e := &spec{v6: s.v6, proto: protoICMP, icmpType: 3, src: cur.Dst, dst: cur.Src, quote: s, quoteLen: 48 + i}
			if s.v6 {
				e.proto, e.icmpType = protoICMPv6, 1
			}
			k := cur.Reverse()
			f.Add(e.build(), []byte{192, 0, 2, 1}, []byte{10, 0, 0, 1}, uint16(i), uint16(80), i%3 == 0, k.Proto)
			continue
		}
		f.Add(s.build(), []byte{192, 0, 2, 1}, []byte{10, 0, 0, 1}, uint16(i), uint16(80), i%3 == 0, s.proto)
	}
}

func FuzzRewrite(f *testing.F) {
	seedPackets(f, false)
	f.Fuzz(func(t *testing.T, data, a, b []byte, sport, dport uint16, partial bool, proto uint8) {
		pkt := append([]byte(nil), data...)
		pkt = pkt[:len(pkt):len(pkt)]
		var h hdr
		located := locate(pkt, &h, false) == ReasonNone
		to := fuzzKey(located && h.v6, proto, a, b, sport, dport)
		if located && len(a)%2 == 0 {
			to.Proto = h.proto
		}
		var ipSum, sum uint32
		var sumOK bool
		if located {
			if !h.v6 {
				ipSum = refSum(pkt[:h.l4])
			}
			sum, sumOK = l4Sum(pkt, &h, partial)
		}
		before := append([]byte(nil), pkt...)
		r := Rewrite(pkt, &to, partial)
		if r != ReasonNone {
			if !bytes.Equal(before, pkt) {
				t.Fatalf("refused (%v) but changed", r)
			}
			return
		}
		if !located {
			t.Fatal("rewrote a packet locate refused")
		}
		if !h.v6 && !sameSum(ipSum, refSum(pkt[:h.l4])) {
			t.Fatalf("IPv4 header sum %#x, was %#x", refSum(pkt[:h.l4]), ipSum)
		}
		if sumOK {
			after, ok := l4Sum(pkt, &h, partial)
			if !ok || !sameSum(sum, after) {
				t.Fatalf("L4 sum %#x (%v), was %#x", after, ok, sum)
			}
		}
		// Parsed again, the packet has the translation's tuple.
		var p conntrack.Packet
		if conntrack.Parse(&p, pkt, 0) == conntrack.ReasonNone && p.Kind != conntrack.KindOther {
			if p.Key.Src != to.Src || p.Key.Dst != to.Dst || p.Key.SrcPort != to.SrcPort {
				t.Fatalf("parsed %v, want %v", p.Key, to)
			}
			if p.Kind != conntrack.KindICMPRequest && p.Kind != conntrack.KindICMPReply && p.Key.DstPort != to.DstPort {
				t.Fatalf("parsed %v, want %v", p.Key, to)
			}
		}
	})
}

func FuzzRewriteICMPError(f *testing.F) {
	seedPackets(f, true)
	f.Fuzz(func(t *testing.T, data, a, b []byte, sport, dport uint16, partial bool, proto uint8) {
		pkt := append([]byte(nil), data...)
		pkt = pkt[:len(pkt):len(pkt)]
		// cur from what conntrack parses (as the switch would), want
		// from the fuzzer.
		var p conntrack.Packet
		conntrack.Parse(&p, pkt, 0)
		cur := p.Key
		want := fuzzKey(cur.IPv6(), cur.Proto, a, b, sport, dport)
		if len(a)%3 == 1 {
			want.Proto = proto
		}
		var h hdr
		located := locate(pkt, &h, false) == ReasonNone
		var ipSum, icmpSum uint32
		if located && h.end >= h.l4+8 {
			if !h.v6 {
				ipSum = refSum(pkt[:h.l4])
			}
			icmpSum, _ = icmpErrSum(pkt, &h, partial)
		}
		before := append([]byte(nil), pkt...)
		r := RewriteICMPError(pkt, &cur, &want, partial)
		if r != ReasonNone {
			if !bytes.Equal(before, pkt) {
				t.Fatalf("refused (%v) but changed", r)
			}
			return
		}
		if p.Kind != conntrack.KindICMPError {
			// Accepting what conntrack calls something else is fine
			// only if it is an error to both.
			if !located || !icmpError(pkt[h.l4], h.v6) {
				t.Fatalf("rewrote a non-error (kind %d)", p.Kind)
			}
		}
		if !h.v6 && !sameSum(ipSum, refSum(pkt[:h.l4])) {
			t.Fatalf("IPv4 header sum %#x, was %#x", refSum(pkt[:h.l4]), ipSum)
		}
		if after, _ := icmpErrSum(pkt, &h, partial); !sameSum(icmpSum, after) {
			t.Fatalf("ICMP sum %#x, was %#x", after, icmpSum)
		}
		var ih hdr
		q := pkt[h.l4+8 : h.end]
		if locate(q, &ih, true) == ReasonNone && !ih.v6 && !sameSum(0xffff, refSum(q[:ih.l4])) && sameSum(0xffff, refSum(before[h.l4+8:][:ih.l4])) {
			t.Fatal("quoted IPv4 header checksum broken")
		}
	})
}

// icmpErrSum is the sum an ICMP error's checksum covers (for ICMPv6 the
// pseudo header too), or for a partial one the field minus the pseudo
// header.
func icmpErrSum(b []byte, h *hdr, partial bool) (uint32, bool) {
	l4 := b[h.l4:h.end]
	if partial {
		c := uint32(binary.BigEndian.Uint16(l4[2:]))
		if !h.v6 {
			return c, true
		}
		return (c + 0xffff - refSum(sp(b, h, len(l4)))) % 0xffff, true
	}
	if !h.v6 {
		return refSum(l4), true
	}
	return refSum(append(sp(b, h, len(l4)), l4...)), true
}
