package nat

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

const (
	fSYN = 0x02
	fACK = 0x10
)

// rig is a switch's view of one worker: conntrack and NAT on the same
// packets, as the pipeline will wire them.
type rig struct {
	t   *testing.T
	ct  *conntrack.Table
	cw  *conntrack.Worker
	nt  *Table
	w   *Worker
	now uint32
	p   conntrack.Packet
}

func newRig(t *testing.T, cfg Config) *rig {
	ct, err := conntrack.New(conntrack.Config{Capacity: 1 << 12, Timeouts: conntrack.Timeouts{UDPUnreplied: 30}})
	require.NoError(t, err)
	nt, err := NewTable(cfg)
	require.NoError(t, err)
	require.NoError(t, nt.SetNetwork(Network{Name: "br0",
		Sources:   []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("fd00::/64")},
		External4: netip.MustParseAddr("203.0.113.1"), External6: netip.MustParseAddr("2001:db8:e::1"),
		Gateway4: netip.MustParseAddr("10.0.0.1"), Gateway6: netip.MustParseAddr("fd00::1")}))
	require.NoError(t, nt.SetUplinks([]netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("2001:db8:e::1")}))
	return &rig{t: t, ct: ct, cw: ct.NewWorker(), nt: nt, w: nt.NewWorker(ct), now: 100}
}

// send is the pipeline: track; commit a new flow (policy allows
// everything here); translate.
func (r *rig) send(pkt []byte) (conntrack.Result, Action, Reason) {
	res := r.cw.Track(&r.p, pkt, 0, r.now)
	var act Action
	if res.State == conntrack.StateNew && res.Conn == 0 {
		var reason Reason
		res, act, reason = r.w.Commit(r.cw, &r.p, r.now, 0)
		if reason != ReasonNone {
			return res, act, reason
		}
	}
	_, reason := r.w.Translate(pkt, &r.p, res, false)
	return res, act, reason
}

func (r *rig) counters() Counters { r.w.Publish(); return r.nt.Counters() }

func tcp(src, dst string, sport, dport uint16, flags uint8) *spec {
	a, b := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	return &spec{v6: a.Is6(), proto: protoTCP, src: conntrack.AddrFrom(a), dst: conntrack.AddrFrom(b),
		sport: sport, dport: dport, ttl: 64, tcpFlags: flags, payload: []byte("data")}
}

func echo(src, dst string, id uint16, reply bool) *spec {
	a, b := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	s := &spec{v6: a.Is6(), proto: protoICMP, src: conntrack.AddrFrom(a), dst: conntrack.AddrFrom(b), sport: id, ttl: 64, icmpType: 8}
	if s.v6 {
		s.proto, s.icmpType = protoICMPv6, 128
	}
	if reply {
		s.icmpType = map[bool]uint8{false: 0, true: 129}[s.v6]
	}
	return s
}

// errAbout is an ICMP error from src to dst quoting q (port/host
// unreachable, IPv6 destination unreachable).
func errAbout(src, dst string, q *spec) *spec {
	a, b := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	e := &spec{v6: a.Is6(), proto: protoICMP, icmpType: 3, src: conntrack.AddrFrom(a), dst: conntrack.AddrFrom(b), ttl: 64, quote: q, quoteLen: 1000}
	if e.v6 {
		e.proto, e.icmpType = protoICMPv6, 1
	}
	return e
}

// expect sends s and checks the packet became w, byte for byte (every
// checksum right).
func (r *rig) expect(s, w *spec) conntrack.Result {
	r.t.Helper()
	pkt := s.build()
	res, _, reason := r.send(pkt)
	require.Equal(r.t, ReasonNone, reason, reason.String())
	require.Equal(r.t, w.build(), pkt)
	return res
}

