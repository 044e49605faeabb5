package conntrack

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// Fragment kinds for frag4.
const (
	fFirst = iota // offset 0, more fragments
	fMid          // offset 185*8, more fragments
	fLast         // offset 370*8, the last
)

// frag4 is IPv4 packet pkt made a fragment of datagram id: first, a
// middle one or the last (a later one's L4 bytes being payload).
func frag4(pkt []byte, id uint16, kind int) []byte {
	b := append([]byte(nil), pkt...)
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], []uint16{0x2000, 0x2000 | 185, 370}[kind])
	if kind != fFirst {
		for i := 20; i < len(b); i++ {
			b[i] = 0xee // no L4 header: what would be its ports is payload
		}
	}
	return b
}

// frag6id is raw6's fragment header with identification id.
func frag6id(off uint16, more bool, id uint32) ext6 {
	e := frag6(off, more)
	binary.BigEndian.PutUint32(e.body[4:], id)
	return e
}

func TestParseFragmentIDs(t *testing.T) {
	var p Packet
	udp := udpPkt(t, "10.0.0.1", "10.0.0.2", 1000, 2000)
	require.Equal(t, ReasonNone, Parse(&p, udp, 0))
	require.Equal(t, FragNone, p.Frag)
	require.Equal(t, ReasonNone, Parse(&p, frag4(udp, 77, fFirst), 0))
	require.Equal(t, []any{FragFirst, uint32(77), uint16(2000)}, []any{p.Frag, p.FragID, p.Key.DstPort})
	require.Equal(t, ReasonFragment, Parse(&p, frag4(udp, 77, fMid), 0))
	require.Equal(t, []any{FragLater, uint32(77), KindFragment}, []any{p.Frag, p.FragID, p.Kind})
	require.Equal(t, ReasonFragment, Parse(&p, frag4(udp, 77, fLast), 0))
	require.Equal(t, FragLast, p.Frag)
	l4 := []byte{0x03, 0xe8, 0x07, 0xd0, 0, 8, 0, 0}
	require.Equal(t, ReasonNone, Parse(&p, raw6("2001:db8::1", "2001:db8::2", []ext6{frag6id(0, true, 0xabcdef01)}, protoUDP, l4), 0))
	require.Equal(t, []any{FragFirst, uint32(0xabcdef01), uint16(2000)}, []any{p.Frag, p.FragID, p.Key.DstPort})
	require.Equal(t, ReasonFragment, Parse(&p, raw6("2001:db8::1", "2001:db8::2", []ext6{frag6id(9, false, 0xabcdef01)}, protoUDP, l4), 0))
	require.Equal(t, []any{FragLast, uint32(0xabcdef01)}, []any{p.Frag, p.FragID})
	// An atomic fragment (offset 0, no more) is a whole datagram.
	require.Equal(t, ReasonNone, Parse(&p, raw6("2001:db8::1", "2001:db8::2", []ext6{frag6id(0, false, 5)}, protoUDP, l4), 0))
	require.Equal(t, FragNone, p.Frag)
}

