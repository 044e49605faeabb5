package vswitch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// The L3 rig: ports a and b on bridges bra and brb, router interfaces ra
// (10.1.0.1/24, fd01::1/64) and rb (10.2.0.1/24, fd02::1/64). Hosts: A on
// a (10.1.0.2, fd01::2), B on b (10.2.0.2, fd02::2).
const (
	macRA = "02:00:00:00:0a:01"
	macRB = "02:00:00:00:0b:01"
	macA  = "02:00:00:00:00:0a"
	macB  = "02:00:00:00:00:0b"
)

func testL3Config() Config {
	return Config{
		Bridges: []Bridge{
			{Name: "bra", Ports: []Port{{Name: "a"}}},
			{Name: "brb", Ports: []Port{{Name: "b"}, {Name: "b2"}}},
		},
		Interfaces: []Interface{
			{Name: "ra", Bridge: "bra", MAC: macRA, Addrs: []string{"10.1.0.1/24", "fd01::1/64"}},
			{Name: "rb", Bridge: "brb", MAC: macRB, Addrs: []string{"10.2.0.1/24", "fd02::1/64"}, MTU: 1400},
		},
		Neighbors: []Neighbor{
			{Interface: "ra", Addr: "10.1.0.2", MAC: macA},
			{Interface: "rb", Addr: "10.2.0.2", MAC: macB},
			{Interface: "ra", Addr: "fd01::2", MAC: macA},
			{Interface: "rb", Addr: "fd02::2", MAC: macB},
		},
	}
}

func newL3Rig(t *testing.T, cfg Config) *rig {
	r := newRig(t, Options{})
	r.attach("a", "b", "b2")
	require.NoError(t, r.s.Reconfigure(cfg))
	// Teach the L2 tables where A and B are (as their own ARP would).
	r.send("a", frame(bcast(), macA, -1))
	r.send("b", frame(bcast(), macB, -1))
	r.recv()
	return r
}

// pkt4 is an Ethernet/IPv4/UDP frame.
func pkt4(dstMAC, srcMAC, src, dst string, ttl uint8, sport uint16, payload int, df bool) []byte {
	ip := &layers.IPv4{Version: 4, TTL: ttl, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	if df {
		ip.Flags = layers.IPv4DontFragment
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 9}
	must(udp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload(make([]byte, payload)))
}

func pkt6(dstMAC, srcMAC, src, dst string, hop uint8, sport uint16, payload int) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: hop, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 9}
	must(udp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv6},
		ip, udp, gopacket.Payload(make([]byte, payload)))
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	must(gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	return buf.Bytes()
}

func decodePkt(t *testing.T, b []byte) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	require.Nil(t, p.ErrorLayer(), "does not decode: %v", p.ErrorLayer())
	return p
}

// ipv4ChecksumOK recomputes the header checksum from scratch.
func ipv4ChecksumOK(t *testing.T, ip *layers.IPv4) {
	t.Helper()
	h := append([]byte(nil), ip.Contents...)
	h[10], h[11] = 0, 0
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xFFFF {
		sum = sum&0xFFFF + sum>>16
	}
	require.Equal(t, ^uint16(sum), ip.Checksum, "IPv4 header checksum")
}

func only(t *testing.T, got map[string][][]byte, port string, n int) [][]byte {
	t.Helper()
	require.Len(t, got, 1, "frames went to %v", keys(got))
	require.Len(t, got[port], n)
	return got[port]
}

func TestRouteIPv4(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	for _, ttl := range []uint8{2, 3, 64, 128, 255} {
		r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", ttl, 1000, 18, false))
		out := only(t, r.recv(), "b", 1)[0]
		p := decodePkt(t, out)
		eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		require.Equal(t, macB, eth.DstMAC.String())
		require.Equal(t, macRB, eth.SrcMAC.String())
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		require.Equal(t, ttl-1, ip.TTL)
		ipv4ChecksumOK(t, ip)
	}
	// Ethernet padding is trimmed: a 60-byte frame with a 28-byte packet
	// leaves as 14+28 bytes.
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1000, 0, false))
	out := only(t, r.recv(), "b", 1)[0]
	require.Len(t, out, 14+28)
}

