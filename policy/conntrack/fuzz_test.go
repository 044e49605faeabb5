package conntrack

import (
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse and checks its invariants: no
// panic, a reason for every rejected packet and a kind for every
// accepted one, keys of the zone asked for, IPv4 keys holding
// IPv4-mapped addresses, the same answer twice (Parse keeps no state
// from one packet to the next), the same from parseFull and
// ParseBatch, and a later fragment exactly when the reason says so.
func FuzzParse(f *testing.F) {
	f.Add(tcpPkt(f, "10.0.0.1", "10.0.0.2", 1234, 80, fSYN))
	f.Add(tcpPkt(f, "2001:db8::1", "2001:db8::2", 1234, 80, fSYN|fACK))
	f.Add(udpPkt(f, "10.0.0.1", "10.0.0.2", 53, 53))
	f.Add(echoPkt(f, "2001:db8::1", "2001:db8::2", 1, false))
	f.Add(icmpErr(f, "192.0.2.1", "10.0.0.1", tcpPkt(f, "10.0.0.1", "10.0.0.2", 1234, 80, fSYN)))
	f.Add(icmpErr(f, "2001:db8::9", "2001:db8::1", udpPkt(f, "2001:db8::1", "2001:db8::2", 5, 6)))
	f.Add(raw6("2001:db8::1", "2001:db8::2", []ext6{hbh(), routing(), frag6(0, true), ah()}, protoTCP, l4tcp(1, 2, fSYN)))
	f.Add(raw6("2001:db8::1", "2001:db8::2", []ext6{frag6(9, true)}, protoUDP, []byte{1, 2}))
	f.Add(frag4(udpPkt(f, "10.0.0.1", "10.0.0.2", 53, 53), 1, fFirst))
	f.Add(frag4(udpPkt(f, "10.0.0.1", "10.0.0.2", 53, 53), 1, fMid))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p, q Packet
		r := Parse(&p, b, 42)
		if Parse(&q, b, 42) != r || p != q {
			t.Fatalf("two parses differ: %+v %+v", p, q)
		}
		if p.Reason != r {
			t.Fatalf("Reason %v, returned %v", p.Reason, r)
		}
		if p.Frag.Later() != (r == ReasonFragment) || p.Frag > FragLast {
			t.Fatalf("Frag %d with reason %v", p.Frag, r)
		}
		if r2 := parseFull(&q, b, 42); r2 != r || p != q { // the fast path changes nothing
			t.Fatalf("Parse %v %+v, parseFull %v %+v", r, p, r2, q)
		}
		var ps [2]Packet
		ParseBatch(ps[:], [][]byte{b, b}, []uint16{42, 42})
		if ps[0] != p || ps[1] != p {
			t.Fatalf("Parse %+v, ParseBatch %+v", p, ps)
		}
		switch r {
		case ReasonNone:
			if p.Kind == KindInvalid || p.Kind == KindFragment || p.Kind == KindUntracked {
				t.Fatalf("accepted with kind %d", p.Kind)
			}
		case ReasonFragment:
			if p.Kind != KindFragment {
				t.Fatalf("fragment with kind %d", p.Kind)
			}
		case ReasonICMPUntracked:
			if p.Kind != KindUntracked {
				t.Fatalf("untracked with kind %d", p.Kind)
			}
		default:
			if p.Kind != KindInvalid {
				t.Fatalf("reason %v with kind %d", r, p.Kind)
			}
			return
		}
		if p.Key.Zone != 42 {
			t.Fatalf("zone %d", p.Key.Zone)
		}
		if !p.Key.IPv6() && (p.Key.Src.Hi != 0 || p.Key.Src.Lo>>32 != 0xffff || p.Key.Dst.Lo>>32 != 0xffff) {
			t.Fatalf("IPv4 key not mapped: %v", p.Key)
		}
		if p.Kind == KindTCP && tcpClass(p.TCPFlags) == tcpInvalid {
			t.Fatalf("accepted TCP flags %#x", p.TCPFlags)
		}
		if rr := p.Key.Reverse().Reverse(); rr != p.Key && p.Kind != KindICMPError {
			t.Fatalf("Reverse twice: %v != %v", rr, p.Key)
		}
	})
}
