package vswitch

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
)

// The NAT rig with services that have no backend taking new flows: TCP
// 10.9.9.9:80 (its one backend, A, drained), UDP 10.9.9.9:53 and TCP and
// UDP [fd09::9]:80 and :53 (none), on a clock that moves only when told.
func newNoBackendRig(t *testing.T) (*rig, *time.Time) {
	now := time.Unix(1_000_000, 0)
	r := newRig(t, Options{Clock: func() time.Time { return now }})
	r.attach("a", "a2", "b", "b2")
	cfg := testNATConfig()
	cfg.NAT.Services = []Service{
		{Name: "web", Proto: "tcp", VIP: "10.9.9.9", Port: 80, Backends: []ServiceBackend{{Addr: "10.1.0.2", Drained: true}}},
		{Name: "dns", Proto: "udp", VIP: "10.9.9.9", Port: 53},
		{Name: "web6", Proto: "tcp", VIP: "fd09::9", Port: 80},
		{Name: "dns6", Proto: "udp", VIP: "fd09::9", Port: 53},
	}
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("a", frame(bcast(), macA, -1))
	r.send("a2", frame(bcast(), macA2, -1))
	r.send("b", frame(bcast(), macB, -1))
	r.recv()
	return r, &now
}

// nbTCP6 is tcp4 over IPv6.
func nbTCP6(dstMAC, srcMAC, src, dst string, sport, dport uint16, flags string) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	return tcpOver(dstMAC, srcMAC, layers.EthernetTypeIPv6, ip, sport, dport, flags)
}

// l4SumOK checks an IP packet's L4 checksum from scratch (RFC 1071 over
// the pseudo-header and the segment), and an IPv4 header's.
func l4SumOK(t *testing.T, ip []byte) {
	t.Helper()
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	fold := func() uint32 {
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		return sum
	}
	var seg []byte
	if ip[0]>>4 == 4 {
		hl := int(ip[0]&15) * 4
		add(ip[:hl])
		require.Equal(t, uint32(0xffff), fold(), "IPv4 header checksum")
		sum = 0
		seg = ip[hl:binary.BigEndian.Uint16(ip[2:])]
		add(ip[12:20])
		sum += uint32(ip[9]) + uint32(len(seg))
		if ip[9] == 1 { // ICMP: no pseudo-header
			sum = 0
		}
	} else {
		seg = ip[40 : 40+binary.BigEndian.Uint16(ip[4:])]
		add(ip[8:40])
		sum += uint32(ip[6]) + uint32(len(seg))
	}
	add(seg)
	require.Equal(t, uint32(0xffff), fold(), "L4 checksum")
}