func TestRouteIPv6(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	r.send("a", pkt6(macRA, macA, "fd01::2", "fd02::2", 7, 1000, 18))
	p := decodePkt(t, only(t, r.recv(), "b", 1)[0])
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	require.Equal(t, macB, eth.DstMAC.String())
	require.Equal(t, macRB, eth.SrcMAC.String())
	require.EqualValues(t, 6, p.Layer(layers.LayerTypeIPv6).(*layers.IPv6).HopLimit)
}

// TestL3Errors: TTL/hop limit expiry, too big, no route: ICMP errors back
// to the sender, from the ingress interface's address, quoting the
// original.
func TestL3Errors(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	for _, tc := range []struct {
		name      string
		frame     []byte
		typ, code uint8
		aux       uint32
		v6        bool
	}{
		{"ttl", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 1, 1, 18, false), 11, 0, 0, false},
		{"frag needed", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1, 1400, true), 3, 4, 1400, false},
		{"no route", pkt4(macRA, macA, "10.1.0.2", "10.77.0.2", 9, 1, 18, false), 3, 0, 0, false},
		{"hop limit", pkt6(macRA, macA, "fd01::2", "fd02::2", 1, 1, 18), 3, 0, 0, true},
		{"too big", pkt6(macRA, macA, "fd01::2", "fd02::2", 9, 1, 1400), 2, 0, 1400, true},
		{"no route6", pkt6(macRA, macA, "fd01::2", "fd77::2", 9, 1, 18), 1, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.send("a", tc.frame)
			p := decodePkt(t, only(t, r.recv(), "a", 1)[0])
			eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			require.Equal(t, macA, eth.DstMAC.String())
			require.Equal(t, macRA, eth.SrcMAC.String())
			if tc.v6 {
				ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				require.Equal(t, "fd01::1", ip.SrcIP.String())
				require.Equal(t, "fd01::2", ip.DstIP.String())
				ic := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				require.Equal(t, tc.typ, ic.TypeCode.Type())
				require.Equal(t, tc.code, ic.TypeCode.Code())
				// The checksum covers the pseudo-header: gopacket verifies.
				require.NoError(t, ic.SetNetworkLayerForChecksum(ip))
				require.Equal(t, tc.frame[14:54], ic.Payload[4:44], "quotes the original header")
				if tc.aux != 0 {
					require.EqualValues(t, tc.aux, uint32(ic.Payload[0])<<24|uint32(ic.Payload[1])<<16|uint32(ic.Payload[2])<<8|uint32(ic.Payload[3]))
				}
				return
			}
			ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			ipv4ChecksumOK(t, ip)
			require.Equal(t, "10.1.0.1", ip.SrcIP.String())
			require.Equal(t, "10.1.0.2", ip.DstIP.String())
			ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			require.Equal(t, tc.typ, ic.TypeCode.Type())
			require.Equal(t, tc.code, ic.TypeCode.Code())
			if tc.aux != 0 {
				require.EqualValues(t, tc.aux, ic.Seq, "next-hop MTU")
			}
			require.Equal(t, tc.frame[14:34], ic.Payload[:20], "quotes the original header")
		})
	}
}

