package conntrack

import (
	"math/rand/v2"
	"testing"
)

// TestBatchMatchesTrack drives two tables with the same seed through the
// same random traffic, one a packet at a time with TrackParsed (the slow
// path: a full lookup, the reply key read from the entry's second line),
// the other in vectors with TrackBatch (its inline case: a plain flow's
// reply checked against the original key reversed, stPlain), and wants
// the same answer for every packet and the same counters. The flows are
// plain and translated (an address or a port of the reply key changed,
// or a reply key given that is the plain one), TCP, UDP, ICMP echo and
// another protocol, IPv4 and IPv6; the packets go both ways, with SYN,
// FIN and RST now and then, near-misses (a translated flow's untranslated
// reverse, ports swapped the wrong way) and time passing so flows expire.
func TestBatchMatchesTrack(t *testing.T) {
	for _, both := range []bool{false, true} {
		cfg := Config{Capacity: 512, Seed: 0x1234567, BothKeys: both}
		a, b := newTable(t, cfg), newTable(t, cfg)
		wa, wb := a.NewWorker(), b.NewWorker()
		rng := rand.New(rand.NewPCG(7, 11))
		var flows [][2]Key // original, reply
		ps := make([]Packet, BatchSize)
		res := make([]Result, BatchSize)
		now := uint32(1000)
		for round := range 300 {
			if round%40 == 39 {
				now += uint32(rng.IntN(200)) // some flows expire
			}
			n := 1 + rng.IntN(BatchSize)
			for i := range n {
				ps[i] = randPacket(rng, flows)
			}
			want := make([]Result, n)
			for i := range n {
				q := ps[i]
				want[i] = wb.TrackParsed(&q, now)
			}
			wa.TrackBatch(ps[:n], res[:n], now)
			wb.Publish()
			for i := range n {
				if res[i] != want[i] {
					t.Fatalf("both=%v round %d packet %v kind %d flags %#x: batch %+v, track %+v",
						both, round, ps[i].Key, ps[i].Kind, ps[i].TCPFlags, res[i], want[i])
				}
				if want[i].State != StateNew || want[i].Conn != 0 || len(flows) > 400 {
					continue
				}
				// Commit the new flow in both, translated one time in three.
				var reply *Key
				rk := ps[i].Key.Reverse()
				switch rng.IntN(6) {
				case 0:
					rk.Src.Lo ^= 1 << rng.IntN(32) // the translated address
					reply = &rk
				case 1:
					rk.DstPort ^= 1 + uint16(rng.IntN(100)) // the translated port
					reply = &rk
				case 2:
					reply = &rk // given, but plain
				}
				ca, cb := wa.Commit(&ps[i], reply, now, 7), wb.Commit(&ps[i], reply, now, 7)
				if ca != cb {
					t.Fatalf("commit: %+v and %+v", ca, cb)
				}
				if ca.Conn != 0 {
					flows = append(flows, [2]Key{ps[i].Key, rk})
					e := &a.entries[ca.Conn]
					var k1 Key
					e.loadKey(Reply, &k1)
					plain := e.state.Load()&stPlain != 0
					if plain != (k1 == ps[i].Key.Reverse() && !ps[i].Key.isICMP()) {
						t.Fatalf("flow %v reply %v: stPlain %v", ps[i].Key, k1, plain)
					}
				}
			}
		}
		ca, cb := a.Counters(), b.Counters()
		if ca != cb {
			t.Fatalf("both=%v counters: batch %+v, track %+v", both, ca, cb)
		}
		if ca.Hits < 10000 {
			t.Fatalf("both=%v: only %d hits, the test tests little", both, ca.Hits)
		}
	}
}

// randPacket is a packet of one of flows (either key, or a near miss of
// one) or of a new flow.
func randPacket(rng *rand.Rand, flows [][2]Key) Packet {
	var p Packet
	if len(flows) == 0 || rng.IntN(8) == 0 {
		k := Key{Zone: uint16(rng.IntN(2)), Proto: [...]uint8{protoTCP, protoUDP, protoICMP, 47}[rng.IntN(4)]}
		k.Src = Addr{0, 0xffff<<32 | uint64(rng.IntN(50))}
		k.Dst = Addr{0, 0xffff<<32 | uint64(50+rng.IntN(50))} // never Src: a key its own reverse is in both slots, and TrackBatch answers Reply for it where Track answers Original
		if rng.IntN(4) == 0 {
			k.Flags = KeyIPv6
			k.Src.Hi, k.Dst.Hi = 0x20010db8<<32, 0x20010db8<<32
			if k.Proto == protoICMP {
				k.Proto = protoICMPv6
			}
		}
		switch k.Proto {
		case protoTCP, protoUDP:
			k.SrcPort, k.DstPort = uint16(rng.IntN(1000)), uint16(rng.IntN(4))
		case protoICMP:
			k.SrcPort, k.DstPort = uint16(rng.IntN(1000)), 8<<8
		case protoICMPv6:
			k.SrcPort, k.DstPort = uint16(rng.IntN(1000)), 128<<8
		}
		p.Key = k
	} else {
		f := flows[rng.IntN(len(flows))]
		p.Key = f[rng.IntN(2)]
		switch rng.IntN(20) {
		case 0:
			p.Key = f[0].Reverse() // a translated flow's reply untranslated
		case 1:
			p.Key.SrcPort, p.Key.DstPort = p.Key.DstPort, p.Key.SrcPort
		}
	}
	switch k := &p.Key; {
	case k.Proto == protoTCP:
		p.Kind = KindTCP
		p.TCPFlags = 0x10 // ACK
		switch rng.IntN(30) {
		case 0, 1, 2:
			p.TCPFlags = 0x02 // SYN
		case 3, 4:
			p.TCPFlags = 0x12 // SYN+ACK
		case 5:
			p.TCPFlags = 0x11 // FIN+ACK
		case 6:
			p.TCPFlags = 0x04 // RST
		}
	case k.Proto == protoUDP:
		p.Kind = KindUDP
	case k.isICMP():
		p.Kind = KindICMPRequest
		if t := k.DstPort >> 8; t == 0 || t == 129 {
			p.Kind = KindICMPReply
		}
	default:
		p.Kind = KindOther
	}
	return p
}