// TestServiceNoBackendAnswered: a new flow to a service with no backend
// taking new flows is answered from the VIP instead of dropped in
// silence: a SYN with RST|ACK acknowledging it (connection refused), a
// segment with ACK (a connection whose backend was removed) with a RST
// whose sequence number is that acknowledgment, a UDP datagram with a
// port unreachable quoting it; IPv4 and IPv6, every checksum right. A
// RST gets no answer. Answers are rate limited (100 at once on a still
// clock, then 1 a millisecond). On the code before, every one of these
// was dropped (nat-no-backend) and the client hung until its own timeout.
func TestServiceNoBackendAnswered(t *testing.T) {
	r, now := newNoBackendRig(t)
	for _, c := range []struct {
		name     string
		pkt      []byte
		src, dst string
		v6       bool
		proto    layers.IPProtocol
		// TCP: the RST's flags, sequence and acknowledgment numbers.
		flags    uint8
		seq, ack uint32
	}{
		{"syn", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40000, 80, "S"), "10.9.9.9", "10.2.0.2", false, layers.IPProtocolTCP, tcpFlagRST | tcpFlagACK, 0, 1000 + 1 + 5},
		{"ack", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40001, 80, "A"), "10.9.9.9", "10.2.0.2", false, layers.IPProtocolTCP, tcpFlagRST, 2000, 0},
		{"fin ack", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40002, 80, "FA"), "", "", false, 0, 0, 0, 0}, // invalid: no new flow
		{"udp", udp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40003, 53), "10.9.9.9", "10.2.0.2", false, layers.IPProtocolICMPv4, 0, 0, 0},
		{"syn6", nbTCP6(macRB, macB, "fd02::2", "fd09::9", 40000, 80, "S"), "fd09::9", "fd02::2", true, layers.IPProtocolTCP, tcpFlagRST | tcpFlagACK, 0, 1000 + 1 + 5},
		{"ack6", nbTCP6(macRB, macB, "fd02::2", "fd09::9", 40001, 80, "A"), "fd09::9", "fd02::2", true, layers.IPProtocolTCP, tcpFlagRST, 2000, 0},
		{"udp6", udp6(macRB, macB, "fd02::2", "fd09::9", 40003, 53, "hello"), "fd09::9", "fd02::2", true, layers.IPProtocolICMPv6, 0, 0, 0},
		{"rst", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40004, 80, "R"), "", "", false, 0, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := append([]byte(nil), c.pkt...)
			r.send("b", c.pkt)
			got := r.recv()
			if c.src == "" {
				require.Empty(t, got, "no answer")
				return
			}
			out := only(t, got, "b", 1)[0]
			require.Equal(t, macB, net.HardwareAddr(out[0:6]).String(), "to the client")
			require.Equal(t, macRB, net.HardwareAddr(out[6:12]).String(), "from the router")
			p := decodePkt(t, out)
			ip := out[ethHdrLen:]
			l4SumOK(t, ip)
			var src, dst net.IP
			var l4 []byte
			if c.v6 {
				ip6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				require.Equal(t, c.proto, ip6.NextHeader)
				require.EqualValues(t, 64, ip6.HopLimit)
				src, dst, l4 = ip6.SrcIP, ip6.DstIP, ip6.Payload
			} else {
				ip4 := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				require.Equal(t, c.proto, ip4.Protocol)
				require.EqualValues(t, 64, ip4.TTL)
				src, dst, l4 = ip4.SrcIP, ip4.DstIP, ip4.Payload
			}
			require.Equal(t, c.src, src.String(), "from the VIP")
			require.Equal(t, c.dst, dst.String())
			switch c.proto {
			case layers.IPProtocolTCP:
				require.Len(t, l4, tcpRSTLen)
				require.Equal(t, []byte{0, 80}, l4[0:2], "from the service's port")
				hl := map[bool]int{false: 20, true: 40}[c.v6]
				require.Equal(t, orig[ethHdrLen+hl:][:2], l4[2:4], "to the client's port")
				require.Equal(t, c.seq, binary.BigEndian.Uint32(l4[4:]), "sequence number")
				require.Equal(t, c.ack, binary.BigEndian.Uint32(l4[8:]), "acknowledgment number")
				require.Equal(t, c.flags, l4[13], "flags")
			default:
				typ, code := uint8(3), uint8(3) // port unreachable
				if c.v6 {
					typ, code = 1, 4
				}
				require.Equal(t, []byte{typ, code}, l4[0:2])
				q := orig[ethHdrLen:]
				if c.v6 {
					q = q[:40+binary.BigEndian.Uint16(q[4:])]
				} else {
					q = q[:binary.BigEndian.Uint16(q[2:])]
				}
				require.Equal(t, q, l4[8:], "the datagram quoted as the client sent it")
			}
		})
	}
	// The RST and the FIN start no flow (conntrack: invalid), so no
	// service refused them.
	require.EqualValues(t, 6, dropCount(t, r.s, nodeNAT, "nat-no-backend"), "every refused packet counted")
	require.EqualValues(t, 2, dropCount(t, r.s, nodeNAT, "ct-invalid"))
	sc := r.s.ServiceStats()
	var nb uint64
	for _, s := range sc {
		nb += s.NoBackend
	}
	require.EqualValues(t, 6, nb)

	// The rate limit: 300 SYNs at once on a still clock, 100 answered.
	// Then one more a millisecond later.
	limited := dropCount(t, r.s, nodeNAT, "nat-reject-rate-limited")
	syns := make([][]byte, 0, 300)
	for i := range 300 {
		syns = append(syns, tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", uint16(41000+i), 80, "S"))
	}
	for i := 0; i < len(syns); i += 100 {
		r.send("b", syns[i:i+100]...)
	}
	answered := len(r.recv()["b"])
	require.Less(t, answered, 100, "a burst of 100 (6 spent above)")
	require.Greater(t, answered, 80)
	require.EqualValues(t, 300-answered, dropCount(t, r.s, nodeNAT, "nat-reject-rate-limited")-limited)
	*now = now.Add(time.Millisecond)
	r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 42000, 80, "S"))
	require.Len(t, r.recv()["b"], 1, "a token a millisecond")
}

