package vswitch

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/dns"
)

// The DNS punt path against arbitrary input (issue 21): the consumer side
// (handlePunt, what drainPunts runs on each punted packet) fed arbitrary
// IP packets, and the whole pipeline fed arbitrary DNS payloads on a real
// dns.Resolver.

// dnsFuzzResolver is a resolver for network "ra" of testL3Config:
// endpoints a and c, a service, no upstreams (every answer is local and
// synchronous: foreign names are REFUSED).
func dnsFuzzResolver(tb testing.TB) *dns.Resolver {
	reg := dns.NewRegistry()
	require.NoError(tb, reg.SetNetwork("ra", dns.Network{
		Endpoints: map[string][]netip.Addr{
			"a": {netipMust("10.1.0.2"), netipMust("fd01::2")},
			"c": {netipMust("10.1.0.3")},
		},
		Services: map[string][]netip.Addr{"web": {netipMust("10.1.9.9")}},
	}))
	return dns.New(reg, dns.Config{})
}

// dnsQuery packs a query for name and type with id.
func dnsQuery(name string, qtype uint16, id uint16) []byte {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.Id = id
	b, err := m.Pack()
	must(err)
	return b
}

// punted is a punted packet as the switch expects it: the IP packet, a
// UDP query to port 53 (checksums are not the consumer's business).
func punted4(payload []byte) []byte {
	return udp4p(macRA, macA, "10.1.0.2", "10.1.0.1", 33333, 53, string(payload))[ethHdrLen:]
}

func punted6(payload []byte) []byte {
	return udp6(macRA, macA, "fd01::2", "fd01::1", 33334, 53, string(payload))[ethHdrLen:]
}

// wholeUDP is the reference for what the consumer must accept: the UDP
// header and payload of a punted IPv4 or IPv6 packet (nil: no whole UDP
// header). The IP total or payload length bounds the datagram (bytes
// beyond it are link padding); the UDP length must cover the header and
// fit in it.
func wholeUDP(ip []byte) (l4 []byte, src, dst netip.Addr) {
	var end, start int
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4 && ip[9] == 17:
		start = int(ip[0]&15) * 4
		end = min(len(ip), int(binary.BigEndian.Uint16(ip[2:])))
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		if start < 20 {
			return nil, src, dst
		}
	case len(ip) >= 40 && ip[0]>>4 == 6 && ip[6] == 17:
		start = 40
		end = min(len(ip), 40+int(binary.BigEndian.Uint16(ip[4:])))
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
	default:
		return nil, src, dst
	}
	if end-start < 8 {
		return nil, src, dst
	}
	l4 = ip[start:end]
	if ulen := int(binary.BigEndian.Uint16(l4[4:])); ulen < 8 || ulen > len(l4) {
		return nil, src, dst
	}
	return l4, src, dst
}

// checkReply checks an answer to a query from src:sport to dst:53: an
// IP/UDP packet from dst:53 back to src:sport, lengths and checksums
// right, carrying resp if not nil. It returns the UDP payload.
func checkReply(t *testing.T, pkt []byte, src, dst netip.Addr, sport uint16, resp []byte) []byte {
	t.Helper()
	var l4 []byte
	var pseudo []byte
	if dst.Is4() {
		require.GreaterOrEqual(t, len(pkt), 28)
		require.Equal(t, byte(0x45), pkt[0])
		require.Equal(t, len(pkt), int(binary.BigEndian.Uint16(pkt[2:])), "IPv4 total length")
		require.Equal(t, byte(17), pkt[9])
		require.Equal(t, uint16(0xffff), onesSum(pkt[:20], 0), "IPv4 header checksum")
		require.Equal(t, dst, netip.AddrFrom4([4]byte(pkt[12:16])))
		require.Equal(t, src, netip.AddrFrom4([4]byte(pkt[16:20])))
		l4, pseudo = pkt[20:], pkt[12:20]
	} else {
		require.GreaterOrEqual(t, len(pkt), 48)
		require.Equal(t, byte(6), pkt[0]>>4)
		require.Equal(t, len(pkt)-40, int(binary.BigEndian.Uint16(pkt[4:])), "IPv6 payload length")
		require.Equal(t, byte(17), pkt[6])
		require.Equal(t, dst, netip.AddrFrom16([16]byte(pkt[8:24])))
		require.Equal(t, src, netip.AddrFrom16([16]byte(pkt[24:40])))
		l4, pseudo = pkt[40:], pkt[8:40]
	}
	require.Equal(t, uint16(53), binary.BigEndian.Uint16(l4[0:]))
	require.Equal(t, sport, binary.BigEndian.Uint16(l4[2:]))
	require.Equal(t, len(l4), int(binary.BigEndian.Uint16(l4[4:])), "UDP length")
	require.NotZero(t, binary.BigEndian.Uint16(l4[6:]), "UDP checksum present")
	ph := onesSum(pseudo, 0)
	ph = onesSum([]byte{0, 17, byte(len(l4) >> 8), byte(len(l4))}, ph)
	require.Equal(t, uint16(0xffff), onesSum(l4, ph), "UDP checksum")
	if resp != nil {
		require.Equal(t, resp, l4[8:])
	}
	return l4[8:]
}