func TestMasquerade(t *testing.T) {
	for _, f := range [][4]string{{"10.0.0.5", "10.0.0.6", "198.51.100.7", "203.0.113.1"}, {"fd00::5", "fd00::6", "2001:db8:1::7", "2001:db8:e::1"}} {
		c1, c2, srv, ext := f[0], f[1], f[2], f[3]
		t.Run(srv, func(t *testing.T) {
			r := newRig(t, Config{})
			// The first flow keeps its port.
			res := r.expect(tcp(c1, srv, 5000, 80, fSYN), tcp(ext, srv, 5000, 80, fSYN))
			require.Equal(t, conntrack.StateNew, res.State)
			r.expect(tcp(srv, ext, 80, 5000, fSYN|fACK), tcp(srv, c1, 80, 5000, fSYN|fACK))
			r.expect(tcp(c1, srv, 5000, 80, fACK), tcp(ext, srv, 5000, 80, fACK))
			// Another container, same port, same server: another port.
			pkt := tcp(c2, srv, 5000, 80, fSYN).build()
			_, act, reason := r.send(pkt)
			require.Equal(t, ReasonNone, reason)
			require.Equal(t, ActSNAT, act)
			var p conntrack.Packet
			conntrack.Parse(&p, pkt, 0)
			port := p.Key.SrcPort
			require.NotEqual(t, uint16(5000), port)
			require.GreaterOrEqual(t, port, uint16(1024))
			require.Equal(t, tcp(ext, srv, port, 80, fSYN).build(), pkt)
			r.expect(tcp(srv, ext, 80, port, fSYN|fACK), tcp(srv, c2, 80, 5000, fSYN|fACK))
			// The same port to another server is a different flow: kept.
			r.expect(tcp(c2, "198.51.100.8", 5000, 80, fSYN), tcp(ext, "198.51.100.8", 5000, 80, fSYN))
			if srv[0] == '2' {
				r.expect(tcp(c2, "2001:db8:1::8", 5000, 80, fSYN), tcp(ext, "2001:db8:1::8", 5000, 80, fSYN))
			}
			// Inside the network: not translated.
			r.expect(tcp(c1, c2, 6000, 22, fSYN), tcp(c1, c2, 6000, 22, fSYN))

			// Ping: the identifier is kept, then changed for a second
			// container using the same one.
			r.expect(echo(c1, srv, 77, false), echo(ext, srv, 77, false))
			r.expect(echo(srv, ext, 77, true), echo(srv, c1, 77, true))
			pkt = echo(c2, srv, 77, false).build()
			_, _, reason = r.send(pkt)
			require.Equal(t, ReasonNone, reason)
			conntrack.Parse(&p, pkt, 0)
			id := p.Key.SrcPort
			require.NotEqual(t, uint16(77), id)
			r.expect(echo(srv, ext, id, true), echo(srv, c2, 77, true))

			// An error from a router outside about the translated SYN
			// reaches the container, quoting its SYN as it sent it.
			router := map[bool]string{false: "192.0.2.99", true: "2001:db8:99::1"}[srv[0] == '2']
			r.expect(errAbout(router, ext, tcp(ext, srv, port, 80, fSYN)), errAbout(router, c2, tcp(c2, srv, 5000, 80, fSYN)))
			// An error from the server itself (port unreachable).
			r.expect(errAbout(srv, ext, tcp(ext, srv, 5000, 80, fACK)), errAbout(srv, c1, tcp(c1, srv, 5000, 80, fACK)))
			// An error about the ping, cut after 8 bytes of it.
			e := errAbout(router, ext, echo(ext, srv, id, false))
			e.quoteLen = map[bool]int{false: 28, true: 48}[srv[0] == '2']
			w := errAbout(router, c2, echo(c2, srv, 77, false))
			w.quoteLen = e.quoteLen
			r.expect(e, w)

			c := r.counters()
			flows := uint64(5) // two TCP flows to srv, one to another server, two pings
			if srv[0] == '2' {
				flows++
			}
			require.Equal(t, flows, c.SNAT, "%+v", c)
			require.Zero(t, c.Reasons[ReasonPortsExhausted])
		})
	}
}

