package nat

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// svcFlow is client flow i to the VIP: 198.51.x.y:port > vip:80.
func svcFlow(i int) conntrack.Key {
	return conntrack.Key{Src: conntrack.Addr{Lo: 0xffffc6330000 | uint64(i>>16)&0xffff},
		Dst: conntrack.AddrFrom(netip.MustParseAddr(vip)), SrcPort: uint16(i), DstPort: 80, Proto: protoTCP}
}

// establish commits client flow k to the service and completes its
// handshake; it returns the flow's reply key.
func (r *benchRig) establish(b *testing.B, k conntrack.Key) conntrack.Key {
	p := conntrack.Packet{Key: k, Kind: conntrack.KindTCP, TCPFlags: fSYN}
	r.cw.TrackParsed(&p, 1)
	res, act, reason := r.w.Commit(r.cw, &p, 1, 0)
	if reason != ReasonNone || act != ActLB|ActDNAT {
		b.Fatal(reason, act)
	}
	f, _ := r.ct.Get(res.Conn)
	p = conntrack.Packet{Key: f.Reply, Kind: conntrack.KindTCP, TCPFlags: fSYN | fACK}
	r.cw.TrackParsed(&p, 1)
	p = conntrack.Packet{Key: k, Kind: conntrack.KindTCP, TCPFlags: fACK}
	if res := r.cw.TrackParsed(&p, 1); res.TCP != conntrack.TCPEstablished {
		b.Fatalf("%+v", res)
	}
	return f.Reply
}

func benchService(n int) Service {
	s := Service{Proto: protoTCP, VIP: netip.MustParseAddr(vip), Port: 80}
	for i := range n {
		s.Backends = append(s.Backends, Backend{Addr: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Port: 8080, Weight: 1 + uint32(i%3)})
	}
	return s
}

// BenchmarkServiceNewFlows: new TCP flows to a VIP on one core (Track of
// the SYN, a miss, Commit), into a table of 1M entries refilled outside
// the timer:
//
//   - map: a port map on the same address and port (DNAT to one target);
//   - svc: a service of 10 or 1000 weighted backends (Maglev table of
//     65537): the difference with map is the service's own cost (the
//     flow hash, one table read, the backend counter's atomic add).
func BenchmarkServiceNewFlows(b *testing.B) {
	const capacity = 1 << 20
	frame := tcp("198.51.0.1", vip, 1, 80, fSYN).build()
	run := func(b *testing.B, setup func(*Table) error, want Action) {
		r := newBenchRig(b, capacity)
		if err := setup(r.nt); err != nil {
			b.Fatal(err)
		}
		var p conntrack.Packet
		flow := 0
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if flow+vec > capacity*3/4 {
				b.StopTimer()
				r.ct, _ = conntrack.New(conntrack.Config{Capacity: capacity})
				r.cw, r.w = r.ct.NewWorker(), r.nt.NewWorker(r.ct)
				flow = 0
				b.StartTimer()
			}
			for range vec {
				k := svcFlow(flow)
				setTuple4(frame, &k)
				flow++
				if res := r.cw.Track(&p, frame, 0, 1); res.State != conntrack.StateNew || res.Conn != 0 {
					b.Fatalf("flow %d: %+v", flow, res)
				}
				if _, act, reason := r.w.Commit(r.cw, &p, 1, 0); reason != ReasonNone || act != want {
					b.Fatalf("flow %d: %v %v", flow, reason, act)
				}
			}
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*vec)
		b.ReportMetric(ns, "ns/flow")
		b.ReportMetric(1e9/ns, "flows/s")
	}
	b.Run("map", func(b *testing.B) {
		run(b, func(t *Table) error {
			return t.AddMap(Map{Proto: protoTCP, Host: netip.MustParseAddr(vip), HostPort: 80, Target: netip.MustParseAddr("10.1.0.0"), TargetPort: 8080})
		}, ActDNAT)
	})
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("svc-%d", n), func(b *testing.B) {
			run(b, func(t *Table) error { return t.SetService(benchService(n)) }, ActLB|ActDNAT)
		})
	}
}

// BenchmarkServiceTranslate: Translate alone on one hot packet of an
// established service flow, each direction (the client's to the VIP
// gets the backend as destination; the backend's reply the VIP as
// source), per packet.
func BenchmarkServiceTranslate(b *testing.B) {
	r := newBenchRig(b, 1024)
	if err := r.nt.SetService(benchService(10)); err != nil {
		b.Fatal(err)
	}
	k := svcFlow(1)
	rk := r.establish(b, k)
	for _, dir := range []string{"to-vip", "reply"} {
		key, want := k, ActDNAT
		if dir == "reply" {
			key, want = rk, ActSNAT
		}
		pkt := tcp("10.0.0.1", "198.51.100.1", 1, 443, fACK).build()
		setTuple4(pkt, &key)
		orig := append([]byte(nil), pkt...)
		var p conntrack.Packet
		res := r.cw.Track(&p, pkt, 0, 2)
		if res.State != conntrack.StateEstablished {
			b.Fatalf("%+v", res)
		}
		b.Run(dir, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				copy(pkt, orig)
				if a, reason := r.w.Translate(pkt, &p, res, false); reason != ReasonNone || a != want {
					b.Fatal(reason, a)
				}
			}
			perPkt(b, 1)
		})
	}
}

// BenchmarkServiceEstablished: 1k established service flows' packets,
// both directions, 256 per vector: Parse and TrackBatch (ct), then
// Translate too (ct+nat), per packet.
func BenchmarkServiceEstablished(b *testing.B) {
	r := newBenchRig(b, 4096)
	if err := r.nt.SetService(benchService(10)); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	keys := make([]conntrack.Key, 2*n)
	for i := range n {
		k := svcFlow(i)
		keys[2*i], keys[2*i+1] = k, r.establish(b, k)
	}
	v := newFrames(keys)
	ps := make([]conntrack.Packet, vec)
	res := make([]conntrack.Result, vec)
	for _, nat := range []bool{false, true} {
		b.Run(map[bool]string{false: "ct", true: "ct+nat"}[nat], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.next()
				for i, f := range v.f {
					conntrack.Parse(&ps[i], f, 0)
				}
				r.cw.TrackBatch(ps, res, 2)
				if nat {
					for i, f := range v.f {
						if a, reason := r.w.Translate(f, &ps[i], res[i], false); reason != ReasonNone || a == 0 {
							b.Fatal(reason, a, res[i])
						}
					}
				}
			}
			perPkt(b, vec)
		})
	}
}
