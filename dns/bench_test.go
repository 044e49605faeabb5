package dns

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// BenchmarkAnswer: local answers through Answer (parse, lookup, pack)
// in a network of 10,000 endpoints. Allocations per query are expected:
// this is the punt path, not the per-packet pipeline.
func BenchmarkAnswer(b *testing.B) {
	reg := NewRegistry()
	eps := map[string][]netip.Addr{}
	for i := range 10000 {
		eps[fmt.Sprintf("c%d", i)] = []netip.Addr{
			netip.AddrFrom4([4]byte{10, 5, byte(i >> 8), byte(i)}),
			netip.AddrFrom16([16]byte{0xfd, 0, 5, 15: byte(i)}),
		}
	}
	if err := reg.SetNetwork("net1", Network{Endpoints: eps}); err != nil {
		b.Fatal(err)
	}
	r := New(reg, Config{})
	defer r.Close()
	for _, tc := range []struct {
		name  string
		qname string
		qtype uint16
		want  Reason
	}{
		{"A", "c4242.net1.vecswitch.", mdns.TypeA, Answered},
		{"A-short", "c4242.", mdns.TypeA, Answered},
		{"AAAA", "c4242.net1.vecswitch.", mdns.TypeAAAA, Answered},
		{"PTR", "66.16.5.10.in-addr.arpa.", mdns.TypePTR, Answered},
		{"NXDOMAIN", "nope.net1.vecswitch.", mdns.TypeA, NXDomain},
	} {
		b.Run(tc.name, func(b *testing.B) {
			q := query(b, tc.qname, tc.qtype)
			out := make([]byte, 1232)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if _, reason := r.Answer("net1", q, out, UDP); reason != tc.want {
					b.Fatalf("reason %v", reason)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
		})
	}
}

// BenchmarkAnswerParallel: the same A query from every core at once, to
// show the lock-free lookup scales.
func BenchmarkAnswerParallel(b *testing.B) {
	r := New(testRegistry(b), Config{})
	defer r.Close()
	q := query(b, "web.net1.vecswitch.", mdns.TypeA)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		out := make([]byte, 1232)
		for pb.Next() {
			r.Answer("net1", q, out, UDP)
		}
	})
}

// BenchmarkSetEndpoint: one endpoint update in a network of 1,000 (the
// copy-on-write cost the control plane pays).
func BenchmarkSetEndpoint(b *testing.B) {
	reg := NewRegistry()
	eps := map[string][]netip.Addr{}
	for i := range 1000 {
		eps[fmt.Sprintf("c%d", i)] = []netip.Addr{netip.AddrFrom4([4]byte{10, 5, byte(i >> 8), byte(i)})}
	}
	if err := reg.SetNetwork("net1", Network{Endpoints: eps}); err != nil {
		b.Fatal(err)
	}
	a := netip.MustParseAddr("10.6.0.1")
	b.ReportAllocs()
	for b.Loop() {
		if err := reg.SetEndpoint("net1", "c7", a); err != nil {
			b.Fatal(err)
		}
	}
}