func TestPortMapping(t *testing.T) {
	r := newRig(t, Config{})
	require.NoError(t, r.nt.AddMap(Map{Proto: protoTCP, Host: netip.MustParseAddr("203.0.113.1"), HostPort: 8080, Target: netip.MustParseAddr("10.0.0.5"), TargetPort: 80}))
	require.NoError(t, r.nt.AddMap(Map{Proto: protoUDP, Host: netip.IPv4Unspecified(), HostPort: 5353, Target: netip.MustParseAddr("10.0.0.6"), TargetPort: 53}))
	require.NoError(t, r.nt.AddMap(Map{Proto: protoTCP, Host: netip.IPv6Unspecified(), HostPort: 443, Target: netip.MustParseAddr("fd00::5"), TargetPort: 8443}))

	// From outside to the mapped port.
	pkt := tcp("198.51.100.7", "203.0.113.1", 40000, 8080, fSYN).build()
	_, act, reason := r.send(pkt)
	require.Equal(t, ReasonNone, reason)
	require.Equal(t, ActDNAT, act)
	require.Equal(t, tcp("198.51.100.7", "10.0.0.5", 40000, 80, fSYN).build(), pkt)
	r.expect(tcp("10.0.0.5", "198.51.100.7", 80, 40000, fSYN|fACK), tcp("203.0.113.1", "198.51.100.7", 8080, 40000, fSYN|fACK))
	// Port 8080 on the other uplink address is not mapped (a specific
	// host address); UDP 5353 is mapped on both ("any").
	r.expect(tcp("198.51.100.7", "203.0.113.2", 40000, 8080, fSYN), tcp("198.51.100.7", "203.0.113.2", 40000, 8080, fSYN))
	udp := func(src, dst string, sp, dp uint16) *spec {
		s := tcp(src, dst, sp, dp, 0)
		s.proto = protoUDP
		return s
	}
	r.expect(udp("198.51.100.7", "203.0.113.2", 1000, 5353), udp("198.51.100.7", "10.0.0.6", 1000, 53))
	r.expect(udp("10.0.0.6", "198.51.100.7", 53, 1000), udp("203.0.113.2", "198.51.100.7", 5353, 1000))
	// Not on an address that is not an uplink's.
	r.expect(udp("198.51.100.7", "203.0.113.9", 1000, 5353), udp("198.51.100.7", "203.0.113.9", 1000, 5353))
	// IPv6 "any".
	r.expect(tcp("2001:db8:1::7", "2001:db8:e::1", 1000, 443, fSYN), tcp("2001:db8:1::7", "fd00::5", 1000, 8443, fSYN))
	r.expect(tcp("fd00::5", "2001:db8:1::7", 8443, 1000, fSYN|fACK), tcp("2001:db8:e::1", "2001:db8:1::7", 443, 1000, fSYN|fACK))
	// The container's port unreachable about a mapped UDP packet
	// reaches the client from the mapped address, quoting what it sent.
	r.expect(errAbout("10.0.0.6", "198.51.100.7", udp("198.51.100.7", "10.0.0.6", 1000, 53)),
		errAbout("203.0.113.2", "198.51.100.7", udp("198.51.100.7", "203.0.113.2", 1000, 5353)))

	// A container masquerading never takes a mapped port: fill the
	// range but 8080 with flows to one server... cheaper: a flow from
	// port 8080 is moved off it.
	pkt = tcp("10.0.0.9", "198.51.100.7", 8080, 80, fSYN).build()
	_, act, reason = r.send(pkt)
	require.Equal(t, ReasonNone, reason)
	require.Equal(t, ActSNAT, act)
	require.NotEqual(t, uint16(8080), binary.BigEndian.Uint16(pkt[20:]))

	c := r.counters()
	require.Equal(t, uint64(3), c.DNAT)

	// Removing the map: new flows are no longer translated; the
	// existing one is flushed with MapFlows.
	require.True(t, r.nt.DeleteMap(Map{Proto: protoTCP, Host: netip.MustParseAddr("203.0.113.1"), HostPort: 8080}))
	require.Equal(t, 1, r.ct.Flush(MapFlows(Map{Proto: protoTCP, Host: netip.MustParseAddr("203.0.113.1"), HostPort: 8080, Target: netip.MustParseAddr("10.0.0.5"), TargetPort: 80})))
	r.expect(tcp("198.51.100.7", "203.0.113.1", 40001, 8080, fSYN), tcp("198.51.100.7", "203.0.113.1", 40001, 8080, fSYN))
}

