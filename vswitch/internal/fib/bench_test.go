package fib

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// lookupBatch is how many pre-drawn destinations a benchmark cycles over,
// and vector is how many it looks up per iteration, as a forwarding node
// does per vector of packets.
const (
	lookupBatch = 1 << 16
	vector      = 256
)

func loadTable4(b *testing.B, n int) *Table4 {
	tb := newTable4(b, Limits{})
	for _, r := range genRoutes4(rand.New(rand.NewPCG(uint64(n), 4)), n) {
		if err := tb.Insert(r.prefix(), r.nh); err != nil {
			b.Fatal(err)
		}
	}
	return tb
}

func reportLookup(b *testing.B, mem int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*vector), "ns/lookup")
	b.ReportMetric(float64(mem)/(1<<20), "MiB")
}

func benchLookup4(b *testing.B, tb *Table4, dst []uint32) {
	nd := len(dst)
	b.Run("single", func(b *testing.B) {
		var sum uint32
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			for _, a := range dst[i : i+vector] {
				sum += tb.Lookup(a)
			}
			i = (i + vector) % nd
		}
		reportLookup(b, tb.MemoryBytes())
		if sum == 1 {
			b.Log(sum)
		}
	})
	b.Run("batch", func(b *testing.B) {
		var nh [vector]uint32
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			tb.LookupBatch(nh[:], dst[i:i+vector])
			i = (i + vector) % nd
		}
		reportLookup(b, tb.MemoryBytes())
	})
}

// BenchmarkLookup4 looks up uniformly random destinations, 256 per
// iteration, in tables of genRoutes4 routes, one call per address
// ("single") or one per vector ("batch").
func BenchmarkLookup4(b *testing.B) {
	for _, n := range []int{10, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(9, 9))
			dst := make([]uint32, lookupBatch)
			for i := range dst {
				dst[i] = rng.Uint32()
			}
			benchLookup4(b, loadTable4(b, n), dst)
		})
	}
}

// BenchmarkLookup4Routed looks up destinations inside the table's own
// routes, each route as likely as any other, as a router's traffic does:
// 1M genRoutes4 routes, 5 % of them longer than /24, so about one lookup
// in twenty reads a tbl8 entry after its tbl24 entry (uniformly random
// destinations, BenchmarkLookup4, almost never do).
func BenchmarkLookup4Routed(b *testing.B) {
	const n = 1_000_000
	rs := genRoutes4(rand.New(rand.NewPCG(uint64(n), 4)), n)
	rng := rand.New(rand.NewPCG(9, 9))
	dst := make([]uint32, 1<<22) // 16 MiB of tbl24 lines: more than a cache holds
	for i := range dst {
		r := rs[rng.IntN(n)]
		dst[i] = r.addr | rng.Uint32()&(1<<(32-r.bits)-1)
	}
	benchLookup4(b, loadTable4(b, n), dst)
}

// BenchmarkInsert4 loads 1M genRoutes4 routes into an empty table.
func BenchmarkInsert4(b *testing.B) {
	rs := genRoutes4(rand.New(rand.NewPCG(1, 4)), 1_000_000)
	var mib float64
	for b.Loop() {
		tb, err := NewTable4(Limits{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if err := tb.Insert(r.prefix(), r.nh); err != nil {
				b.Fatal(err)
			}
		}
		mib = float64(tb.MemoryBytes()) / (1 << 20)
		b.StopTimer()
		tb.Close()
		runtime.GC()
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
	b.ReportMetric(mib, "MiB")
}

func loadTable6(b *testing.B, rs []route6) *Table6 {
	tb := newTable6(b, Limits{})
	for _, r := range rs {
		if err := tb.Insert(r.k.prefix(), r.nh); err != nil {
			b.Fatal(err)
		}
	}
	return tb
}

// BenchmarkLookup6 looks up destinations inside random routes of the
// table ("in") and uniformly random ones in 2000::/3 ("random") in a table
// of 100k genRoutes6 routes, one call per address ("single") or one per
// vector of 256 ("batch").
func BenchmarkLookup6(b *testing.B) {
	rs := genRoutes6(rand.New(rand.NewPCG(1, 6)), 100_000)
	tb := loadTable6(b, rs)
	rng := rand.New(rand.NewPCG(9, 9))
	var in, random [2][]uint64
	for i := range 2 {
		in[i], random[i] = make([]uint64, lookupBatch), make([]uint64, lookupBatch)
	}
	for i := range lookupBatch {
		in[0][i], in[1][i] = inside6(rng, rs[rng.IntN(len(rs))].k)
		random[0][i], random[1][i] = 1<<61|rng.Uint64()>>3, rng.Uint64()
	}
	for _, c := range []struct {
		name string
		dst  [2][]uint64
	}{{"in", in}, {"random", random}} {
		b.Run("routes=100000/"+c.name+"/single", func(b *testing.B) {
			var sum uint32
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				for j := i; j < i+vector; j++ {
					sum += tb.Lookup(c.dst[0][j], c.dst[1][j])
				}
				i = (i + vector) % lookupBatch
			}
			reportLookup(b, tb.MemoryBytes())
			b.ReportMetric(float64(tb.MemoryBytes())/float64(tb.Len()), "B/route")
			if sum == 1 {
				b.Log(sum)
			}
		})
		b.Run("routes=100000/"+c.name+"/batch", func(b *testing.B) {
			var nh [vector]uint32
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				tb.LookupBatch(nh[:], c.dst[0][i:i+vector], c.dst[1][i:i+vector])
				i = (i + vector) % lookupBatch
			}
			reportLookup(b, tb.MemoryBytes())
			b.ReportMetric(float64(tb.MemoryBytes())/float64(tb.Len()), "B/route")
		})
	}
}

// BenchmarkInsert6 loads 100k genRoutes6 routes into an empty table.
func BenchmarkInsert6(b *testing.B) {
	rs := genRoutes6(rand.New(rand.NewPCG(1, 6)), 100_000)
	for b.Loop() {
		tb, err := NewTable6(Limits{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if err := tb.Insert(r.k.prefix(), r.nh); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		tb.Close()
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
}
