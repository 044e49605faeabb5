package conntrack

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentReplyClash is the NAT allocator's race without NAT:
// workers commit flows of distinct original keys whose reply keys (as a
// translation would choose them) come from a set smaller than the flows,
// picking the next candidate after ReasonKeyInUse. The table is nearly
// full so that commits move other flows' slots (cuckoo steps) while
// clash checks scan. At the end no reply key is held twice, every flow
// is found under both of its keys, and every slot belongs to a live
// entry. It failed (two flows, one reply key, a few rounds in ten runs)
// while a clash check skipped an entry whose commit finished as it read
// it, instead of reading it again.
func TestConcurrentReplyClash(t *testing.T) {
	const workers, perWorker, replies = 4, 175, 800
	rounds := 20
	if testing.Short() || raceEnabled {
		rounds = 8
	}
	var clashes, moves, evicted uint64
	for round := range rounds {
		tab := newTable(t, Config{Capacity: 768})
		var wg, start sync.WaitGroup
		start.Add(1)
		got, failed := make([]int, workers), make([]int, workers)
		for g := range workers {
			w := tab.NewWorker()
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				var p Packet
				for i := range perWorker {
					p = Packet{Kind: KindUDP, Key: Key{Src: Addr{0, 0xffff0a000000 | uint64(g<<16|i)},
						Dst: Addr{0, 0xffffc6336407}, SrcPort: 5000, DstPort: 53, Proto: protoUDP}}
					rk := p.Key.Reverse()
					rk.Dst = Addr{0, 0xffffcb007101}
					for c := range replies {
						rk.DstPort = uint16(1 + (c+i+round)%replies) // the same order on every worker
						if w.InUse(&rk, 1) {
							continue
						}
						res := w.Commit(&p, &rk, 1, 0)
						if res.Reason == ReasonKeyInUse {
							continue
						}
						if res.Conn == 0 {
							failed[g]++
						} else {
							got[g]++
						}
						break
					}
				}
				w.Publish()
			}()
		}
		start.Done()
		wg.Wait()
		held := map[uint16]uint32{}
		live := map[uint32]bool{}
		tab.Walk(func(f *Flow) bool {
			if o, dup := held[f.Reply.DstPort]; dup {
				t.Fatalf("round %d: reply port %d held by flows %d and %d", round, f.Reply.DstPort, o, f.Conn)
			}
			held[f.Reply.DstPort] = f.Conn
			live[f.Conn] = true
			for _, k := range []Key{f.Orig, f.Reply} {
				idx, _, ok := tab.Lookup(k)
				require.True(t, ok, "round %d: flow %d not found by %v", round, f.Conn, k)
				require.Equal(t, f.Conn, idx, "round %d: %v found in another entry", round, k)
			}
			return true
		})
		total, fails := 0, 0
		for g := range got {
			total, fails = total+got[g], fails+failed[g]
		}
		c := tab.Counters()
		clashes, moves, evicted = clashes+c.Clashes, moves+tab.moves.Load(), evicted+c.Evicted
		require.Zero(t, fails, "round %d: a commit failed", round)
		require.Equal(t, total-int(c.Evicted), len(held), "round %d: every commit is a flow, unless evicted", round)
		require.Equal(t, workers*perWorker, total, "round %d: every flow found a free reply key", round)
		slots := 0
		for i := range tab.buckets {
			for j := range bucketSlots {
				if sw := tab.buckets[i].s[j].Load(); sw != 0 {
					slots++
					require.True(t, live[uint32(sw)&idxMask], "round %d: slot for dead entry %d", round, uint32(sw)&idxMask)
				}
			}
		}
		require.Equal(t, 2*len(live), slots)
	}
	t.Logf("over %d rounds: %d clashes, %d cuckoo moves, %d evictions", rounds, clashes, moves, evicted)
	require.NotZero(t, clashes, "the workers never raced for a reply key: the test tests nothing")
}
