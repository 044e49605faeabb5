package vswitch

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/vecswitch/vecswitch/ports/memport"
)

// benchNAT measures full vectors of 256 UDP packets routed from the
// containers' network ra to the outside host B through the switch
// (memory ports, one worker): ns per packet. With nat, ra is
// masqueraded behind rb, so every packet is tracked and its source
// rewritten; without, the same packets are routed untranslated (the
// plain L3 path). flows is the number of distinct flows the source
// cycles through (at most 60,000 per source address and server port, so
// every flow keeps its source port: a masqueraded address carries about
// 64k flows per remote endpoint). With newFlows, the NAT table is
// emptied (outside the timer) before each pass over the flows, so every packet measured
// starts a flow: tracked, missed, a port chosen, committed, rewritten.
func benchNAT(b *testing.B, withNAT bool, flows int, newFlows bool) {
	s, err := New(Options{PoolFrames: 4096, ConntrackCapacity: max(1<<16, flows+flows/4)})
	must(err)
	defer s.Close()
	r := &rig{s: s, ports: map[string]*memport.Port{}}
	for _, n := range []string{"a", "a2", "b", "b2"} {
		p, err := memport.New(memport.Config{Name: n})
		must(err)
		must(s.AddPort(p))
		r.ports[n] = p
	}
	cfg := testNATConfig()
	if !withNAT {
		cfg.NAT = nil
	}
	must(s.Reconfigure(cfg))
	r.ports["a"].Inject(0, frame(bcast(), macA, -1))
	r.ports["b"].Inject(0, frame(bcast(), macB, -1))
	s.Poll()
	r.recv()
	frames := make([][]byte, flows)
	for i := range frames {
		frames[i] = udp4(macRA, macA, fmt.Sprintf("10.1.0.%d", 2+i/60000), "10.2.0.2", uint16(1024+i%60000), uint16(5300+i/60000))
	}
	must(r.ports["a"].SetSource(frames))
	for _, p := range r.ports {
		p.SetSink(true)
	}
	w := s.Workers()[0]
	vectors := (flows + 255) / 256
	if !newFlows {
		for range vectors { // commit every flow
			w.Poll()
		}
		if withNAT && s.NATStats().Flows < flows {
			b.Fatalf("%d flows of %d", s.NATStats().Flows, flows)
		}
	}
	sunk := r.ports["b"].Sunk()
	snat := s.NATStats().SNAT
	runtime.GC() // the set-up's garbage (a million frames) is not the loop's
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	n, v := 0, 0
	for b.Loop() {
		if newFlows && v == vectors {
			b.StopTimer()
			c := processCPU()
			s.FlushNATFlows()
			cpu += processCPU() - c
			b.StartTimer()
			v = 0
		}
		n += w.Poll()
		v++
	}
	b.StopTimer()
	cpu = processCPU() - cpu
	if got := r.ports["b"].Sunk() - sunk; got != uint64(n) {
		b.Fatalf("%d packets in, %d out", n, got)
	}
	if newFlows && withNAT && s.NATStats().SNAT-snat != uint64(n) {
		b.Fatalf("%d packets, %d new flows", n, s.NATStats().SNAT-snat)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
	if cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/pkt") // the worker's CPU time: the process runs one goroutine here
	}
	if newFlows {
		b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "Mflows/s")
	}
}

func BenchmarkNATPlainL3(b *testing.B)       { benchNAT(b, false, 1000, false) }
func BenchmarkNATEstablished1k(b *testing.B) { benchNAT(b, true, 1000, false) }
func BenchmarkNATPlainL3Flows1M(b *testing.B) {
	benchNAT(b, false, 1<<20, false)
}
func BenchmarkNATEstablished1M(b *testing.B) { benchNAT(b, true, 1<<20, false) }
func BenchmarkNATNewFlows(b *testing.B)      { benchNAT(b, true, 1<<16, true) }

// BenchmarkNATNewFlows1M is BenchmarkNATNewFlows with 1M flows a pass (a
// table of 1.25M: buckets and entries far larger than the cache).
func BenchmarkNATNewFlows1M(b *testing.B) { benchNAT(b, true, 1<<20, true) }
