package vswitch

import (
	"fmt"
	"testing"

	"github.com/vecswitch/vecswitch/ports/memport"
)

// benchSvc measures full vectors of 256 UDP packets of established flows
// from the outside host B (port b) to a load-balanced service (svc: VIP
// 10.9.9.9:6000 with backends 10.1.0.2 and 10.1.0.3) or to a port map on
// the uplink (10.2.0.1:6000 -> 10.1.0.3, the DNAT path with conntrack),
// through the switch (memory ports, one worker): ns per packet.
func benchSvc(b *testing.B, svc bool, flows int) {
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
	cfg.NAT.Services = []Service{{Proto: "udp", VIP: "10.9.9.9", Port: 6000,
		Backends: []ServiceBackend{{Addr: "10.1.0.2"}, {Addr: "10.1.0.3"}}}}
	must(s.Reconfigure(cfg))
	for _, p := range []struct{ port, mac string }{{"a", macA}, {"a2", macA2}, {"b", macB}} {
		r.ports[p.port].Inject(0, frame(bcast(), p.mac, -1))
	}
	s.Poll()
	r.recv()
	dst := "10.2.0.1"
	if svc {
		dst = "10.9.9.9"
	}
	frames := make([][]byte, flows)
	for i := range frames {
		frames[i] = udp4(macRB, macB, fmt.Sprintf("10.2.%d.%d", 0+i/60000/250, 2+i/60000%250), dst, uint16(1024+i%60000), 6000)
	}
	must(r.ports["b"].SetSource(frames))
	for _, p := range r.ports {
		p.SetSink(true)
	}
	w := s.Workers()[0]
	for range (flows + 255) / 256 {
		w.Poll()
	}
	if got := s.NATStats().Flows; got < flows {
		b.Fatalf("%d flows of %d", got, flows)
	}
	sunk := r.ports["a"].Sunk() + r.ports["a2"].Sunk()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n += w.Poll()
	}
	b.StopTimer()
	if got := r.ports["a"].Sunk() + r.ports["a2"].Sunk() - sunk; got != uint64(n) {
		b.Fatalf("%d packets in, %d out", n, got)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
}

func BenchmarkServicePortMap1k(b *testing.B)     { benchSvc(b, false, 1000) }
func BenchmarkServiceEstablished1k(b *testing.B) { benchSvc(b, true, 1000) }
func BenchmarkServicePortMap1M(b *testing.B)     { benchSvc(b, false, 1<<20) }
func BenchmarkServiceEstablished1M(b *testing.B) { benchSvc(b, true, 1<<20) }
