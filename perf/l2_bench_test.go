package perf

import (
	"runtime"
	"testing"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch"
)

func benchScenario(b *testing.B, kind string, macs int) {
	sc, err := NewScenario(kind, macs)
	if err != nil {
		b.Fatal(err)
	}
	runScenario(b, sc)
}

// runScenario measures a scenario: Mpps, ns/pkt for the whole worker
// iteration, and graph-ns/pkt for the nodes alone (without port rx/tx).
func runScenario(b *testing.B, sc *Scenario) {
	defer sc.Close()
	for range 64 { // warm caches and the free list
		sc.Poll()
	}
	b.ReportAllocs()
	before := graphNanos(sc)
	b.ResetTimer()
	pkts := 0
	for b.Loop() {
		pkts += sc.Poll()
	}
	ns := float64(b.Elapsed().Nanoseconds())
	b.ReportMetric(ns/float64(pkts), "ns/pkt")
	// The switching/routing nodes alone, without port rx/tx (what VPP's
	// ~100 cycles per packet in its L2 nodes compares with).
	b.ReportMetric(float64(graphNanos(sc)-before)/float64(pkts), "graph-ns/pkt")
	b.ReportMetric(float64(pkts)/ns*1e3, "Mpps")
	if sc.OutPerIn > 1 {
		b.ReportMetric(float64(pkts*sc.OutPerIn)/ns*1e3, "Mpps-out")
	}
}

// graphNanos is the time the worker spent in graph nodes (not port rx/tx).
func graphNanos(sc *Scenario) uint64 {
	var t uint64
	for _, c := range sc.Runtime() {
		if c.Name != pipeline.RxNodeName && c.Name != pipeline.TxNodeName {
			t += c.Nanos
		}
	}
	return t
}

func BenchmarkL2OneFlow(b *testing.B) { benchScenario(b, L2OneFlow, 0) }
func BenchmarkL2MACs1k(b *testing.B)  { benchScenario(b, L2MACs, 1000) }
func BenchmarkL2MACs1M(b *testing.B)  { benchScenario(b, L2MACs, 1<<20) }
func BenchmarkFlood8(b *testing.B)    { benchScenario(b, Flood8, 0) }
func BenchmarkVLANPush(b *testing.B)  { benchScenario(b, VLANPush, 0) }
func BenchmarkVLANPop(b *testing.B)   { benchScenario(b, VLANPop, 0) }

func benchL3(b *testing.B, kind string, routes int) {
	sc, err := NewL3Scenario(kind, routes)
	if err != nil {
		b.Fatal(err)
	}
	runScenario(b, sc)
}

func BenchmarkIP4Routes10(b *testing.B)   { benchL3(b, IP4Routes, 10) }
func BenchmarkIP4Routes100k(b *testing.B) { benchL3(b, IP4Routes, 100_000) }
func BenchmarkIP4Routes1M(b *testing.B)   { benchL3(b, IP4Routes, 1_000_000) }
func BenchmarkIP6Routes100k(b *testing.B) { benchL3(b, IP6Routes, 100_000) }

// BenchmarkLoadRoutes1M times applying a configuration of one million
// IPv4 routes to a switch (validation, compilation, FIB inserts), and
// reports the FIB's memory and the Go heap the configuration holds.
func BenchmarkLoadRoutes1M(b *testing.B) {
	cfg, _ := l3Config(false, 1_000_000)
	for b.Loop() {
		b.StopTimer()
		sw, err := vswitch.New(vswitch.Options{PoolFrames: 512})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		b.StartTimer()
		if err := sw.Reconfigure(cfg); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		st := sw.FIBStats()
		b.ReportMetric(float64(st[0].Bytes4)/(1<<20), "fib-MiB")
		b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/(1<<20), "heap-MiB")
		sw.Close()
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
}

func benchVXLAN(b *testing.B, kind string) {
	sc, err := NewVXLANScenario(kind)
	if err != nil {
		b.Fatal(err)
	}
	runScenario(b, sc)
}

func BenchmarkVXLANEncap(b *testing.B) { benchVXLAN(b, VXLANEncap) }
func BenchmarkVXLANDecap(b *testing.B) { benchVXLAN(b, VXLANDecap) }
