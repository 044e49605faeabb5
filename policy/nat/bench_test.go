package nat

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

const vec = conntrack.BatchSize

// benchFlow is masqueraded flow i: 10.a.b.c:port > 198.51.100.d:443.
func benchFlow(i int) conntrack.Key {
	return conntrack.Key{Src: conntrack.Addr{Lo: 0xffff0a000000 | uint64(i)&0xffffff},
		Dst: conntrack.Addr{Lo: 0xffffc6336400 | uint64(i%32)}, SrcPort: uint16(1024 + i%60000), DstPort: 443, Proto: protoTCP}
}

func setTuple4(f []byte, k *conntrack.Key) {
	binary.BigEndian.PutUint32(f[12:], uint32(k.Src.Lo))
	binary.BigEndian.PutUint32(f[16:], uint32(k.Dst.Lo))
	binary.BigEndian.PutUint16(f[20:], k.SrcPort)
	binary.BigEndian.PutUint16(f[22:], k.DstPort)
}

type benchRig struct {
	ct *conntrack.Table
	cw *conntrack.Worker
	nt *Table
	w  *Worker
}

func newBenchRig(b *testing.B, capacity int) *benchRig {
	ct, err := conntrack.New(conntrack.Config{Capacity: capacity})
	if err != nil {
		b.Fatal(err)
	}
	nt, err := NewTable(Config{})
	if err != nil {
		b.Fatal(err)
	}
	if err := nt.SetNetwork(Network{Name: "n", Sources: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		External4: netip.MustParseAddr("203.0.113.1"), Gateway4: netip.MustParseAddr("10.0.0.1")}); err != nil {
		b.Fatal(err)
	}
	return &benchRig{ct: ct, cw: ct.NewWorker(), nt: nt, w: nt.NewWorker(ct)}
}

// load sets up n masqueraded TCP flows to established and returns the
// keys of their packets as they arrive: [2i] outbound, [2i+1] the reply
// to the external address.
func (r *benchRig) load(b *testing.B, n int) []conntrack.Key {
	keys := make([]conntrack.Key, 2*n)
	var p conntrack.Packet
	for i := range n {
		k := benchFlow(i)
		p = conntrack.Packet{Key: k, Kind: conntrack.KindTCP, TCPFlags: fSYN}
		if res := r.cw.TrackParsed(&p, 1); res.Conn != 0 {
			b.Fatalf("flow %d exists", i)
		}
		res, _, reason := r.w.Commit(r.cw, &p, 1, 0)
		if reason != ReasonNone {
			b.Fatalf("flow %d: %v", i, reason)
		}
		f, _ := r.ct.Get(res.Conn)
		keys[2*i], keys[2*i+1] = k, f.Reply
		p = conntrack.Packet{Key: f.Reply, Kind: conntrack.KindTCP, TCPFlags: fSYN | fACK}
		r.cw.TrackParsed(&p, 1)
		p = conntrack.Packet{Key: k, Kind: conntrack.KindTCP, TCPFlags: fACK}
		if res := r.cw.TrackParsed(&p, 1); res.TCP != conntrack.TCPEstablished {
			b.Fatalf("flow %d: %+v", i, res)
		}
	}
	r.cw.Publish()
	r.w.Publish()
	if c := r.ct.Counters(); c.Evicted != 0 || r.ct.Len() != n {
		b.Fatalf("%d flows, %d evicted", r.ct.Len(), c.Evicted)
	}
	return keys
}

// frames is a vector of 256 IPv4/TCP ACK frames, refilled each
// iteration with the tuples of 256 packets drawn uniformly from the
// flows' two directions.
type frames struct {
	f    [vec][]byte
	keys []conntrack.Key
	draw []uint32
	pos  int
}