func TestHairpin(t *testing.T) {
	for _, f := range [][5]string{{"10.0.0.5", "10.0.0.6", "203.0.113.1", "10.0.0.1", "0.0.0.0"}, {"fd00::5", "fd00::6", "2001:db8:e::1", "fd00::1", "::"}} {
		c1, c2, host, gw, any := f[0], f[1], f[2], f[3], f[4]
		t.Run(c1, func(t *testing.T) {
			r := newRig(t, Config{})
			require.NoError(t, r.nt.AddMap(Map{Proto: protoTCP, Host: netip.MustParseAddr(any), HostPort: 8080, Target: netip.MustParseAddr(c2), TargetPort: 80}))
			pkt := tcp(c1, host, 5000, 8080, fSYN).build()
			_, act, reason := r.send(pkt)
			require.Equal(t, ReasonNone, reason)
			require.Equal(t, ActDNAT|ActSNAT|ActHairpin, act)
			require.Equal(t, tcp(gw, c2, 5000, 80, fSYN).build(), pkt, "source to the gateway, destination to the target")
			r.expect(tcp(c2, gw, 80, 5000, fSYN|fACK), tcp(host, c1, 8080, 5000, fSYN|fACK))
			// A container reaching its own mapped port.
			pkt = tcp(c2, host, 5000, 8080, fSYN).build()
			_, _, reason = r.send(pkt)
			require.Equal(t, ReasonNone, reason)
			var p conntrack.Packet
			conntrack.Parse(&p, pkt, 0)
			require.Equal(t, conntrack.AddrFrom(netip.MustParseAddr(gw)), p.Key.Src)
			require.NotEqual(t, uint16(5000), p.Key.SrcPort, "gw:5000 to c2:80 is taken by the first flow")
			r.expect(tcp(c2, gw, 80, p.Key.SrcPort, fSYN|fACK), tcp(host, c2, 8080, 5000, fSYN|fACK))
			require.Equal(t, uint64(2), r.counters().Hairpin)
		})
	}
}

// TestExhaustion: a range of 8 ports gives 8 flows to one server and
// refuses (counts) the ninth, never reusing a port; ports are free again
// when their flows expire.
func TestExhaustion(t *testing.T) {
	r := newRig(t, Config{UDP: PortRange{2000, 2007}})
	udp := func(src string, sp uint16) []byte {
		s := tcp(src, "198.51.100.7", sp, 53, 0)
		s.proto = protoUDP
		return s.build()
	}
	seen := map[uint16]bool{}
	for i := range 8 {
		pkt := udp("10.0.0."+itoa(10+i), 40000)
		_, _, reason := r.send(pkt)
		require.Equal(t, ReasonNone, reason, "flow %d", i)
		port := binary.BigEndian.Uint16(pkt[20:])
		require.True(t, port >= 2000 && port <= 2007, "port %d", port)
		require.False(t, seen[port], "port %d twice", port)
		seen[port] = true
	}
	pkt := udp("10.0.0.99", 40000)
	before := append([]byte(nil), pkt...)
	_, _, reason := r.send(pkt)
	require.Equal(t, ReasonPortsExhausted, reason)
	require.Equal(t, before, pkt)
	// Another server: a fresh set of tuples.
	s := tcp("10.0.0.99", "198.51.100.8", 40000, 53, 0)
	s.proto = protoUDP
	_, _, reason = r.send(s.build())
	require.Equal(t, ReasonNone, reason)
	c := r.counters()
	require.Equal(t, uint64(1), c.Reasons[ReasonPortsExhausted])
	require.Equal(t, uint64(9), c.SNAT)

	// A flow deleted (ended, flushed) gives its port back at once.
	pkt = udp("10.0.0.99", 40000)
	_, _, reason = r.send(pkt)
	require.Equal(t, ReasonPortsExhausted, reason)
	require.Equal(t, 1, r.ct.Flush(func(f *conntrack.Flow) bool {
		return f.Reply.DstPort == 2005 && f.Reply.Src == mustAddr("198.51.100.7")
	}))
	pkt = udp("10.0.0.99", 40000)
	_, _, reason = r.send(pkt)
	require.Equal(t, ReasonNone, reason)
	require.Equal(t, uint16(2005), binary.BigEndian.Uint16(pkt[20:]))

	// A flow from a port in the range keeps it only while it is free.
	r.now += 31 // past the unreplied UDP timeout: every flow expired
	pkt = udp("10.0.0.99", 40000)
	_, _, reason = r.send(pkt)
	require.Equal(t, ReasonNone, reason, "expired flows give their ports back")
	pkt = udp("10.0.0.98", 2003)
	_, _, reason = r.send(pkt)
	require.Equal(t, ReasonNone, reason)
	require.Equal(t, uint16(2003), binary.BigEndian.Uint16(pkt[20:]), "the expired holder of 2003 does not keep it")
}