// TestFragments: a fragment after the first is tracked with its first
// fragment's flow, by TrackParsed and TrackBatch alike, in both
// directions, IPv4 and IPv6, UDP and ICMP echo; and is left untracked
// (ReasonFragment, as before) when its first fragment was not seen, was
// another datagram's, was TCP's, or is too old.
func TestFragments(t *testing.T) {
	for _, batch := range []bool{false, true} {
		name := map[bool]string{false: "TrackParsed", true: "TrackBatch"}[batch]
		t.Run(name, func(t *testing.T) {
			tab := newTable(t, Config{})
			w := tab.NewWorker()
			track := func(now uint32, pkts ...[]byte) []Result {
				ps := make([]Packet, len(pkts))
				res := make([]Result, len(pkts))
				for i, b := range pkts {
					Parse(&ps[i], b, 3)
				}
				if batch {
					w.TrackBatch(ps, res, now)
				} else {
					for i := range ps {
						res[i] = w.TrackParsed(&ps[i], now)
					}
				}
				for i := range ps {
					if res[i].State == StateNew && res[i].Conn == 0 {
						res[i] = w.Commit(&ps[i], nil, now, 0)
					}
				}
				return res
			}
			untracked := func(r Result) {
				t.Helper()
				require.Equal(t, []any{StateUntracked, ReasonFragment}, []any{r.State, r.Reason})
			}
			req := udpPkt(t, "10.0.0.1", "10.0.0.2", 1000, 2000)
			ans := udpPkt(t, "10.0.0.2", "10.0.0.1", 2000, 1000)
			res := track(10, req, frag4(ans, 9, fFirst), frag4(ans, 9, fMid), frag4(ans, 9, fLast))
			require.NotZero(t, res[0].Conn)
			for _, r := range res[1:] {
				require.Equal(t, []any{res[0].Conn, Reply, StateEstablished}, []any{r.Conn, r.Dir, r.State}, "%+v", r)
			}
			require.EqualValues(t, 2, fragCount(w))

			// The first fragment of a new flow's first datagram, and its
			// later ones in the same vector: one flow.
			big := udpPkt(t, "10.0.0.1", "10.0.0.3", 1001, 2001)
			res = track(11, frag4(big, 10, fFirst), frag4(big, 10, fLast))
			require.NotZero(t, res[0].Conn)
			require.Equal(t, res[0].Conn, res[1].Conn)

			// Not seen first; another datagram's first; too old.
			untracked(track(12, frag4(ans, 11, fMid))[0])
			track(12, frag4(ans, 12, fFirst))
			untracked(track(12, frag4(ans, 13, fMid))[0])
			untracked(track(12+fragTimeout+1, frag4(ans, 12, fMid))[0])
			// The last piece ends the datagram: a piece of the same
			// identity after it is another datagram's.
			track(20, frag4(ans, 15, fFirst), frag4(ans, 15, fLast))
			untracked(track(20, frag4(ans, 15, fMid))[0])
			// A first fragment that cannot pass its ports on (truncated:
			// no UDP header) takes the slot all the same: the next
			// datagram of an identity still remembered is not matched to
			// the older one.
			track(21, frag4(ans, 16, fFirst))
			short := frag4(ans, 16, fFirst)[:24]
			binary.BigEndian.PutUint16(short[2:], 24)
			track(21, short)
			untracked(track(21, frag4(ans, 16, fMid))[0])
			// TCP's later fragments stay untracked.
			syn := tcpPkt(t, "10.0.0.1", "10.0.0.2", 1002, 80, fSYN)
			res = track(13, frag4(syn, 14, fFirst), frag4(syn, 14, fLast))
			require.NotZero(t, res[0].Conn)
			untracked(res[1])

			// IPv6, and ICMP echo.
			l4 := []byte{0x03, 0xe8, 0x07, 0xd0, 0, 8, 0, 0}
			rl4 := []byte{0x07, 0xd0, 0x03, 0xe8, 0, 8, 0, 0}
			res = track(14, raw6("2001:db8::1", "2001:db8::2", nil, protoUDP, l4),
				raw6("2001:db8::2", "2001:db8::1", []ext6{frag6id(0, true, 99)}, protoUDP, rl4),
				raw6("2001:db8::2", "2001:db8::1", []ext6{frag6id(181, false, 99)}, protoUDP, []byte{1, 2, 3}))
			require.Equal(t, []any{res[0].Conn, Reply}, []any{res[2].Conn, res[2].Dir})
			ping := echoPkt(t, "10.0.0.1", "10.0.0.2", 7, false)
			pong := echoPkt(t, "10.0.0.2", "10.0.0.1", 7, true)
			res = track(15, frag4(ping, 20, fFirst), frag4(ping, 20, fLast))
			require.NotZero(t, res[0].Conn)
			require.Equal(t, res[0].Conn, res[1].Conn, "%+v", res)
			conn := res[0].Conn
			res = track(15, frag4(pong, 21, fFirst), frag4(pong, 21, fLast))
			for _, r := range res {
				require.Equal(t, []any{conn, Reply, StateEstablished}, []any{r.Conn, r.Dir, r.State}, "%+v", res)
			}
			w.Publish()
			require.Equal(t, fragCount(w), tab.Counters().Fragments)
		})
	}
}

func fragCount(w *Worker) uint64 { return w.n.fragments }

func TestFragmentAllocations(t *testing.T) {
	tab := newTable(t, Config{})
	w := tab.NewWorker()
	ans := udpPkt(t, "10.0.0.2", "10.0.0.1", 2000, 1000)
	pkts := [][]byte{frag4(ans, 9, fFirst), frag4(ans, 9, fMid)}
	ps := make([]Packet, 2)
	res := make([]Result, 2)
	if a := testing.AllocsPerRun(100, func() {
		ParseBatch(ps, pkts, []uint16{0, 0})
		w.TrackBatch(ps, res, 1)
	}); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}