func TestL3Local(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	// Echo to the switch's address on the other interface.
	echo := serialize(&layers.Ethernet{DstMAC: mustMAC(macRA), SrcMAC: mustMAC(macA), EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP("10.1.0.2"), DstIP: net.ParseIP("10.2.0.1")},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 7, Seq: 3}, gopacket.Payload("hello"))
	r.send("a", echo)
	p := decodePkt(t, only(t, r.recv(), "a", 1)[0])
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	require.Equal(t, "10.2.0.1", ip.SrcIP.String())
	ipv4ChecksumOK(t, ip)
	ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	require.EqualValues(t, 0, ic.TypeCode.Type())
	require.EqualValues(t, 3, ic.Seq)
	require.Equal(t, "hello", string(ic.Payload))

	// ARP request for the interface address: answered; the sender is
	// learned as a neighbor.
	r.send("a", serializeARPRequest("10.1.0.9", "10.1.0.1"))
	p = decodePkt(t, only(t, r.recv(), "a", 1)[0])
	rep := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	require.EqualValues(t, 2, rep.Operation)
	require.Equal(t, macRA, net.HardwareAddr(rep.SourceHwAddress).String())
	require.Equal(t, "10.1.0.1", net.IP(rep.SourceProtAddress).String())
	require.Equal(t, "02:00:00:00:00:0c", p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).DstMAC.String())
	r.s.Poll()
	require.Contains(t, r.s.Neighbors(), NeighborEntry{Interface: "ra", Addr: "10.1.0.9", MAC: "02:00:00:00:00:0c"})

	// Neighbor solicitation for fd01::1: advertised back.
	ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: net.ParseIP("fd01::1"),
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: mustMAC("02:00:00:00:00:0d")}}}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP("fd01::9"), DstIP: net.ParseIP("ff02::1:ff00:1")}
	ic6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)}
	must(ic6.SetNetworkLayerForChecksum(ip6))
	r.send("a", serialize(&layers.Ethernet{DstMAC: mustMAC("33:33:ff:00:00:01"), SrcMAC: mustMAC("02:00:00:00:00:0d"), EthernetType: layers.EthernetTypeIPv6}, ip6, ic6, ns))
	p = decodePkt(t, only(t, r.recv(), "a", 1)[0])
	na, ok := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
	require.True(t, ok, "no NA: %v", p)
	require.Equal(t, "fd01::1", na.TargetAddress.String())
	require.True(t, na.Solicited())
	require.Equal(t, "fd01::9", p.Layer(layers.LayerTypeIPv6).(*layers.IPv6).DstIP.String())
	r.s.Poll()
	require.Contains(t, r.s.Neighbors(), NeighborEntry{Interface: "ra", Addr: "fd01::9", MAC: "02:00:00:00:00:0d"})
}

// TestGlean: a packet to an unresolved host is dropped and counted, and an
// ARP request (IPv6: a neighbor solicitation) goes out instead; the reply
// resolves it and the next packet is routed.
func TestGlean(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.7", 9, 1, 18, false))
	got := r.recv()
	require.Equal(t, []string{"b", "b2"}, keys(got), "the ARP request floods brb")
	p := decodePkt(t, got["b"][0])
	req := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	require.EqualValues(t, 1, req.Operation)
	require.Equal(t, "10.2.0.7", net.IP(req.DstProtAddress).String())
	require.Equal(t, "10.2.0.1", net.IP(req.SourceProtAddress).String())
	require.Equal(t, uint64(1), allDrops(r.s)[nodeIP4Glean+"/unresolved"])

	rep := serialize(&layers.Ethernet{DstMAC: mustMAC(macRB), SrcMAC: mustMAC("02:00:00:00:00:77"), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 2, SourceHwAddress: mustMAC("02:00:00:00:00:77"), SourceProtAddress: net.ParseIP("10.2.0.7").To4(),
			DstHwAddress: mustMAC(macRB), DstProtAddress: net.ParseIP("10.2.0.1").To4()})
	r.send("b2", rep)
	require.Empty(t, r.recv())
	r.s.Poll()
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.7", 9, 1, 18, false))
	out := only(t, r.recv(), "b2", 1)[0] // learned on b2 by L2 as well
	require.Equal(t, "02:00:00:00:00:77", decodePkt(t, out).Layer(layers.LayerTypeEthernet).(*layers.Ethernet).DstMAC.String())

	r.send("a", pkt6(macRA, macA, "fd01::2", "fd02::7", 9, 1, 18))
	got = r.recv()
	require.Equal(t, []string{"b", "b2"}, keys(got))
	p = decodePkt(t, got["b"][0])
	ns, ok := p.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
	require.True(t, ok, "no NS: %v", p)
	require.Equal(t, "fd02::7", ns.TargetAddress.String())
}

