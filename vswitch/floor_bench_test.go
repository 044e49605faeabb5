package vswitch

import (
	"math/rand/v2"
	"testing"

	"github.com/vecswitch/vecswitch/internal/hugemem"
)

// The memory floor of a lookup in a table of 1M entries (issue 24): random
// 64-byte lines of a 64 MiB region (a 1M-MAC table is 32-48 MiB, the
// 1M-route FIB's first level 64 MiB), loaded independently (the CPU keeps
// several misses in flight, as the touch-ahead pass of l2-fwd and
// ip4-forward does) or each depending on the one before (a pointer chase:
// one full miss at a time), from the Go heap (4 KiB pages on Debian's THP
// "madvise") and from internal/hugemem (2 MiB pages when the kernel has
// them).
//
//	go test ./vswitch -run '^$' -bench Floor -benchtime 2000000x

const floorLines = 1 << 20 // 64 MiB of 64-byte lines

type floorLine struct{ w [8]uint64 }

func floorTable(b *testing.B, huge bool) []floorLine {
	var t []floorLine
	if huge {
		var free func()
		t, free = hugemem.Alloc[floorLine](floorLines)
		b.Cleanup(free)
	} else {
		t = make([]floorLine, floorLines)
	}
	// A random cycle through all lines: w[0] is the next line's index.
	perm := rand.New(rand.NewPCG(1, 2)).Perm(floorLines)
	for i := range perm {
		t[perm[i]].w[0] = uint64(perm[(i+1)%len(perm)])
	}
	return t
}

func benchFloorIndependent(b *testing.B, huge bool) {
	t := floorTable(b, huge)
	// Draws over the whole region, four per line: with 1<<16 of them (as
	// before 2026-12-07) the lines drawn were 4 MiB, which the last-level
	// cache held after the first round, and the floor came out low.
	idx := make([]uint32, 4*floorLines)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range idx {
		idx[i] = uint32(r.IntN(floorLines))
	}
	var sum uint64
	i := 0
	for b.Loop() {
		sum += t[idx[i]].w[0]
		i = (i + 1) & (len(idx) - 1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/load")
	if sum == 1 {
		b.Log(sum)
	}
}

func benchFloorDependent(b *testing.B, huge bool) {
	t := floorTable(b, huge)
	p := uint64(0)
	for b.Loop() {
		p = t[p].w[0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/load")
	if p == 1<<40 {
		b.Log(p)
	}
}

func BenchmarkFloorIndependent(b *testing.B)     { benchFloorIndependent(b, false) }
func BenchmarkFloorIndependentHuge(b *testing.B) { benchFloorIndependent(b, true) }
func BenchmarkFloorDependent(b *testing.B)       { benchFloorDependent(b, false) }
func BenchmarkFloorDependentHuge(b *testing.B)   { benchFloorDependent(b, true) }
