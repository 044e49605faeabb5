package vswitch

import (
	"math/rand/v2"
	"testing"
)

// benchTable fills a table with n keys the way the learner does (growing
// at 3/4 load) and returns them in a shuffled lookup order.
func benchTable(n int) (*macTable, []uint64) {
	mt := newMACTable(minBuckets)
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = macKey(1, uint64(0x020000000000)|uint64(i))
		if (mt.count+1)*4 > mt.slots()*3 {
			mt = mt.grown()
		}
		for ok, _ := mt.put(keys[i], packVal(1, 0, false, 0)); !ok; ok, _ = mt.put(keys[i], packVal(1, 0, false, 0)) {
			mt = mt.grown()
		}
	}
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return mt, keys
}

// benchLookup looks keys up in vectors of 256, optionally touching every
// first bucket of the vector before the lookups, as l2-fwd does.
func benchLookup(b *testing.B, n int, touch bool) {
	mt, keys := benchTable(n)
	var vals [256]uint64
	var bs [256]uint64
	var sum uint64
	i := 0
	for b.Loop() {
		ks := keys[i : i+256]
		for j, k := range ks {
			bs[j] = mt.first(k)
			if touch {
				sum += mt.touchAt(bs[j])
			}
		}
		for j, k := range ks {
			vals[j], _ = mt.getAt(bs[j], k)
		}
		for _, v := range vals {
			sum += v
		}
		if i += 256; i+256 > len(keys) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/lookup")
	if sum == 1 {
		b.Log(sum) // keep sum alive
	}
}

func BenchmarkMACLookup1k(b *testing.B)      { benchLookup(b, 1000, false) }
func BenchmarkMACLookup1M(b *testing.B)      { benchLookup(b, 1<<20, false) }
func BenchmarkMACTouchLookup1M(b *testing.B) { benchLookup(b, 1<<20, true) }
