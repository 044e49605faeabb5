package perf

import (
	"testing"

	"github.com/vecswitch/vecswitch/pipeline"
)

func benchScenario(b *testing.B, kind string, macs int) {
	sc, err := NewScenario(kind, macs)
	if err != nil {
		b.Fatal(err)
	}
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
	// The switching nodes alone, without port rx/tx (what VPP's ~100
	// cycles per packet in its L2 nodes compares with).
	b.ReportMetric(float64(graphNanos(sc)-before)/float64(pkts), "l2-ns/pkt")
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