// onesSum is a plain ones' complement sum (a reference independent of
// internal/csum).
func onesSum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// FuzzDNSPunt takes arbitrary bytes b and a number n, and
//
//   - feeds b to the punt consumer as the IP packet punted from interface
//     n: it never panics; a packet without a whole UDP header counts
//     Malformed and never reaches the handler; a query that does reaches
//     it once, named by the interface, with exactly the UDP payload (UDP
//     length - 8 bytes); the answer of a real resolver comes back on the
//     inject ring as a well-formed IP/UDP packet to the client;
//   - sends b as a DNS query (at most 1,400 bytes) through the whole
//     switch, from a client on ra to the gateway's port 53, over IPv6 if
//     n's top bit is set (checked by dnsThroughPipeline).
//
// One target for both, so that `-fuzz FuzzDNSPunt` names one. Inputs
// that reach the pipeline cost ~0.3 ms and the fuzzer minimizes a new
// interesting one for up to -fuzzminimizetime (default 60 s, shown as
// 0 execs/sec); -fuzzminimizetime 2s keeps a short run fuzzing.
func FuzzDNSPunt(f *testing.F) {
	q := dnsQuery("a.", mdns.TypeA, 0x1234)
	v4, v6 := punted4(q), punted6(dnsQuery("c.ra.vecswitch.", mdns.TypeAAAA, 7))
	badIHL := append([]byte(nil), v4...)
	badIHL[0] = 0x44
	bigIHL := append([]byte(nil), v4...)
	bigIHL[0] = 0x4f
	longUDP := append([]byte(nil), v4...)
	binary.BigEndian.PutUint16(longUDP[24:], uint16(len(v4)-20+1))
	shortUDP := append([]byte(nil), v4...)
	binary.BigEndian.PutUint16(shortUDP[24:], 7)
	padded := append(append([]byte(nil), v4...), 0, 0, 0, 0) // link padding after the datagram
	truncTotal := append([]byte(nil), v4...)
	binary.BigEndian.PutUint16(truncTotal[2:], 27)
	tinyTotal := append([]byte(nil), v4...) // total length below the header
	binary.BigEndian.PutUint16(tinyTotal[2:], 19)
	tcp6 := append([]byte(nil), v6...)
	tcp6[6] = 6
	long6 := append([]byte(nil), v6...)
	binary.BigEndian.PutUint16(long6[44:], uint16(len(v6)-40+1))
	seeds := [][]byte{
		v4, v6, padded,
		punted4(dnsQuery("web.", mdns.TypeA, 1)),
		punted4(dnsQuery("nope.ra.vecswitch.", mdns.TypeA, 2)),
		punted4(dnsQuery("2.0.1.10.in-addr.arpa.", mdns.TypePTR, 3)),
		punted4(dnsQuery("example.org.", mdns.TypeA, 4)),
		punted4(nil), punted4([]byte{1, 2, 3}),
		punted6(make([]byte, 12)),
		{}, {0x45}, v4[:19], v4[:20], v4[:27], v6[:40], v6[:47],
		badIHL, bigIHL, longUDP, shortUDP, truncTotal, tinyTotal, tcp6, long6,
	}
	for _, s := range seeds {
		f.Add(s, uint16(0))
	}
	f.Add(v4, uint16(1))
	f.Add(v4, uint16(200))
	// DNS messages: malformed IP packets, queries through the pipeline.
	for _, s := range [][]byte{
		q,
		dnsQuery("a.ra.vecswitch.", mdns.TypeAAAA, 2),
		dnsQuery("web.", mdns.TypeA, 3),
		dnsQuery("2.0.1.10.in-addr.arpa.", mdns.TypePTR, 4),
		dnsQuery("nope.ra.vecswitch.", mdns.TypeA, 5),
		dnsQuery("example.org.", mdns.TypeA, 6),
		dnsQuery("ra.vecswitch.", mdns.TypeSOA, 7),
		make([]byte, 12), make([]byte, 1400),
	} {
		f.Add(s, uint16(0))
		f.Add(s, uint16(0x8000))
	}

	t0 := &testing.T{}
	r := newL3Rig(t0, func() Config { c := testL3Config(); c.DNS = &DNS{Interfaces: []string{"ra"}}; return c }())
	f.Cleanup(func() { r.s.Close() })
	res := dnsFuzzResolver(f)
	f.Cleanup(res.Close)
	type call struct {
		network string
		query   []byte
		resp    []byte
		replied bool
	}
	var calls []*call
	r.s.SetDNSHandler(func(network string, query []byte, _ bool, reply func([]byte)) {
		c := &call{network: network, query: append([]byte(nil), query...)}
		calls = append(calls, c)
		res.Handle(network, query, dns.UDP, func(resp []byte) {
			c.resp, c.replied = append([]byte(nil), resp...), true
			reply(resp)
		})
	})
	ifaces := r.s.tables.Load().ifaces
	punt := func(t *testing.T, ip []byte, iface uint16) {
		if len(ip) >= 20 && (ip[0]>>4 == 4 && ip[9] == 6 || ip[0]>>4 == 6 && len(ip) >= 48 && ip[6] == 6) {
			// TCP: FuzzDNSTCP's; here only that nothing breaks.
			r.s.handlePunt(0, ip, iface, r.s.tables.Load())
			inj := r.s.dns.inject[0]
			inj.head.Store(inj.tail.Load())
			return
		}
		before := r.s.DNSStats()
		inj := r.s.dns.inject[0]
		injBefore := inj.tail.Load()
		resBefore := res.Stats()

		r.s.handlePunt(0, ip, iface, r.s.tables.Load())

		after := r.s.DNSStats()
		l4, src, dst := wholeUDP(ip)
		if l4 == nil {
			require.Empty(t, calls, "a packet without a whole UDP header reached the handler")
			require.Equal(t, before.Malformed+1, after.Malformed, "counted malformed")
			require.Equal(t, before.NoHandler, after.NoHandler)
			require.Equal(t, injBefore, inj.tail.Load())
			return
		}
		require.Equal(t, before.Malformed, after.Malformed, "a whole UDP datagram counted malformed")
		if int(iface) >= len(ifaces) {
			require.Empty(t, calls)
			require.Equal(t, before.NoHandler+1, after.NoHandler)
			return
		}
		require.Len(t, calls, 1)
		c := calls[0]
		ulen := int(binary.BigEndian.Uint16(l4[4:]))
		require.Equal(t, ifaces[iface].name, c.network)
		require.Len(t, c.query, ulen-8, "query length is the UDP length - 8")
		require.True(t, bytes.Equal(l4[8:ulen], c.query), "the query is the UDP payload")

		// The resolver counted the query under exactly one reason, and
		// answered unless it dropped it.
		resAfter := res.Stats()
		var moved []string
		for k, v := range resAfter {
			if v != resBefore[k] {
				require.Equal(t, resBefore[k]+1, v, k)
				moved = append(moved, k)
			}
		}
		require.Len(t, moved, 1, "one reason per query: %v", moved)
		require.Equal(t, moved[0] != dns.Dropped.String(), c.replied, "reason %s", moved[0])
		if !c.replied {
			require.Equal(t, injBefore, inj.tail.Load())
			return
		}
		require.Equal(t, binary.BigEndian.Uint16(c.query), binary.BigEndian.Uint16(c.resp), "reply keeps the query's ID")
		require.Equal(t, injBefore+1, inj.tail.Load(), "one answer on the inject ring")
		require.Equal(t, before.Replies+1, after.Replies)
		sl := &inj.slots[injBefore%puntSlots]
		require.Equal(t, iface, sl.iface, "the answer leaves by the query's interface")
		checkReply(t, sl.b[:sl.n], src, dst, binary.BigEndian.Uint16(l4[0:]), c.resp)
		inj.head.Store(inj.tail.Load()) // consumed
	}
	sport := uint16(1024)

	f.Fuzz(func(t *testing.T, ip []byte, iface uint16) {
		r.t = t
		calls = calls[:0]
		punt(t, ip, iface)
		calls = calls[:0]
		if sport++; sport == 0 {
			sport = 1024
		}
		dnsThroughPipeline(t, r, res, ip, iface&0x8000 != 0, sport)
	})
}