// TestServiceNoBackendAllocations: answering refused flows allocates
// nothing: vectors of SYNs, ACKs (IPv4, IPv6) and UDP datagrams to
// services without backend, each answered (the clock moves a second a
// vector, so the rate limit never bites), and vectors beyond the limit.
func TestServiceNoBackendAllocations(t *testing.T) {
	r, now := newNoBackendRig(t)
	w := r.s.Workers()[0]
	for _, tc := range []struct {
		name  string
		frame []byte
		tick  time.Duration
	}{
		{"syn", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40000, 80, "S"), time.Second},
		{"ack", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40001, 80, "A"), time.Second},
		{"ack6", nbTCP6(macRB, macB, "fd02::2", "fd09::9", 40001, 80, "A"), time.Second},
		{"udp", udp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40003, 53), time.Second},
		{"udp6", udp6(macRB, macB, "fd02::2", "fd09::9", 40003, 53, "hello"), time.Second},
		{"rate limited", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40000, 80, "S"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			*now = now.Add(time.Second)
			r.send("b", tc.frame)
			require.Len(t, r.recv()["b"], 1, "answered")
			for _, q := range r.ports {
				q.SetSink(true)
			}
			defer func() {
				for _, q := range r.ports {
					q.SetSink(false)
				}
			}()
			batches := make([][][]byte, 51)
			for b := range batches {
				batches[b] = repeatFrame(64, tc.frame)
			}
			run := 0
			limited := dropCount(t, r.s, nodeNAT, "nat-reject-rate-limited")
			allocs := testing.AllocsPerRun(50, func() {
				*now = now.Add(tc.tick)
				r.ports["b"].Inject(0, batches[run]...)
				run++
				w.Poll()
			})
			require.Zero(t, allocs, "allocations per poll")
			if tc.tick != 0 {
				require.Equal(t, limited, dropCount(t, r.s, nodeNAT, "nat-reject-rate-limited"), "every packet answered")
			} else {
				require.Positive(t, dropCount(t, r.s, nodeNAT, "nat-reject-rate-limited")-limited)
			}
			requireNoLeak(t, r.s)
		})
	}
}

// TestServiceNoBackendChain: a 20,000-byte GSO segment in a chain of
// buffers (a tap's, with a partial checksum) to a service without backend
// is answered by one plain RST in its first buffer, the rest of the
// chain freed.
func TestServiceNoBackendChain(t *testing.T) {
	r, now := newNoBackendRig(t)
	*now = now.Add(time.Second)
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP("10.2.0.2"), DstIP: net.ParseIP("10.9.9.9")}
	tcp := &layers.TCP{SrcPort: 40100, DstPort: 80, Seq: 5, Ack: 777, ACK: true, Window: 512}
	must(tcp.SetNetworkLayerForChecksum(ip))
	big := serialize(&layers.Ethernet{DstMAC: mustMAC(macRB), SrcMAC: mustMAC(macB), EthernetType: layers.EthernetTypeIPv4},
		ip, tcp, gopacket.Payload(make([]byte, 20000)))
	entry, ok := r.s.graph.Index(nodeL2Input)
	require.True(t, ok)
	r.s.Workers()[0].Inject(entry, []pipeline.BufID{gsoChain(t, r, big, 1448, "b")})
	out := only(t, r.recv(), "b", 1)[0]
	l4SumOK(t, out[ethHdrLen:])
	require.Len(t, out, ethHdrLen+20+tcpRSTLen)
	rst := out[ethHdrLen+20:]
	require.Equal(t, []byte{0, 80, 0x9c, 0xa4}, rst[:4], "ports")
	require.EqualValues(t, 777, binary.BigEndian.Uint32(rst[4:]), "sequence number: the segment's acknowledgment")
	require.Equal(t, uint8(tcpFlagRST), rst[13])
	requireNoLeak(t, r.s)
}

// TestServiceNoBackendTraced: a trace says a refused flow was answered,
// not "dropped: cannot be translated".
func TestServiceNoBackendTraced(t *testing.T) {
	r, _ := newNoBackendRig(t)
	require.NoError(t, r.s.TraceAdd("b", 1, nil))
	r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", 40010, 80, "S"))
	only(t, r.recv(), "b", 1)
	trs := r.s.Traces()
	require.Len(t, trs, 1)
	var detail string
	for _, h := range trs[0].Hops {
		if h.Node == nodeNAT {
			detail = h.Detail
		}
	}
	require.Contains(t, detail, "no backend of the service takes new flows; answered from the VIP")
}