// TestECMP: flows spread over the next hops of a route, and each flow
// always takes the same one.
func TestECMP(t *testing.T) {
	cfg := testL3Config()
	var hops []NextHop
	for i := 2; i <= 5; i++ {
		a := fmt.Sprintf("10.2.0.%d", i)
		hops = append(hops, NextHop{Addr: a})
		if i > 2 {
			cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "rb", Addr: a, MAC: macN(i)})
		}
	}
	cfg.Routes = []Route{{Prefix: "10.50.0.0/16", Via: hops}}
	r := newL3Rig(t, cfg)
	chosen := map[uint16]string{}
	used := map[string]int{}
	for round := 0; round < 3; round++ {
		for sport := uint16(1); sport <= 64; sport++ {
			r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.50.1.1", 9, sport, 18, false))
			got := r.recv()
			var dst string
			for _, fs := range got {
				require.Len(t, fs, 1)
				dst = decodePkt(t, fs[0]).Layer(layers.LayerTypeEthernet).(*layers.Ethernet).DstMAC.String()
			}
			if round == 0 {
				chosen[sport] = dst
				used[dst]++
			} else {
				require.Equal(t, chosen[sport], dst, "flow %d changed path", sport)
			}
		}
	}
	require.Len(t, used, 4, "64 flows should use all 4 next hops: %v", used)
}

func TestBlackholeAndVRF(t *testing.T) {
	cfg := testL3Config()
	cfg.Routes = []Route{{Prefix: "10.60.0.0/16", Blackhole: true}}
	cfg.VRFs = []VRF{{Name: "red"}}
	cfg.Interfaces[1].VRF = "red" // rb leaves the default VRF
	cfg.Neighbors = cfg.Neighbors[:1]
	cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "rb", Addr: "10.2.0.2", MAC: macB})
	r := newL3Rig(t, cfg)
	before := allDrops(r.s)
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.60.0.1", 9, 1, 18, false))
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeIP4Forward + "/blackhole": 1}, dropsSince(r.s, before))
	// 10.2.0.0/24 is in red now: from the default VRF there is no route.
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1, 18, false))
	p := decodePkt(t, only(t, r.recv(), "a", 1)[0])
	require.EqualValues(t, 3, p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4).TypeCode.Type())
}

func TestL3ConfigErrors(t *testing.T) {
	base := testL3Config
	for _, tc := range []struct {
		path string
		edit func(c *Config)
	}{
		{"interfaces[x].bridge", func(c *Config) { c.Interfaces = append(c.Interfaces, Interface{Name: "x", Bridge: "nope"}) }},
		{"interfaces[x]", func(c *Config) { c.Interfaces = append(c.Interfaces, Interface{Name: "x", Bridge: "bra"}) }},
		{"interfaces[x].port", func(c *Config) { c.Interfaces = append(c.Interfaces, Interface{Name: "x", Port: "a"}) }},
		{"interfaces[ra].addrs[0]", func(c *Config) { c.Interfaces[0].Addrs[0] = "10.1.0.0/24" }},
		{"interfaces[ra].addrs[0]", func(c *Config) { c.Interfaces[0].Addrs[0] = "10.1.0.255/24" }},
		{"interfaces[rb].addrs[0]", func(c *Config) { c.Interfaces[1].Addrs[0] = "10.1.0.7/16" }},
		{"interfaces[ra].vrf", func(c *Config) { c.Interfaces[0].VRF = "nope" }},
		{"interfaces[rb].mtu", func(c *Config) { c.Interfaces[1].MTU = 1000 }}, // has IPv6
		{"interfaces[rb].mac", func(c *Config) { c.Interfaces[1].MAC = macRA }},
		{"routes[0].prefix", func(c *Config) { c.Routes = []Route{{Prefix: "10.9.0.1/16", Blackhole: true}} }},
		{"routes[0].via[0]", func(c *Config) { c.Routes = []Route{{Prefix: "10.9.0.0/16", Via: []NextHop{{Addr: "10.77.0.1"}}}} }},
		{"routes[0].via[0]", func(c *Config) { c.Routes = []Route{{Prefix: "10.9.0.0/16", Via: []NextHop{{Addr: "fd01::5"}}}} }},
		{"routes[0].via[0]", func(c *Config) { c.Routes = []Route{{Prefix: "10.9.0.0/16", Via: []NextHop{{Addr: "10.1.0.1"}}}} }},
		{"routes[0]", func(c *Config) { c.Routes = []Route{{Prefix: "10.9.0.0/16"}} }},
		{"routes[0]", func(c *Config) { c.Routes = []Route{{Prefix: "10.1.0.0/24", Blackhole: true}} }},
		{"routes[1]", func(c *Config) {
			c.Routes = []Route{{Prefix: "10.9.0.0/16", Blackhole: true}, {Prefix: "10.9.0.0/16", Blackhole: true}}
		}},
		{"neighbors[4].interface", func(c *Config) {
			c.Neighbors = append(c.Neighbors, Neighbor{Interface: "x", Addr: "10.1.0.3", MAC: macA})
		}},
		{"neighbors[4].mac", func(c *Config) {
			c.Neighbors = append(c.Neighbors, Neighbor{Interface: "ra", Addr: "10.1.0.3", MAC: bcast()})
		}},
		{"vrfs[0]", func(c *Config) { c.VRFs = []VRF{{Name: DefaultVRF}} }},
		{"bridges[0].name", func(c *Config) { c.Bridges[0].Name = "port:x" }},
	} {
		c := base()
		tc.edit(&c)
		err := c.Validate()
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%s: %v", tc.path, err)
		require.Equal(t, tc.path, ce.Path, "%v", err)
	}
	// Accepted and normalized: host bits masked nowhere, defaults filled.
	c := base()
	c.Routes = []Route{{Prefix: "10.9.0.0/16", Via: []NextHop{{Addr: "10.2.0.9"}}}, {Prefix: "fd09::/32", Via: []NextHop{{Interface: "rb"}}}}
	n, l3, err := c.normalize()
	require.NoError(t, err)
	require.Equal(t, DefaultMTU, n.Interfaces[0].MTU)
	require.Equal(t, DefaultVRF, n.Interfaces[0].VRF)
	require.Equal(t, uint16(2), l3.routes[0].hops[0].iface)
	require.Equal(t, netip.MustParsePrefix("fd09::/32"), l3.routes[1].prefix)
}