func newFrames(keys []conntrack.Key) *frames {
	v := &frames{keys: keys, draw: make([]uint32, 1<<16)}
	tmpl := tcp("10.0.0.1", "198.51.100.1", 1, 443, fACK).build()
	buf := make([]byte, vec*128)
	for i := range v.f {
		v.f[i] = buf[i*128 : i*128+len(tmpl)]
		copy(v.f[i], tmpl)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range v.draw {
		v.draw[i] = uint32(rng.IntN(len(keys)))
	}
	return v
}

func (v *frames) next() {
	for i := range v.f {
		setTuple4(v.f[i], &v.keys[v.draw[v.pos+i]])
	}
	v.pos = (v.pos + vec) % len(v.draw)
}

func perPkt(b *testing.B, per int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/pkt")
}

// BenchmarkEstablished: packets of established masqueraded TCP flows,
// both directions, drawn uniformly from 1k or 1M flows, 256 per
// iteration, on one core:
//
//   - plain: refill the frames and read a byte (what any path costs);
//   - ct: conntrack.Parse per packet and TrackBatch per vector;
//   - ct+nat: the same, then Translate per packet (each one is rewritten:
//     the source of outbound packets, the destination of replies).
//
// NAT's cost is ct+nat minus ct.
func BenchmarkEstablished(b *testing.B) {
	for _, n := range []int{1000, 1 << 20} {
		r := newBenchRig(b, n+n/4)
		v := newFrames(r.load(b, n))
		ps := make([]conntrack.Packet, vec)
		res := make([]conntrack.Result, vec)
		b.Run(fmt.Sprintf("flows=%d/plain", n), func(b *testing.B) {
			sum := 0
			for b.Loop() {
				v.next()
				for _, f := range v.f {
					sum += int(f[23])
				}
			}
			perPkt(b, vec)
			if sum == 1 {
				b.Log(sum)
			}
		})
		b.Run(fmt.Sprintf("flows=%d/ct", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.next()
				for i, f := range v.f {
					conntrack.Parse(&ps[i], f, 0)
				}
				r.cw.TrackBatch(ps, res, 2)
			}
			perPkt(b, vec)
		})
		b.Run(fmt.Sprintf("flows=%d/ct+nat", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.next()
				for i, f := range v.f {
					conntrack.Parse(&ps[i], f, 0)
				}
				r.cw.TrackBatch(ps, res, 2)
				for i, f := range v.f {
					if a, reason := r.w.Translate(f, &ps[i], res[i], false); a == 0 || reason != ReasonNone {
						b.Fatalf("not translated: %v %v", res[i], reason)
					}
				}
				r.w.Publish()
			}
			perPkt(b, vec)
		})
	}
}

// BenchmarkNewFlows sets up new masqueraded TCP flows on one core: Track
// of the SYN (a miss), then Commit: conntrack's own ("ct", no
// translation: the baseline) or NAT's ("nat": the port search, InUse
// and Commit with the reply key). Each flow's own source port is taken
// by a flow set up before ("nat-taken"), or free ("nat"); "nat-vector"
// is "nat" a vector at a time, as the switch's nat node does it. Tables
// are refilled outside the timer.
func BenchmarkNewFlows(b *testing.B) {
	const capacity = 1 << 20
	frame := tcp("10.0.0.1", "198.51.100.1", 1, 443, fSYN).build()
	run := func(b *testing.B, nat, taken, vector bool) {
		r := newBenchRig(b, capacity)
		var p conntrack.Packet
		var ps [vec]conntrack.Packet
		var res [vec]conntrack.Result
		var ips [vec][]byte
		var zones [vec]uint16
		for i := range ips {
			ips[i] = append([]byte(nil), frame...)
		}
		flow := 0
		key := func(i int) conntrack.Key {
			k := benchFlow(i)
			if taken { // two containers' flows per source port and server: the second's port is taken
				k.SrcPort, k.Dst.Lo = uint16(1024+(i/2/1024)%60000), 0xffffc6330000|uint64((i/2)%1024)
			}
			return k
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if flow+vec > capacity*3/4 {
				b.StopTimer()
				r = newBenchRig(b, capacity)
				flow = 0
				b.StartTimer()
			}
			if vector { // as the switch's nat node: the vector at once
				for i := range ips {
					k := key(flow + i)
					setTuple4(ips[i], &k)
				}
				flow += vec
				conntrack.ParseBatch(ps[:], ips[:], zones[:])
				r.cw.TrackBatch(ps[:], res[:], 1)
				r.w.PrepareCommits(r.cw, ps[:], res[:])
				for i := range ps {
					if res[i].State != conntrack.StateNew || res[i].Conn != 0 {
						b.Fatalf("flow %d: %+v", flow, res[i])
					}
					if _, _, reason := r.w.Commit(r.cw, &ps[i], 1, 0); reason != ReasonNone {
						b.Fatalf("flow %d: %v", flow, reason)
					}
				}
				continue
			}
			for range vec {
				k := key(flow)
				setTuple4(frame, &k)
				flow++
				if res := r.cw.Track(&p, frame, 0, 1); res.State != conntrack.StateNew || res.Conn != 0 {
					b.Fatalf("flow %d: %+v", flow, res)
				}
				if nat {
					if _, _, reason := r.w.Commit(r.cw, &p, 1, 0); reason != ReasonNone {
						b.Fatalf("flow %d: %v", flow, reason)
					}
				} else if r.cw.Commit(&p, nil, 1, 0).Conn == 0 {
					b.Fatal("commit failed")
				}
			}
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*vec)
		b.ReportMetric(ns, "ns/flow")
		b.ReportMetric(1e9/ns, "flows/s")
	}
	b.Run("ct", func(b *testing.B) { run(b, false, false, false) })
	b.Run("nat", func(b *testing.B) { run(b, true, false, false) })
	b.Run("nat-taken", func(b *testing.B) { run(b, true, true, false) })
	// The vector at once (ParseBatch, TrackBatch, PrepareCommits, then
	// the commits), as the switch's nat node does it.
	b.Run("nat-vector", func(b *testing.B) { run(b, true, false, true) })
}

