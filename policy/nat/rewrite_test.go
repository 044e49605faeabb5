package nat

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// TestReferenceBuilder checks the reference against gopacket's own
// checksums, so the randomized tests compare with something right.
func TestReferenceBuilder(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, proto := range []uint8{protoTCP, protoUDP} {
			s := &spec{v6: v6, proto: proto, sport: 1234, dport: 80, ttl: 64, payload: []byte("hello, world!")}
			var nl gopacket.NetworkLayer
			if v6 {
				s.src, s.dst = mustAddr("2001:db8::1"), mustAddr("2001:db8:ffff::2")
				nl = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocol(proto),
					SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8:ffff::2")}
			} else {
				s.src, s.dst = mustAddr("10.1.2.3"), mustAddr("198.51.100.200")
				nl = &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocol(proto),
					SrcIP: net.IPv4(10, 1, 2, 3), DstIP: net.IPv4(198, 51, 100, 200)}
			}
			var l4 gopacket.SerializableLayer
			if proto == protoTCP {
				tcp := &layers.TCP{SrcPort: 1234, DstPort: 80, Seq: 0x01020304, ACK: true, Window: 65535}
				tcp.SetNetworkLayerForChecksum(nl)
				l4 = tcp
			} else {
				udp := &layers.UDP{SrcPort: 1234, DstPort: 80}
				udp.SetNetworkLayerForChecksum(nl)
				l4 = udp
			}
			buf := gopacket.NewSerializeBuffer()
			require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
				nl.(gopacket.SerializableLayer), l4, gopacket.Payload(s.payload)))
			require.Equal(t, buf.Bytes(), s.build(), "v6 %v proto %d", v6, proto)
		}
	}
}

// TestRewriteAgainstReference: random packets (IPv4 with options, IPv6
// with extension headers, TCP with options, UDP with and without a
// checksum, UDP-Lite, DCCP, ICMP and ICMPv6 queries, IPv4 protocols
// without ports) rewritten to random tuples, incrementally, must equal
// the packet built with those fields and every checksum recomputed,
// with full and with partial L4 checksums.
func TestRewriteAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := range n {
		s := randSpec(rng, rng.IntN(2) == 0)
		s.partial = rng.IntN(4) == 0
		pkt := s.build()
		to := s.key()
		// Change some of the fields, sometimes none.
		if rng.IntN(2) == 0 {
			to.Src = randAddr(rng, s.v6)
		}
		if rng.IntN(2) == 0 {
			to.Dst = randAddr(rng, s.v6)
		}
		if rng.IntN(2) == 0 {
			to.SrcPort = uint16(rng.Uint32())
		}
		if rng.IntN(2) == 0 && !s.isICMPQuery() {
			to.DstPort = uint16(rng.Uint32())
		}
		pad := rng.IntN(3) * 7 // Ethernet padding after the packet stays as it is
		pkt = append(pkt, make([]byte, pad)...)
		require.Equal(t, ReasonNone, Rewrite(pkt, &to, s.partial), "case %d", i)
		want := append(s.withTuple(&to).build(), make([]byte, pad)...)
		if !bytes.Equal(want, pkt) {
			t.Fatalf("case %d (v6 %v proto %d partial %v udp0 %v):\n got %x\nwant %x", i, s.v6, s.proto, s.partial, s.udpNoCsum, pkt, want)
		}
	}
}