// TestRouteChangesInPlace: routes added, replaced and removed through
// Reconfigure take effect, and only the difference touches the FIB.
func TestRouteChangesInPlace(t *testing.T) {
	cfg := testL3Config()
	r := newL3Rig(t, cfg)
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.70.0.1", 9, 1, 18, false))
	require.Equal(t, []string{"a"}, keys(r.recv()), "no route yet: ICMP back")
	cfg.Routes = []Route{{Prefix: "10.70.0.0/16", Via: []NextHop{{Addr: "10.2.0.2"}}}}
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.70.0.1", 9, 1, 18, false))
	only(t, r.recv(), "b", 1)
	cfg.Routes[0].Blackhole, cfg.Routes[0].Via = true, nil
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.70.0.1", 9, 1, 18, false))
	require.Empty(t, r.recv())
	cfg.Routes = nil
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.70.0.1", 9, 1, 18, false))
	require.Equal(t, []string{"a"}, keys(r.recv()))
	require.Len(t, r.s.l3.installed, 8, "connected and local routes of 4 addresses remain")
}

// serializeARPRequest is a broadcast ARP request from 02:00:00:00:00:0c.
func serializeARPRequest(from, target string) []byte {
	return serialize(&layers.Ethernet{DstMAC: mustMAC(bcast()), SrcMAC: mustMAC("02:00:00:00:00:0c"), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: mustMAC("02:00:00:00:00:0c"), SourceProtAddress: net.ParseIP(from).To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(target).To4()})
}

// TestNeighborRefreshProbe: a learned neighbor in use that has not been
// confirmed for half its age is probed (an ARP request goes out) while
// traffic to it keeps flowing.
func TestNeighborRefreshProbe(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	// 10.2.0.7 asks for the gateway: the switch learns it.
	req := serialize(&layers.Ethernet{DstMAC: mustMAC(bcast()), SrcMAC: mustMAC("02:00:00:00:00:77"), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: mustMAC("02:00:00:00:00:77"), SourceProtAddress: net.ParseIP("10.2.0.7").To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP("10.2.0.1").To4()})
	r.send("b2", req)
	r.recv()
	r.s.Poll()
	pkt := pkt4(macRA, macA, "10.1.0.2", "10.2.0.7", 9, 1, 18, false)
	r.send("a", pkt)
	require.Equal(t, []string{"b2"}, keys(r.recv()), "fresh: routed, no probe")

	r.clock.advance(200 * time.Second) // past half the 300 s age
	r.s.Age()
	before := allDrops(r.s)
	r.send("a", pkt)
	got := r.recv()
	require.Contains(t, got, "b", "the probe is flooded in brb")
	var routed, probes int
	for _, fs := range got {
		for _, b := range fs {
			p := decodePkt(t, b)
			if a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
				require.Equal(t, "10.2.0.7", net.IP(a.DstProtAddress).String())
				probes++
			} else {
				routed++
			}
		}
	}
	require.Equal(t, 1, routed, "the packet itself is still routed")
	require.Equal(t, 2, probes, "one probe, flooded to b and b2")
	require.Empty(t, dropsSince(r.s, before), "probes are not drops")
	requireNoLeak(t, r.s)
}