// BenchmarkDNAT: an established port-mapped flow's packets (1k flows,
// both directions), translated after TrackBatch, against ct alone.
func BenchmarkDNAT(b *testing.B) {
	r := newBenchRig(b, 4096)
	if err := r.nt.AddMap(Map{Proto: protoTCP, Host: netip.MustParseAddr("203.0.113.1"), HostPort: 8080,
		Target: netip.MustParseAddr("10.0.0.5"), TargetPort: 80}); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	keys := make([]conntrack.Key, 2*n)
	var p conntrack.Packet
	for i := range n {
		k := conntrack.Key{Src: conntrack.Addr{Lo: 0xffffc6336400 | uint64(i%200)}, Dst: conntrack.AddrFrom(netip.MustParseAddr("203.0.113.1")),
			SrcPort: uint16(30000 + i), DstPort: 8080, Proto: protoTCP}
		p = conntrack.Packet{Key: k, Kind: conntrack.KindTCP, TCPFlags: fSYN}
		r.cw.TrackParsed(&p, 1)
		res, act, reason := r.w.Commit(r.cw, &p, 1, 0)
		if reason != ReasonNone || act != ActDNAT {
			b.Fatal(reason, act)
		}
		f, _ := r.ct.Get(res.Conn)
		keys[2*i], keys[2*i+1] = k, f.Reply
		// Complete the handshake: ACKs on a SYN-sent flow are invalid
		// and Translate would skip them.
		p = conntrack.Packet{Key: f.Reply, Kind: conntrack.KindTCP, TCPFlags: fSYN | fACK}
		r.cw.TrackParsed(&p, 1)
		p = conntrack.Packet{Key: k, Kind: conntrack.KindTCP, TCPFlags: fACK}
		if res := r.cw.TrackParsed(&p, 1); res.TCP != conntrack.TCPEstablished {
			b.Fatalf("flow %d: %+v", i, res)
		}
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

// BenchmarkRewrite: the rewriting alone, per packet: a masqueraded
// TCP/IPv4 and TCP/IPv6 packet's source (address and port), and an
// ICMP error about one.
func BenchmarkRewrite(b *testing.B) {
	for _, c := range []struct{ name, src, dst, ext string }{
		{"tcp4", "10.0.0.5", "198.51.100.7", "203.0.113.1"},
		{"tcp6", "fd00::5", "2001:db8:1::7", "2001:db8:e::1"},
	} {
		s := tcp(c.src, c.dst, 5000, 443, fACK)
		s.payload = make([]byte, 1400)
		pkt := s.build()
		a, t := s.key(), s.key()
		t.Src, t.SrcPort = mustAddr(c.ext), 6000
		b.Run(c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if i&1 == 0 {
					Rewrite(pkt, &t, false)
				} else {
					Rewrite(pkt, &a, false)
				}
			}
			perPkt(b, 1)
		})
	}
	s := tcp("10.0.0.5", "198.51.100.7", 5000, 443, fACK)
	a, t := s.key(), s.key()
	t.Src, t.SrcPort = mustAddr("203.0.113.1"), 6000
	e := errAbout("192.0.2.1", "203.0.113.1", s.withTuple(&t)).build()
	cur, want := t.Reverse(), a.Reverse()
	b.Run("icmp4-error", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if i&1 == 0 {
				RewriteICMPError(e, &cur, &want, false)
			} else {
				RewriteICMPError(e, &want, &cur, false)
			}
		}
		perPkt(b, 1)
	})
}

// BenchmarkTranslate: Translate alone on one hot packet of an
// established masqueraded flow (the entry in cache): the flow's keys
// read from conntrack, compared, and the packet rewritten.
func BenchmarkTranslate(b *testing.B) {
	r := newBenchRig(b, 1024)
	keys := r.load(b, 1)
	pkt := tcp("10.0.0.1", "198.51.100.1", 1, 443, fACK).build()
	setTuple4(pkt, &keys[0])
	orig := append([]byte(nil), pkt...)
	var p conntrack.Packet
	res := r.cw.Track(&p, pkt, 0, 2)
	b.ReportAllocs()
	for b.Loop() {
		copy(pkt, orig)
		if _, reason := r.w.Translate(pkt, &p, res, false); reason != ReasonNone {
			b.Fatal(reason)
		}
	}
	perPkt(b, 1)
}