// TestRewriteICMPErrorAgainstReference: random errors (from the peer
// itself or from a router on the path) quoting random packets of a flow,
// cut at random lengths, translated, must equal the error built around
// the translated quote with every checksum recomputed: the quoted
// packet's (its IPv4 header, its L4 checksum when quoted), and the
// error's.
func TestRewriteICMPErrorAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := range n {
		v6 := rng.IntN(2) == 0
		q := randSpec(rng, v6)
		q.partial = false
		// The flow's key in the error's direction is the reverse of the
		// quoted packet's; want is some translation of it.
		cur := q.key().Reverse()
		want := cur
		want.Src, want.Dst = randAddr(rng, v6), randAddr(rng, v6)
		if rng.IntN(3) == 0 {
			want.Src = cur.Src
		}
		if hasPorts(q.proto) {
			want.SrcPort, want.DstPort = uint16(rng.Uint32()), uint16(rng.Uint32())
		} else if q.isICMPQuery() {
			want.SrcPort = uint16(rng.Uint32())
		}
		e := &spec{v6: v6, proto: protoICMP, src: cur.Src, dst: cur.Dst, ttl: 64, id: uint16(rng.Uint32()),
			icmpType: []uint8{3, 11, 12, 4, 5}[rng.IntN(5)], quote: q}
		if v6 {
			e.proto, e.icmpType = protoICMPv6, uint8(1+rng.IntN(4))
		}
		router := rng.IntN(2) == 0
		if router {
			e.src = randAddr(rng, v6)
		}
		e.partial = rng.IntN(5) == 0
		full := len(q.build())
		hl := full - len(q.buildL4())
		minQ := hl + 8
		if hasPorts(q.proto) {
			minQ = hl + 4
		} else if !q.isICMPQuery() {
			minQ = hl
		}
		e.quoteLen = minQ + rng.IntN(full-minQ+1)
		// A quote that ends inside the quoted L4 checksum cannot have the
		// byte it holds updated (the new value depends on the byte that
		// was cut); like Linux, the byte is left as it is.
		if at := hl + map[bool]int{true: 16, false: 6}[q.proto == protoTCP]; hasPorts(q.proto) && e.quoteLen == at+1 {
			e.quoteLen++
		}
		pkt := e.build()
		require.Equal(t, ReasonNone, RewriteICMPError(pkt, &cur, &want, e.partial), "case %d", i)

		we := *e
		qt := want.Reverse()
		we.quote = q.withTuple(&qt)
		we.dst = want.Dst
		if !router {
			we.src = want.Src
		}
		wpkt := we.build()
		if !bytes.Equal(wpkt, pkt) {
			t.Fatalf("case %d (v6 %v proto %d quote %d/%d router %v partial %v):\n got %x\nwant %x", i, v6, q.proto, e.quoteLen, full, router, e.partial, pkt, wpkt)
		}
	}
}

// TestRewriteRefuses: what Rewrite and RewriteICMPError refuse, they
// leave untouched.
func TestRewriteRefuses(t *testing.T) {
	tcp := (&spec{proto: protoTCP, src: mustAddr("10.0.0.1"), dst: mustAddr("10.0.0.2"), sport: 1, dport: 2}).build()
	to := conntrack.Key{Src: mustAddr("192.0.2.1"), Dst: mustAddr("10.0.0.2"), SrcPort: 9, DstPort: 2, Proto: protoTCP}
	to6 := to
	to6.Flags = conntrack.KeyIPv6
	sctp := (&spec{proto: protoSCTP, src: mustAddr("10.0.0.1"), dst: mustAddr("10.0.0.2"), payload: make([]byte, 12)}).build()
	frag := append([]byte(nil), tcp...)
	frag[7] = 1 // offset 8
	badIHL := append([]byte(nil), tcp...)
	badIHL[0] = 0x44
	errPkt := (&spec{proto: protoICMP, icmpType: 3, src: mustAddr("192.0.2.9"), dst: mustAddr("10.0.0.1"),
		quote: &spec{proto: protoTCP, src: mustAddr("10.0.0.1"), dst: mustAddr("10.0.0.2"), sport: 1, dport: 2}, quoteLen: 28}).build()
	shortQuote := (&spec{proto: protoICMP, icmpType: 3, src: mustAddr("192.0.2.9"), dst: mustAddr("10.0.0.1"),
		quote: &spec{proto: protoTCP, src: mustAddr("10.0.0.1"), dst: mustAddr("10.0.0.2"), sport: 1, dport: 2}, quoteLen: 22}).build()
	echo := (&spec{proto: protoICMP, icmpType: 8, src: mustAddr("10.0.0.1"), dst: mustAddr("10.0.0.2")}).build()
	toEcho := to
	toEcho.Proto = protoICMP
	for _, tc := range []struct {
		name string
		pkt  []byte
		to   *conntrack.Key
		r    Reason
		err  bool
	}{
		{"empty", nil, &to, ReasonTruncated, false},
		{"short-ip", tcp[:19], &to, ReasonTruncated, false},
		{"short-tcp", tcp[:39], &to, ReasonTruncated, false},
		{"bad-version", append([]byte{0x50}, tcp[1:]...), &to, ReasonBadHeader, false},
		{"bad-ihl", badIHL, &to, ReasonBadHeader, false},
		{"fragment", frag, &to, ReasonFragment, false},
		{"family", tcp, &to6, ReasonFamily, false},
		{"proto", tcp, &toEcho, ReasonProto, false},
		{"sctp", sctp, &conntrack.Key{Proto: protoSCTP}, ReasonProto, false},
		{"error-to-rewrite", errPkt, &toEcho, ReasonProto, false},
		{"not-error", echo, &to, ReasonNotError, true},
		{"short-quote", shortQuote, &to, ReasonTruncated, true},
		{"quote-proto", errPkt, &toEcho, ReasonProto, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]byte(nil), tc.pkt...)
			var r Reason
			if tc.err {
				cur := to.Reverse()
				r = RewriteICMPError(tc.pkt, &cur, tc.to, false)
			} else {
				r = Rewrite(tc.pkt, tc.to, false)
			}
			require.Equal(t, tc.r, r, r.String())
			require.Equal(t, before, tc.pkt)
		})
	}
	// A protocol without ports over IPv4: the addresses change.
	gre := (&spec{proto: 47, src: mustAddr("10.0.0.1"), dst: mustAddr("10.0.0.2"), payload: []byte{0, 0, 0x65, 0x58}}).build()
	require.Equal(t, ReasonNone, Rewrite(gre, &conntrack.Key{Src: mustAddr("192.0.2.1"), Dst: mustAddr("10.0.0.2"), Proto: 47}, false))
	require.Equal(t, []byte{192, 0, 2, 1}, gre[12:16])
	require.Equal(t, uint16(0xffff), uint16(refSum(gre[:20])))
}