// dnsThroughPipeline sends payload as a DNS query from a (on ra) to the
// gateway's port 53 through the whole switch, whose handler is res: the
// switch never crashes or leaks a buffer; the query is punted and the
// resolver counts it under one reason; it gets an answer unless the
// resolver dropped it, and the answer comes back to the client as a
// well-formed UDP packet from the gateway's port 53 (checksums right)
// carrying a DNS response with the query's ID.
func dnsThroughPipeline(t *testing.T, r *rig, res *dns.Resolver, payload []byte, six bool, sport uint16) {
	// dnsThroughPipeline sends payload as a DNS query from a (on ra) to the
	// gateway's port 53 through the whole switch, whose handler is res: the
	// switch never crashes or leaks a buffer; the query is punted and the
	// resolver counts it under one reason; it gets an answer unless the
	// resolver dropped it, and the answer comes back to the client as a
	// well-formed UDP packet from the gateway's port 53 (checksums right)
	// carrying a DNS response with the query's ID.
	if len(payload) > 1400 {
		payload = payload[:1400] // an IP packet of at most 1,448 bytes
	}
	before, resBefore := r.s.DNSStats(), res.Stats()
	client, gw := "10.1.0.2", "10.1.0.1"
	frame := udp4p(macRA, macA, client, gw, sport, 53, string(payload))
	if six {
		client, gw = "fd01::2", "fd01::1"
		frame = udp6(macRA, macA, client, gw, sport, 53, string(payload))
	}
	r.send("a", frame)
	r.s.Poll() // the answer comes in through the inject ring
	got := r.recv()
	after := r.s.DNSStats()
	require.Equal(t, before.Punted+1, after.Punted, "punted")
	require.Equal(t, before.Malformed, after.Malformed)
	var moved []string
	for k, v := range res.Stats() {
		if v != resBefore[k] {
			require.Equal(t, resBefore[k]+1, v, k)
			moved = append(moved, k)
		}
	}
	require.Len(t, moved, 1, "one reason per query: %v", moved)
	answers := got["a"]
	delete(got, "a")
	require.Empty(t, got, "nothing leaves by another port")
	defer requireNoLeak(t, r.s)
	if moved[0] == dns.Dropped.String() {
		require.Empty(t, answers, "a dropped query gets no answer")
		return
	}
	require.Len(t, answers, 1, "reason %s: one answer", moved[0])
	require.Equal(t, before.Replies+1, after.Replies)
	out := answers[0]
	require.GreaterOrEqual(t, len(out), ethHdrLen)
	require.Equal(t, mustMAC(macA), net.HardwareAddr(out[0:6]), "to the client's MAC")
	require.Equal(t, mustMAC(macRA), net.HardwareAddr(out[6:12]), "from the gateway's MAC")
	ethType := uint16(0x0800)
	if six {
		ethType = 0x86dd
	}
	require.Equal(t, ethType, binary.BigEndian.Uint16(out[12:]))
	resp := checkReply(t, out[ethHdrLen:], netipMust(client), netipMust(gw), sport, nil)
	require.GreaterOrEqual(t, len(resp), 12, "a DNS header at least")
	require.Equal(t, payload[:2], resp[:2], "the query's ID")
	require.NotZero(t, resp[2]&0x80, "QR: a response")
	var m mdns.Msg
	require.NoError(t, m.Unpack(resp), "reason %s: the answer parses", moved[0])
	require.LessOrEqual(t, len(resp), 1232, "fits the resolver's UDP size")
}
