package vswitch

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// dnsTestHandler answers every query with "<network>:<query>" and
// records what it was asked.
type dnsTestHandler struct {
	mu    sync.Mutex
	asked []string
}

func (h *dnsTestHandler) handle(network string, q []byte, _ bool, reply func([]byte)) {
	h.mu.Lock()
	h.asked = append(h.asked, network+"/"+string(q))
	h.mu.Unlock()
	// A zero DNS header first, so that gopacket decodes the answer.
	reply(append(append(make([]byte, 12), network+":"...), q...))
}

func udp6(dstMAC, srcMAC, src, dst string, sport, dport uint16, payload string) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	must(udp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv6},
		ip, udp, gopacket.Payload([]byte(payload)))
}

func udp4p(dstMAC, srcMAC, src, dst string, sport, dport uint16, payload string) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	must(udp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload([]byte(payload)))
}

// TestDNSPunt: a query to the gateway's port 53 from an interface that
// answers DNS reaches the handler named by the interface, and its answer
// is routed back to the client from the gateway's address and port 53,
// IPv4 and IPv6, checksums right; an interface without DNS, or no
// handler, does not answer.
func TestDNSPunt(t *testing.T) {
	cfg := testL3Config()
	cfg.DNS = &DNS{Interfaces: []string{"ra"}}
	r := newL3Rig(t, cfg)
	h := &dnsTestHandler{}
	r.s.SetDNSHandler(h.handle)

	r.send("a", udp4p(macRA, macA, "10.1.0.2", "10.1.0.1", 33333, 53, "hello"))
	r.s.Poll() // the answer comes in through the inject ring
	out := only(t, r.recv(), "a", 1)[0]
	src, dst, sp, dp := tuple4(t, out)
	require.Equal(t, []any{"10.1.0.1", "10.1.0.2", uint16(53), uint16(33333)}, []any{src, dst, sp, dp})
	p := decodePkt(t, out)
	require.Equal(t, macRA, p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).SrcMAC.String())
	require.Equal(t, "ra:hello", string(p.Layer(layers.LayerTypeUDP).(*layers.UDP).Payload[12:]))

	// IPv6 to the interface's IPv6 address.
	r.send("a", udp6(macRA, macA, "fd01::2", "fd01::1", 33334, 53, "six"))
	r.s.Poll()
	out = only(t, r.recv(), "a", 1)[0]
	p = decodePkt(t, out)
	ip6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	u := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	require.Equal(t, []any{"fd01::1", "fd01::2", layers.UDPPort(53), layers.UDPPort(33334), "ra:six"},
		[]any{ip6.SrcIP.String(), ip6.DstIP.String(), u.SrcPort, u.DstPort, string(u.Payload[12:])})
	require.NoError(t, u.SetNetworkLayerForChecksum(ip6))
	want := udp6(macA, macRA, "fd01::1", "fd01::2", 53, 33334, string(make([]byte, 12))+"ra:six")
	require.Equal(t, binary.BigEndian.Uint16(want[14+40+6:]), u.Checksum, "UDP checksum over IPv6")

	// rb does not answer DNS: the query is dropped as before.
	r.send("b", udp4p(macRB, macB, "10.2.0.2", "10.2.0.1", 33335, 53, "no"))
	r.s.Poll()
	require.Empty(t, r.recv())
	// No handler: dropped and counted.
	r.s.SetDNSHandler(nil)
	r.send("a", udp4p(macRA, macA, "10.1.0.2", "10.1.0.1", 33336, 53, "nobody"))
	r.s.Poll()
	require.Empty(t, r.recv())
	st := r.s.DNSStats()
	require.EqualValues(t, 3, st.Punted)
	require.EqualValues(t, 2, st.Replies)
	require.EqualValues(t, 1, st.NoHandler)
	require.Equal(t, []string{"ra/hello", "ra/six"}, h.asked)
}

// TestDNSPuntAsync: an answer given later, from another goroutine,
// reaches the client.
func TestDNSPuntAsync(t *testing.T) {
	cfg := testL3Config()
	cfg.DNS = &DNS{Interfaces: []string{"ra"}}
	r := newL3Rig(t, cfg)
	later := make(chan func(), 1)
	r.s.SetDNSHandler(func(network string, q []byte, _ bool, reply func([]byte)) {
		later <- func() { reply(append(make([]byte, 12), "late"...)) }
	})
	r.send("a", udp4p(macRA, macA, "10.1.0.2", "10.1.0.1", 40000, 53, "q"))
	done := make(chan struct{})
	go func() { (<-later)(); close(done) }()
	<-done
	r.s.Poll()
	out := only(t, r.recv(), "a", 1)[0]
	p := decodePkt(t, out)
	require.Equal(t, "late", string(p.Layer(layers.LayerTypeUDP).(*layers.UDP).Payload[12:]))
}

// TestDNSPuntAllocations: the worker side of the punt path (queries
// copied onto the ring, answers taken from it and routed) allocates
// nothing.
func TestDNSPuntAllocations(t *testing.T) {
	cfg := testL3Config()
	cfg.DNS = &DNS{Interfaces: []string{"ra"}}
	r := newL3Rig(t, cfg)
	w := r.s.Workers()[0]
	q := repeatFrame(32, udp4p(macRA, macA, "10.1.0.2", "10.1.0.1", 33333, 53, "hello"))
	ans := udpPacket(netipMust("10.1.0.1"), netipMust("10.1.0.2"), 53, 33333, []byte("answer"))
	iface := uint16(0)
	for id, e := range r.s.tables.Load().ifaces {
		if e.name == "ra" {
			iface = uint16(id)
		}
	}
	for _, p := range r.ports {
		p.SetSink(true)
	}
	allocs := testing.AllocsPerRun(50, func() {
		r.ports["a"].Inject(0, q...)
		for range 32 {
			r.s.dns.inject[0].put(ans, iface)
		}
		w.Poll()
		punt := r.s.dns.punt[0]
		punt.head.Store(punt.tail.Load()) // consumed (the handler side is not the worker's)
	})
	require.Zero(t, allocs)
	require.Positive(t, r.ports["a"].Sunk())
	require.Positive(t, r.s.DNSStats().Punted)
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
