package nat

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

func udp(src, dst string, sport, dport uint16, payload []byte) *spec {
	a, b := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	return &spec{v6: a.Is6(), proto: protoUDP, src: conntrack.AddrFrom(a), dst: conntrack.AddrFrom(b),
		sport: sport, dport: dport, ttl: 64, id: 0x4242, payload: payload}
}

// fragment cuts pkt (built by spec: IPv4 without options, or IPv6
// without extension headers) into fragments of datagram id whose
// payloads start at the L4 offsets at (multiples of 8).
func fragment(pkt []byte, id uint32, at ...int) [][]byte {
	v6 := pkt[0]>>4 == 6
	hl := 20
	if v6 {
		hl = 40
	}
	l4 := pkt[hl:]
	cuts := append(append([]int{0}, at...), len(l4))
	var out [][]byte
	for i := 0; i+1 < len(cuts); i++ {
		piece := l4[cuts[i]:cuts[i+1]]
		more := i+2 < len(cuts)
		off := uint16(cuts[i] / 8)
		var f []byte
		if v6 {
			f = append([]byte(nil), pkt[:40]...)
			fh := make([]byte, 8)
			fh[0] = pkt[6] // the next header after the fragment header
			fo := off << 3
			if more {
				fo |= 1
			}
			binary.BigEndian.PutUint16(fh[2:], fo)
			binary.BigEndian.PutUint32(fh[4:], id)
			f[6] = 44
			f = append(append(f, fh...), piece...)
			binary.BigEndian.PutUint16(f[4:], uint16(len(f)-40))
		} else {
			f = append(append([]byte(nil), pkt[:20]...), piece...)
			fo := off
			if more {
				fo |= 0x2000
			}
			binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
			binary.BigEndian.PutUint16(f[4:], uint16(id))
			binary.BigEndian.PutUint16(f[6:], fo)
			f[10], f[11] = 0, 0
			binary.BigEndian.PutUint16(f[10:], refCsum(f[:20]))
		}
		out = append(out, f)
	}
	return out
}

// reassemble checks that the fragments carry the addresses of want (and
// a valid IPv4 header checksum each) and that their payloads put
// together are want's L4 bytes, checksum included.
func reassemble(t *testing.T, frags [][]byte, want []byte) {
	t.Helper()
	v6 := want[0]>>4 == 6
	var l4 []byte
	for i, f := range frags {
		if v6 {
			require.Equal(t, want[8:40], f[8:40], "fragment %d's addresses", i)
			l4 = append(l4, f[48:]...)
		} else {
			require.Equal(t, want[12:20], f[12:20], "fragment %d's addresses", i)
			require.Equal(t, uint16(0), ^uint16(refSum(f[:20])), "fragment %d's header checksum", i)
			l4 = append(l4, f[20:]...)
		}
	}
	hl := map[bool]int{false: 20, true: 40}[v6]
	require.True(t, bytes.Equal(want[hl:], l4), "the datagram put together differs from the one expected")
}

// TestFragmentsTranslated: a masqueraded flow's datagrams in fragments,
// both ways, IPv4 and IPv6, UDP and ICMP echo: each fragment after the
// first is tracked with the first's flow (conntrack's fragment table) and
// gets the translated addresses; the first gets the ports too, and its L4
// checksum, updated for the whole datagram, is right once the pieces are
// put together.
func TestFragmentsTranslated(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 100) // 1600 bytes
	for _, f := range [][3]string{{"10.0.0.5", "198.51.100.7", "203.0.113.1"}, {"fd00::5", "2001:db8:1::7", "2001:db8:e::1"}} {
		c1, srv, ext := f[0], f[1], f[2]
		t.Run(srv, func(t *testing.T) {
			r := newRig(t, Config{})
			// sends sends every piece of s's packet (datagram id, cut at
			// 600) and checks they became want's.
			sends := func(s, want *spec, id uint32, state conntrack.State) {
				t.Helper()
				s.payload, want.payload = payload, payload
				frags := fragment(s.build(), id, 600)
				for _, p := range frags {
					res, _, reason := r.send(p)
					require.Equal(t, ReasonNone, reason, reason.String())
					require.Equal(t, state, res.State)
				}
				reassemble(t, frags, want.build())
			}
			// Out: a datagram in pieces, the flow's first; back: the
			// answer in pieces, to the container.
			sends(udp(c1, srv, 5000, 53, nil), udp(ext, srv, 5000, 53, nil), 7, conntrack.StateNew)
			sends(udp(srv, ext, 53, 5000, nil), udp(srv, c1, 53, 5000, nil), 8, conntrack.StateEstablished)
			// Three pieces.
			frags := fragment(udp(c1, srv, 5000, 53, payload).build(), 9, 512, 1024)
			for _, p := range frags {
				_, _, reason := r.send(p)
				require.Equal(t, ReasonNone, reason, reason.String())
			}
			reassemble(t, frags, udp(ext, srv, 5000, 53, payload).build())
			// A big ping and its answer.
			sends(echo(c1, srv, 77, false), echo(ext, srv, 77, false), 10, conntrack.StateNew)
			sends(echo(srv, ext, 77, true), echo(srv, c1, 77, true), 11, conntrack.StateEstablished)
			// A later piece whose first was never seen stays untracked,
			// and the nat node drops it (Wants: it would be translated),
			// rather than let the container's address out.
			lost := fragment(udp(c1, srv, 5001, 53, payload).build(), 12, 512)[1]
			res, _, _ := r.send(lost)
			require.Equal(t, []any{conntrack.StateUntracked, conntrack.ReasonFragment}, []any{res.State, res.Reason})
			require.True(t, r.w.Wants(&r.p))
		})
	}
}
