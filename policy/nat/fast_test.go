package nat

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// TestTranslateFastAsSlow: Translate's fast path (translate4) answers and
// writes exactly as the full path (translateSlow) on random packets of
// random flows, translated or not, in either direction, with their
// headers cut, lengths, fragment bits and protocols changed, stale keys
// and deleted flows, partial checksums; and it takes the common case.
func TestTranslateFastAsSlow(t *testing.T) {
	ct, err := conntrack.New(conntrack.Config{Capacity: 1 << 10})
	require.NoError(t, err)
	nt, err := NewTable(Config{})
	require.NoError(t, err)
	cw, fast, slow, probe := ct.NewWorker(), nt.NewWorker(ct), nt.NewWorker(ct), nt.NewWorker(ct)
	rng := rand.New(rand.NewPCG(20, 4))
	var took, translated int
	for it := range 40000 {
		s := randSpec(rng, rng.IntN(8) == 0)
		s.partial = rng.IntN(4) == 0 && s.proto != protoUDP
		var p conntrack.Packet
		if conntrack.Parse(&p, s.build(), uint16(rng.IntN(3))) != conntrack.ReasonNone || p.Key.IPv6() && rng.IntN(2) == 0 {
			continue
		}
		// A flow whose original key is the packet's, translated at random.
		f := conntrack.Flow{Orig: p.Key, Reply: p.Key.Reverse(), Replied: true, TCP: conntrack.TCPEstablished}
		switch rng.IntN(4) {
		case 0: // masquerade
			f.Reply.Dst, f.Reply.DstPort = randAddr(rng, p.Key.IPv6()), uint16(rng.Uint32())
		case 1: // port map
			f.Reply.Src, f.Reply.SrcPort = randAddr(rng, p.Key.IPv6()), uint16(rng.Uint32())
		case 2: // hairpin
			f.Reply.Dst, f.Reply.Src = randAddr(rng, p.Key.IPv6()), randAddr(rng, p.Key.IPv6())
			if rng.IntN(2) == 0 {
				f.Reply.SrcPort = f.Orig.DstPort // address only
			}
		}
		if !cw.Restore(&f, 100) {
			continue
		}
		idx, _, ok := ct.Lookup(f.Orig)
		require.True(t, ok)
		res := conntrack.Result{Conn: idx, State: conntrack.StateEstablished}
		ps := s
		if rng.IntN(2) == 0 { // the reply direction
			res.Dir = conntrack.Reply
			ps = s.withTuple(&f.Reply)
		}
		pkt := ps.build()
		conntrack.Parse(&p, pkt, f.Orig.Zone)
		switch rng.IntN(12) {
		case 0:
			pkt = pkt[:rng.IntN(len(pkt)+1)]
		case 1:
			binary.BigEndian.PutUint16(pkt[2:], uint16(rng.IntN(len(pkt)+8)))
		case 2:
			binary.BigEndian.PutUint16(pkt[2:], 0)
		case 3:
			pkt[6] |= byte(rng.IntN(2)) // a fragment, or a DF-like bit
			pkt[7] = byte(rng.Uint32())
		case 4:
			pkt[9] = []uint8{protoTCP, protoUDP, protoUDPLite, protoICMP}[rng.IntN(4)]
		case 5:
			p.Key.SrcPort++ // stale: the entry no longer holds it
		case 6:
			ct.Delete(idx)
		case 7:
			res.Conn = uint32(rng.IntN(1 << 10))
		case 9:
			res.State = conntrack.State(rng.IntN(6))
		case 8:
			pkt[0] = 0x40 | byte(rng.IntN(16))
		}
		a, b := bytes.Clone(pkt), bytes.Clone(pkt)
		act1, r1 := fast.Translate(a, &p, res, s.partial)
		act2, r2 := slow.translateSlow(b, &p, res, s.partial)
		require.Equal(t, act2, act1, "iteration %d: action", it)
		require.Equal(t, r2, r1, "iteration %d: reason", it)
		require.Equal(t, b, a, "iteration %d: bytes", it)
		if _, _, ok := probe.translate4(bytes.Clone(pkt), &p, res, s.partial); ok {
			took++
			if act1 != 0 {
				translated++
			}
		}
		ct.Delete(idx)
	}
	require.Equal(t, slow.n, fast.n, "counters")
	require.Greater(t, took, 5000, "packets the fast path took")
	require.Greater(t, translated, 3000, "packets the fast path translated")
	t.Logf("fast path took %d packets, translated %d", took, translated)
}
