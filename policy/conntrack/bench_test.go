package conntrack

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchKey is flow i of the benchmarks: 10.x.y.z:port > 192.168.0.1:443.
func benchKey(i int) Key {
	return Key{Src: Addr{0, 0xffff0a000000 | uint64(i)&0xffffff}, Dst: Addr{0, 0xffffc0a80001},
		SrcPort: uint16(1024 + i>>24), DstPort: 443, Proto: protoTCP}
}

// setFrame writes key k into an IPv4/TCP frame made by tcpPkt.
func setFrame(f []byte, k *Key) {
	binary.BigEndian.PutUint32(f[12:], uint32(k.Src.Lo))
	binary.BigEndian.PutUint32(f[16:], uint32(k.Dst.Lo))
	binary.BigEndian.PutUint16(f[20:], k.SrcPort)
	binary.BigEndian.PutUint16(f[22:], k.DstPort)
}

// loadFlows commits n TCP flows and takes each through its handshake to
// established.
func loadFlows(b *testing.B, w *Worker, n int, now uint32) {
	var p Packet
	for i := range n {
		k := benchKey(i)
		p = Packet{Key: k, Kind: KindTCP, TCPFlags: fSYN}
		if w.TrackParsed(&p, now).Conn == 0 && w.Commit(&p, nil, now, 0).Conn == 0 {
			b.Fatal("commit failed")
		}
		p = Packet{Key: k.Reverse(), Kind: KindTCP, TCPFlags: fSYN | fACK}
		w.TrackParsed(&p, now)
		p = Packet{Key: k, Kind: KindTCP, TCPFlags: fACK}
		if r := w.TrackParsed(&p, now); r.TCP != TCPEstablished {
			b.Fatalf("flow %d: %+v", i, r)
		}
	}
	w.Publish()
	if c := w.t.Counters(); c.Evicted != 0 || w.t.Len() != n {
		b.Fatalf("%d flows loaded, %d evicted", w.t.Len(), c.Evicted)
	}
}

// vector is a pipeline vector of frames: 256 hot IPv4/TCP ACK frames
// that each iteration rewrites with the addresses and ports of 256
// random flows (of either direction), as a receive path would hand them
// over.
type vector struct {
	frames [BatchSize][]byte
	keys   []Key // [2*i+d]: flow i in direction d
	draw   []uint32
	pos    int
}

func newVector(b *testing.B, flows int) *vector {
	v := &vector{keys: make([]Key, 2*flows), draw: make([]uint32, 1<<16)}
	tmpl := tcpPkt(b, "10.0.0.1", "192.168.0.1", 1, 443, fACK)
	buf := make([]byte, BatchSize*64)
	for i := range v.frames {
		v.frames[i] = buf[i*64 : i*64+len(tmpl)]
		copy(v.frames[i], tmpl)
	}
	for i := range flows {
		v.keys[2*i] = benchKey(i)
		v.keys[2*i+1] = v.keys[2*i].Reverse()
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range v.draw {
		v.draw[i] = uint32(rng.IntN(2 * flows))
	}
	return v
}

// next fills the frames with the next 256 drawn flows.
func (v *vector) next() {
	for i := range v.frames {
		setFrame(v.frames[i], &v.keys[v.draw[v.pos+i]])
	}
	v.pos = (v.pos + BatchSize) % len(v.draw)
}

func perPacket(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*BatchSize), "ns/pkt")
}