// TestBatchPlainReplyOneLine shows where TrackBatch reads a reply's key:
// with the second line (key1) spoiled, a plain flow's reply still hits
// (checked against the original key reversed), a translated flow's does
// not (its reply key is only in key1, and the fallback lookup reads it
// too).
func TestBatchPlainReplyOneLine(t *testing.T) {
	tab := newTable(t, Config{Capacity: 64})
	w := tab.NewWorker()
	udp := Packet{Key: key("10.0.0.1", "10.0.0.2", 40000, 53, protoUDP, 3), Kind: KindUDP}
	nat := udp
	nat.Key.SrcPort = 40001
	rk := nat.Key.Reverse()
	rk.DstPort = 1024 // masqueraded
	for _, c := range []struct {
		p     Packet
		reply *Key
		hit   bool
	}{{udp, nil, true}, {nat, &rk, false}} {
		cr := w.Commit(&c.p, c.reply, 10, 1)
		if cr.Conn == 0 {
			t.Fatalf("commit: %+v", cr)
		}
		e := &tab.entries[cr.Conn]
		var k1 Key
		e.loadKey(Reply, &k1)
		for i := range e.key1 {
			e.key1[i].Store(^uint64(0)) // spoil it; the buckets still hold its slot
		}
		ps := []Packet{{Key: k1, Kind: KindUDP}}
		res := make([]Result, 1)
		w.TrackBatch(ps, res, 11)
		if got := res[0].Conn == cr.Conn && res[0].Dir == Reply; got != c.hit {
			t.Fatalf("reply %v (plain %v): %+v", k1, c.hit, res[0])
		}
	}
}

// TestBatchFlowOrder: TrackBatch leaves a FIN or RST to its slow loop
// after the vector's common case; a later ACK of the same connection in
// the vector must still be applied after it, as Track would.
func TestBatchFlowOrder(t *testing.T) {
	for _, seq := range [][]uint8{
		{0x11, 0x10, 0x10}, // FIN, then ACKs: the FIN's state first
		{0x04, 0x10},       // RST, then an ACK: invalid after RST
		{0x10, 0x11, 0x10, 0x11, 0x10},
	} {
		cfg := Config{Capacity: 64, Seed: 99}
		a, b := newTable(t, cfg), newTable(t, cfg)
		wa, wb := a.NewWorker(), b.NewWorker()
		k := key("10.0.0.1", "10.0.0.2", 40000, 80, protoTCP, 0)
		rk := k.Reverse()
		// Set the connection up in both: SYN, SYN+ACK, ACK.
		for _, w := range []*Worker{wa, wb} {
			syn := Packet{Key: k, Kind: KindTCP, TCPFlags: 0x02}
			w.TrackParsed(&syn, 1)
			w.Commit(&syn, nil, 1, 0)
			for _, q := range []Packet{{Key: rk, Kind: KindTCP, TCPFlags: 0x12}, {Key: k, Kind: KindTCP, TCPFlags: 0x10}} {
				w.TrackParsed(&q, 1)
			}
		}
		// Then the vector: the flags of seq, directions alternating, an
		// unrelated flow's packets between them.
		var ps []Packet
		for i, f := range seq {
			kk := k
			if i%2 == 1 {
				kk = rk
			}
			ps = append(ps, Packet{Key: kk, Kind: KindTCP, TCPFlags: f},
				Packet{Key: key("10.0.0.9", "10.0.0.2", uint16(i), 80, protoUDP, 0), Kind: KindUDP})
		}
		res := make([]Result, len(ps))
		wa.TrackBatch(ps, res, 2)
		for i := range ps {
			q := ps[i]
			if want := wb.TrackParsed(&q, 2); res[i] != want {
				t.Fatalf("flags %#x, packet %d (%#x): batch %+v, track %+v", seq, i, q.TCPFlags, res[i], want)
			}
		}
	}
}

// TestBucketFind checks the tag search on 32-bit halves in place
// (bucket.tags) against a plain loop: the last slot whose tag matches.
func TestBucketFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var b bucket
	for range 20000 {
		tags := []uint32{0, 1, rng.Uint32(), rng.Uint32()}
		for i := range b.s {
			w := uint64(0)
			if rng.IntN(4) != 0 {
				w = uint64(tags[rng.IntN(len(tags))])<<32 | uint64(rng.Uint32())
			}
			b.s[i].Store(w)
		}
		tag := tags[rng.IntN(len(tags))]
		if got, want := b.find(tag), findRef(&b, tag); got != want {
			t.Fatalf("find(%#x) = %#x, want %#x", tag, got, want)
		}
	}
}
