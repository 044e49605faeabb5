package conntrack

import (
	"math/rand/v2"
	"testing"

	"github.com/vecswitch/vecswitch/internal/hugemem"
)

// BenchmarkMemoryFloor measures what memory alone costs a lookup at 1M
// flows on this machine, with no conntrack code: arrays the size of a
// table of 2M flows (256 MiB of entries, 64 MiB of buckets, from
// internal/hugemem as the table's), indices drawn at random.
//
//   - dependent: one load after the other (each address from the last
//     load): the latency of one miss;
//   - independent: 256 loads whose addresses are known in advance: the
//     cost per miss when the CPU keeps as many in flight as it can;
//   - bucket+entry: TrackBatch's pattern: 256 bucket lines, then the 256
//     entry lines their slots name: per packet, the floor under any
//     two-level table at this size;
//   - one-line: 256 random lines of the 256 MiB of entries: the floor of
//     a table whose hit reads one line (a flow's key and state for its
//     direction where its hash points), the design the package doc's
//     "Memory" weighs.
func BenchmarkMemoryFloor(b *testing.B) {
	const nb, ne = 1 << 20, 2 << 20
	buckets, freeB := hugemem.Alloc[bucket](nb)
	defer freeB()
	entries, freeE := hugemem.Alloc[entry](ne)
	defer freeE()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range buckets {
		buckets[i].s[0].Store(uint64(rng.IntN(ne)))
	}
	perm := rng.Perm(ne) // one cycle through every entry, in random order
	for i := range perm {
		entries[perm[i]].seq.Store(uint32(perm[(i+1)%ne]))
	}
	// Draws over the whole table, four per bucket: with 1<<16 of them (as
	// before 2026-12-07) the lines drawn were 4 MiB of buckets and 4 MiB
	// of entries' first lines, which the last-level cache held after the
	// first round, and the floor came out low.
	draw := make([]uint32, 4*nb)
	for i := range draw {
		draw[i] = uint32(rng.IntN(nb))
	}
	per := func(b *testing.B, n int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/load")
	}
	var sink uint64
	b.Run("dependent", func(b *testing.B) {
		j, n := uint32(0), 0
		for b.Loop() {
			for range BatchSize {
				j = entries[j].seq.Load()
			}
			n += BatchSize
		}
		sink += uint64(j)
		per(b, n)
	})
	b.Run("independent", func(b *testing.B) {
		pos, n := 0, 0
		for b.Loop() {
			for _, i := range draw[pos : pos+BatchSize] {
				sink += buckets[i].s[0].Load()
			}
			pos = (pos + BatchSize) % len(draw)
			n += BatchSize
		}
		per(b, n)
	})
	b.Run("bucket+entry", func(b *testing.B) {
		var cand [BatchSize]uint64
		pos, n := 0, 0
		for b.Loop() {
			for k, i := range draw[pos : pos+BatchSize] {
				cand[k] = buckets[i].s[0].Load()
			}
			for _, c := range cand {
				sink += uint64(entries[c].seq.Load())
			}
			pos = (pos + BatchSize) % len(draw)
			n += BatchSize
		}
		per(b, n)
	})
	b.Run("one-line", func(b *testing.B) {
		pos, n := 0, 0
		for b.Loop() {
			for _, i := range draw[pos : pos+BatchSize] {
				sink += uint64(entries[i*2+1].seq.Load()) // anywhere in the 256 MiB
			}
			pos = (pos + BatchSize) % len(draw)
			n += BatchSize
		}
		per(b, n)
	})
	if sink == 1 {
		b.Log(sink)
	}
}