// BenchmarkEstablished tracks packets of established TCP flows, both
// directions, drawn uniformly from 1k or 1M flows, 256 per iteration:
//
//   - plain: only what every path does (rewrite the frames and read a
//     header byte): the baseline;
//   - track: Track per packet (parse, lookup, state update);
//   - batch: Parse per packet, then TrackBatch for the vector.
//
// Conntrack's cost is the difference to plain.
func BenchmarkEstablished(b *testing.B) {
	for _, n := range []int{1000, 1 << 20} {
		tab := newTable(b, Config{Capacity: n + n/4})
		w := tab.NewWorker()
		loadFlows(b, w, n, 1)
		v := newVector(b, n)
		ps := make([]Packet, BatchSize)
		res := make([]Result, BatchSize)
		b.Run(fmt.Sprintf("flows=%d/plain", n), func(b *testing.B) {
			var sum int
			for b.Loop() {
				v.next()
				for _, f := range v.frames {
					sum += int(f[23])
				}
			}
			perPacket(b)
			if sum == 1 {
				b.Log(sum)
			}
		})
		b.Run(fmt.Sprintf("flows=%d/track", n), func(b *testing.B) {
			b.ReportAllocs()
			var p Packet
			for b.Loop() {
				v.next()
				for _, f := range v.frames {
					if w.Track(&p, f, 0, 2).State != StateEstablished {
						b.Fatal("not established")
					}
				}
			}
			perPacket(b)
		})
		b.Run(fmt.Sprintf("flows=%d/batch", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.next()
				for i, f := range v.frames {
					Parse(&ps[i], f, 0)
				}
				w.TrackBatch(ps, res, 2)
			}
			perPacket(b)
			for _, r := range res {
				if r.State != StateEstablished {
					b.Fatal("not established")
				}
			}
		})
	}
}

// synVector is a vector of SYN frames of new flows, parsed and tracked
// at once as a node does it.
type synVector struct {
	ps    [BatchSize]Packet
	res   [BatchSize]Result
	ips   [BatchSize][]byte
	zones [BatchSize]uint16
}

func newSYNVector(tmpl []byte) *synVector {
	v := &synVector{}
	buf := make([]byte, BatchSize*64)
	for i := range v.ips {
		v.ips[i] = buf[i*64 : i*64+len(tmpl)]
		copy(v.ips[i], tmpl)
	}
	return v
}

// fill writes flows first, first+1, ... (benchKey) into the frames.
func (v *synVector) fill(first int) {
	for i := range v.ips {
		k := benchKey(first + i)
		setFrame(v.ips[i], &k)
	}
}

// track parses and tracks the vector (ParseBatch, TrackBatch), then,
// if prepare, calls PrepareCommits.
func (v *synVector) track(w *Worker, now uint32, prepare bool) {
	ParseBatch(v.ps[:], v.ips[:], v.zones[:])
	w.TrackBatch(v.ps[:], v.res[:], now)
	if prepare {
		w.PrepareCommits(v.ps[:], v.res[:])
	}
}

// perFlow reports the time per flow of b.N vectors.
func perFlow(b *testing.B) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*BatchSize)
	b.ReportMetric(ns, "ns/flow")
	b.ReportMetric(1e9/ns, "flows/s")
}

