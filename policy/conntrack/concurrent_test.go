package conntrack

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrent runs several workers over shared UDP and TCP flows
// (half by TrackParsed, half by TrackBatch): each packet goes to a
// random worker, in a random direction, and any worker that sees a new
// flow commits it, so both ends of a flow are
// often committed at once on two workers (a clash). A control goroutine
// flushes and expires meanwhile, and the table is small enough to evict.
// Run under -race. At the end every flow is in at most one entry, found
// under both keys in opposite directions, and the entry count matches.
func TestConcurrent(t *testing.T) {
	const (
		workers = 4
		flows   = 300
	)
	rounds := 30000
	if testing.Short() || raceEnabled {
		rounds = 5000
	}
	tab := newTable(t, Config{Capacity: 256, TCPLoose: true})
	keys := make([]Key, flows)
	for i := range keys {
		proto := uint8(protoUDP)
		if i%2 == 0 {
			proto = protoTCP
		}
		keys[i] = Key{Src: Addr{0, 0xffff0a000000 | uint64(i%7)}, Dst: Addr{0, 0xffff0a000100 | uint64(i%5)},
			SrcPort: uint16(1000 + i), DstPort: 80, Proto: proto, Zone: uint16(i % 2)}
	}
	var wg, ctl sync.WaitGroup
	var stop atomic.Bool
	var reused atomic.Int64
	var now atomic.Uint32
	now.Store(1)
	for g := range workers {
		w := tab.NewWorker()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			var p Packet
			batch := make([]Packet, 16)
			res := make([]Result, 16)
			for r := range rounds {
				i := rng.IntN(flows)
				p.Key, p.Reason = keys[i], ReasonNone
				if rng.IntN(2) == 0 {
					p.Key = p.Key.Reverse()
				}
				p.Kind = KindUDP
				if p.Key.Proto == protoTCP {
					p.Kind, p.TCPFlags = KindTCP, []uint8{fACK, fACK | fPSH, fSYN, fSYN | fACK, fFIN | fACK, fRST}[rng.IntN(6)]
				}
				if g%2 == 1 { // odd workers go by vectors of 16
					batch[r%16] = p
					if r%16 != 15 {
						continue
					}
					w.TrackBatch(batch, res, now.Load())
					for j := range batch {
						if res[j].State == StateNew && res[j].Conn == 0 {
							w.Commit(&batch[j], nil, now.Load(), uint32(batch[j].Key.SrcPort))
						}
					}
					w.Publish()
					continue
				}
				res := w.TrackParsed(&p, now.Load())
				if res.Conn != 0 && res.State != StateInvalid {
					// The entry holds the key, unless it was deleted
					// and reused since (rare, legal).
					if f, ok := tab.Get(res.Conn); ok && f.Orig != p.Key && f.Reply != p.Key {
						reused.Add(1)
					}
				}
				if res.State == StateNew && res.Conn == 0 {
					w.Commit(&p, nil, now.Load(), uint32(i))
				}
				w.Publish()
			}
		}()
	}
	ctl.Add(1)
	go func() { // the control plane
		defer ctl.Done()
		var next uint32
		for n := 0; !stop.Load(); n++ {
			now.Add(1)
			switch n % 3 {
			case 0:
				next, _ = tab.Expire(now.Load(), next, 64)
			case 1:
				tab.Flush(func(f *Flow) bool { return f.Mark%50 == uint32(n)%50 })
			case 2:
				tab.Walk(func(f *Flow) bool { return f.Conn < 100 })
			}
		}
	}()
	wg.Wait()
	stop.Store(true)
	ctl.Wait()

	entries := map[uint32]bool{}
	for _, k := range keys {
		i1, d1, ok1 := tab.Lookup(k)
		i2, d2, ok2 := tab.Lookup(k.Reverse())
		require.Equal(t, ok1, ok2, "%v found in one direction only", k)
		if !ok1 {
			continue
		}
		require.Equal(t, i1, i2, "%v: two entries", k)
		require.NotEqual(t, d1, d2)
		require.False(t, entries[i1])
		entries[i1] = true
		f, ok := tab.Get(i1)
		require.True(t, ok)
		require.True(t, f.Orig == k || f.Reply == k)
	}
	require.Equal(t, len(entries), tab.Len())
	n := 0
	tab.Walk(func(*Flow) bool { n++; return true })
	require.Equal(t, len(entries), n)
	c := tab.Counters()
	t.Logf("%+v; entries reused under a packet: %d", c, reused.Load())
	require.Less(t, reused.Load(), int64(rounds)/100)
	require.NotZero(t, c.Hits)
	require.NotZero(t, c.Evicted+c.Deleted)
	// Every slot in the buckets belongs to a live entry.
	slots := 0
	for i := range tab.buckets {
		for j := range bucketSlots {
			if sw := tab.buckets[i].s[j].Load(); sw != 0 {
				slots++
				require.True(t, entries[uint32(sw)&idxMask], "slot for dead entry %d", uint32(sw)&idxMask)
			}
		}
	}
	require.Equal(t, 2*len(entries), slots)
}