// TestRewriteUDPZero: a UDP checksum of 0 (none, IPv4) stays 0; a
// computed checksum of 0 goes out as 0xffff.
func TestRewriteUDPZero(t *testing.T) {
	s := &spec{proto: protoUDP, src: mustAddr("10.0.0.1"), dst: mustAddr("10.0.0.2"), sport: 1000, dport: 53, udpNoCsum: true, payload: []byte{1, 2, 3}}
	pkt := s.build()
	to := s.key()
	to.Src, to.SrcPort = mustAddr("203.0.113.5"), 4000
	require.Equal(t, ReasonNone, Rewrite(pkt, &to, false))
	require.Zero(t, binary.BigEndian.Uint16(pkt[26:]))
	require.Equal(t, uint16(4000), binary.BigEndian.Uint16(pkt[20:]))

	// Find a translation whose checksum comes out 0.
	s.udpNoCsum = false
	for p := range 65536 {
		pkt = s.build()
		to.SrcPort = uint16(p)
		if refCsum(s.withTuple(&to).pseudo(11), s.withTuple(&to).buildL4()) != 0 {
			continue
		}
		require.Equal(t, ReasonNone, Rewrite(pkt, &to, false))
		require.Equal(t, uint16(0xffff), binary.BigEndian.Uint16(pkt[26:]), "port %d", p)
		return
	}
	t.Fatal("no port gives a zero checksum")
}

func TestRewriteAllocations(t *testing.T) {
	s := &spec{proto: protoTCP, src: mustAddr("10.0.0.1"), dst: mustAddr("198.51.100.1"), sport: 1000, dport: 80}
	pkt := s.build()
	a, b := s.key(), s.key()
	b.Src, b.SrcPort = mustAddr("203.0.113.1"), 2000
	e := (&spec{proto: protoICMP, icmpType: 3, src: mustAddr("192.0.2.9"), dst: mustAddr("203.0.113.1"),
		quote: s.withTuple(&b), quoteLen: 48}).build()
	cur, want := b.Reverse(), a.Reverse()
	n := testing.AllocsPerRun(1000, func() {
		Rewrite(pkt, &b, false)
		Rewrite(pkt, &a, true)
		RewriteICMPError(e, &cur, &want, false)
		RewriteICMPError(e, &want, &cur, false)
	})
	require.Zero(t, n)
}