// BenchmarkNewFlows sets up new TCP flows on one core: Track of a SYN
// (a miss) and Commit, 256 per iteration, into a table with room
// ("room", refilled outside the timer) and into a full table where
// every new flow evicts an old one ("full", 64k flows). The "batch"
// cases do it as a node does: a vector of 256 SYNs parsed at once
// (ParseBatch), tracked at once (TrackBatch), then committed one by
// one, with or without PrepareCommits between; "batch-churn" into a
// table of 1M holding 512k flows, where each vector's new flows take
// entries freed at random (256 flows deleted between vectors, outside
// the timer): the steady state of a busy table.
func BenchmarkNewFlows(b *testing.B) {
	tmpl := tcpPkt(b, "10.0.0.1", "192.168.0.1", 1, 443, fSYN)
	frame := append([]byte(nil), tmpl...)
	run := func(b *testing.B, capacity int, refill bool) {
		tab := newTable(b, Config{Capacity: capacity})
		w := tab.NewWorker()
		var p Packet
		flow := 0
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if refill && flow+BatchSize > capacity {
				b.StopTimer()
				tab = newTable(b, Config{Capacity: capacity})
				w = tab.NewWorker()
				flow = 0
				b.StartTimer()
			}
			for range BatchSize {
				k := benchKey(flow)
				setFrame(frame, &k)
				flow++
				if r := w.Track(&p, frame, 0, uint32(flow>>16)); r.State != StateNew || r.Conn != 0 {
					b.Fatalf("flow %d: %+v", flow, r)
				}
				if w.Commit(&p, nil, uint32(flow>>16), 0).Conn == 0 {
					b.Fatal("commit failed")
				}
			}
		}
		perFlow(b)
	}
	b.Run("room", func(b *testing.B) { run(b, 1<<20, true) })
	b.Run("full", func(b *testing.B) { run(b, 1<<16, false) })
	churn := func(b *testing.B, prepare bool) {
		const capacity, live = 1 << 20, 1 << 19
		tab := newTable(b, Config{Capacity: capacity})
		w := tab.NewWorker()
		v := newSYNVector(tmpl)
		conns := make([]uint32, 0, live)
		var p Packet
		for i := range live {
			p = Packet{Key: benchKey(i), Kind: KindTCP, TCPFlags: fSYN}
			conns = append(conns, w.Commit(&p, nil, 0, 0).Conn)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		flow := live
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			for range BatchSize {
				j := rng.IntN(len(conns))
				if !tab.Delete(conns[j]) {
					b.Fatal("delete failed")
				}
				conns[j] = conns[len(conns)-1]
				conns = conns[:len(conns)-1]
			}
			v.fill(flow)
			flow += BatchSize
			b.StartTimer()
			v.track(w, 0, prepare)
			for i := range v.ps {
				c := w.Commit(&v.ps[i], nil, 0, 0).Conn
				if c == 0 {
					b.Fatal("commit failed")
				}
				conns = append(conns, c)
			}
		}
		perFlow(b)
	}
	batch := func(b *testing.B, capacity int, refill, prepare bool) {
		tab := newTable(b, Config{Capacity: capacity})
		w := tab.NewWorker()
		v := newSYNVector(tmpl)
		flow := 0
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if refill && flow+BatchSize > capacity {
				b.StopTimer()
				tab = newTable(b, Config{Capacity: capacity})
				w = tab.NewWorker()
				flow = 0
				b.StartTimer()
			}
			v.fill(flow)
			now := uint32(flow >> 16)
			flow += BatchSize
			v.track(w, now, prepare)
			for i := range v.ps {
				if r := v.res[i]; r.State != StateNew || r.Conn != 0 {
					b.Fatalf("flow %d: %+v", flow, r)
				}
				if w.Commit(&v.ps[i], nil, now, 0).Conn == 0 {
					b.Fatal("commit failed")
				}
			}
		}
		perFlow(b)
	}
	b.Run("batch-room", func(b *testing.B) { batch(b, 1<<20, true, false) })
	b.Run("batch-room-prepared", func(b *testing.B) { batch(b, 1<<20, true, true) })
	b.Run("batch-full", func(b *testing.B) { batch(b, 1<<16, false, false) })
	b.Run("batch-full-prepared", func(b *testing.B) { batch(b, 1<<16, false, true) })
	b.Run("batch-churn", func(b *testing.B) { churn(b, false) })
	b.Run("batch-churn-prepared", func(b *testing.B) { churn(b, true) })
}

// BenchmarkParse parses a TCP/IPv4 and an IPv6 packet with extension
// headers.
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name string
		pkt  []byte
	}{
		{"tcp4", tcpPkt(b, "10.0.0.1", "10.0.0.2", 1, 2, fACK)},
		{"tcp6-ext", raw6("2001:db8::1", "2001:db8::2", []ext6{hbh(), dstopts()}, protoTCP, l4tcp(1, 2, fACK))},
	} {
		b.Run(c.name, func(b *testing.B) {
			var p Packet
			b.ReportAllocs()
			for b.Loop() {
				Parse(&p, c.pkt, 0)
			}
		})
	}
}
