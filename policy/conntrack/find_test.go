package conntrack

import (
	"math/rand/v2"
	"testing"
)

// findRef is the tag search as a plain loop: the last slot word of b
// whose tag (high 32 bits) is tag, 0 if none.
func findRef(b *bucket, tag uint32) uint64 {
	for i := bucketSlots - 1; i >= 0; i-- {
		if w := b.s[i].Load(); uint32(w>>32) == tag {
			return w
		}
	}
	return 0
}

// TestFindMatchesReference compares the branch-free tag searches
// (bucket.find, findFirst's unrolled pass) with a plain loop on random
// buckets whose tags repeat often: several matching slots, none, empty
// slots and the tag 0 (which empty slots carry).
func TestFindMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const nb = 64
	buckets := make([]bucket, nb)
	shift := uint(64 - 6)
	hs := make([]uint64, BatchSize)
	cand := make([]uint64, BatchSize)
	for round := range 2000 {
		for i := range buckets {
			for j := range bucketSlots {
				var w uint64
				if rng.IntN(4) != 0 { // a quarter empty
					w = uint64(rng.IntN(4))<<32 | uint64(rng.Uint32()) // tags 0-3
				}
				buckets[i].s[j].Store(w)
			}
		}
		for i := range hs {
			hs[i] = uint64(rng.IntN(nb))<<shift | uint64(rng.IntN(5)) // tags 0-4
		}
		none := findFirst(buckets, shift, hs, cand)
		wantNone := 0
		for i, h := range hs {
			b := &buckets[h>>shift]
			want := findRef(b, uint32(h))
			if want == 0 {
				wantNone++
			}
			if cand[i] != want {
				t.Fatalf("round %d: findFirst of tag %d in %x: %x, want %x", round, uint32(h), b.words(), cand[i], want)
			}
			if got := b.find(uint32(h)); got != want {
				t.Fatalf("round %d: find of tag %d in %x: %x, want %x", round, uint32(h), b.words(), got, want)
			}
		}
		if none != wantNone {
			t.Fatalf("round %d: findFirst counted %d without a candidate, want %d", round, none, wantNone)
		}
	}
}

func (b *bucket) words() (w [bucketSlots]uint64) {
	for i := range w {
		w[i] = b.s[i].Load()
	}
	return w
}