// TestL3Fragment: a routed IPv4 packet larger than rb's MTU (1400)
// without DF is cut into fragments (RFC 1812 4.2.2.7): each leaves on
// rb to B with the TTL decremented, a valid header checksum, offsets in
// 8-byte units, "more fragments" on all but the last (which keeps the
// original's, so a fragment is cut again as a datagram would be), and
// the pieces put together are the original's payload. With DF the
// packet gets "fragmentation needed" instead (TestL3Errors).
func TestL3Fragment(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	for _, tc := range []struct {
		name      string
		off       uint16 // the packet's own offset (8-byte units) and MF
		more      bool
		wantPiece []int // payload bytes per fragment
	}{
		{"datagram", 0, false, []int{1376, 432}},
		{"first fragment", 0, true, []int{1376, 432}},
		{"later fragment", 300, false, []int{1376, 432}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1, 1800, false)
			ip := frame[14:]
			for i := 28; i < len(ip); i++ {
				ip[i] = byte(i * 13)
			}
			fo := tc.off
			if tc.more {
				fo |= 0x2000
			}
			binary.BigEndian.PutUint16(ip[6:], fo)
			ip[10], ip[11] = 0, 0
			binary.BigEndian.PutUint16(ip[10:], ^onesSum(ip[:20], 0))
			r.send("a", frame)
			got := only(t, r.recv(), "b", len(tc.wantPiece))
			var payload []byte
			for k, g := range got {
				require.Equal(t, macB, net.HardwareAddr(g[0:6]).String())
				require.Equal(t, macRB, net.HardwareAddr(g[6:12]).String())
				gip := g[14:]
				require.Equal(t, uint16(0xffff), onesSum(gip[:20], 0), "fragment %d's header checksum", k)
				require.EqualValues(t, 8, gip[8], "TTL")
				require.Equal(t, ip[12:20], gip[12:20])
				require.Equal(t, 20+tc.wantPiece[k], int(binary.BigEndian.Uint16(gip[2:])))
				require.Len(t, gip, 20+tc.wantPiece[k])
				ff := binary.BigEndian.Uint16(gip[6:])
				require.Equal(t, int(tc.off)+len(payload)/8, int(ff&0x1fff), "fragment %d's offset", k)
				require.Equal(t, k < len(got)-1 || tc.more, ff&0x2000 != 0, "fragment %d's MF", k)
				require.Zero(t, ff&0x4000, "DF")
				payload = append(payload, gip[20:]...)
			}
			require.Equal(t, ip[20:], payload, "the pieces put together")
		})
	}
	require.Zero(t, dropCount(t, r.s, nodeIP4Forward, "mtu-exceeded"))
	// IP options: not cut, dropped as before.
	frame := pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1, 1800, false)
	withOpts := append(append(append([]byte{}, frame[:34]...), 1, 1, 1, 0), frame[34:]...) // NOP NOP NOP EOL
	ip := withOpts[14:]
	ip[0] = 0x46
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], ^onesSum(ip[:24], 0))
	r.send("a", withOpts)
	require.Empty(t, r.recv())
	require.EqualValues(t, 1, dropCount(t, r.s, nodeIP4Forward, "mtu-exceeded"))
	// A fragment whose pieces would end past 64 KiB (offset 8150, 1,808
	// bytes): not cut into pieces whose offsets wrap.
	frame = pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1, 1800, false)
	ip = frame[14:]
	binary.BigEndian.PutUint16(ip[6:], 8150)
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], ^onesSum(ip[:20], 0))
	r.send("a", frame)
	require.Empty(t, r.recv())
	require.EqualValues(t, 2, dropCount(t, r.s, nodeIP4Forward, "mtu-exceeded"))
}