func TestProtocolsRefused(t *testing.T) {
	r := newRig(t, Config{})
	s := tcp("10.0.0.5", "198.51.100.7", 1, 2, 0)
	s.proto, s.payload = protoSCTP, make([]byte, 12)
	_, _, reason := r.send(s.build())
	require.Equal(t, ReasonProto, reason)
	gre := tcp("10.0.0.5", "198.51.100.7", 0, 0, 0)
	gre.proto, gre.payload = 47, []byte{0, 0, 0x65, 0x58}
	want := *gre
	want.src = mustAddr("203.0.113.1")
	r.expect(gre, &want)
	// A second GRE flow from another container to the same peer has no
	// port to tell it apart.
	gre2 := *gre
	gre2.src = mustAddr("10.0.0.6")
	_, _, reason = r.send(gre2.build())
	require.Equal(t, ReasonPortsExhausted, reason)
}

// TestTranslateStale: a packet whose conntrack result no longer matches
// its entry (deleted, or reused for another flow) is refused, not
// rewritten with another flow's addresses.
func TestTranslateStale(t *testing.T) {
	r := newRig(t, Config{})
	pkt := tcp("10.0.0.5", "198.51.100.7", 5000, 80, fSYN).build()
	res, _, _ := r.send(pkt)
	p := r.p
	require.True(t, r.ct.Delete(res.Conn))
	pkt = tcp("10.0.0.5", "198.51.100.7", 5000, 80, fSYN).build()
	_, reason := r.w.Translate(pkt, &p, res, false)
	require.Equal(t, ReasonStale, reason)
	// The entry reused by another flow.
	res2, _, _ := r.send(tcp("10.0.0.6", "198.51.100.8", 5000, 80, fSYN).build())
	require.Equal(t, res.Conn, res2.Conn, "the entry was not reused")
	_, reason = r.w.Translate(pkt, &p, res, false)
	require.Equal(t, ReasonStale, reason)
	require.Equal(t, tcp("10.0.0.5", "198.51.100.7", 5000, 80, fSYN).build(), pkt)
	require.Equal(t, uint64(2), r.counters().Reasons[ReasonStale])
}

func TestWorkerAllocations(t *testing.T) {
	r := newRig(t, Config{})
	require.NoError(t, r.nt.AddMap(Map{Proto: protoTCP, Host: netip.IPv4Unspecified(), HostPort: 8080, Target: netip.MustParseAddr("10.0.0.6"), TargetPort: 80}))
	out := tcp("10.0.0.5", "198.51.100.7", 5000, 80, fSYN).build()
	r.send(out)
	back := tcp("198.51.100.7", "203.0.113.1", 80, 5000, fSYN|fACK)
	in := back.build()
	res := r.cw.Track(&r.p, in, 0, r.now)
	p := r.p
	buf := make([]byte, len(in))
	n := testing.AllocsPerRun(1000, func() {
		copy(buf, in)
		r.w.Translate(buf, &p, res, false)
	})
	require.Zero(t, n, "established")
	port := uint16(1)
	n = testing.AllocsPerRun(1000, func() {
		port++
		pkt := out[:len(out):len(out)]
		binary.BigEndian.PutUint16(pkt[20:], port)
		binary.BigEndian.PutUint32(pkt[12:], 10<<24|uint32(port)) // 10.0.x.y: a new flow each time
		r.cw.Track(&r.p, pkt, 0, r.now)
		r.w.Commit(r.cw, &r.p, r.now, 0)
		r.cw.Track(&r.p, in, 0, r.now)
	})
	require.Zero(t, n, "new flows")
}
