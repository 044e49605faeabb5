package vswitch

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/policy/nat"
)

// The NAT rig: the containers' network ra (10.1.0.1/24 on bra: A at
// 10.1.0.2 on port a, A2 at 10.1.0.3 on port a2) hides behind the uplink
// interface rb (10.2.0.1/24 on brb), where B (10.2.0.2, port b) plays
// the outside world.
const macA2 = "02:00:00:00:00:a2"

func testNATConfig() Config {
	c := testL3Config()
	c.Bridges[0].Ports = append(c.Bridges[0].Ports, Port{Name: "a2"})
	c.Neighbors = append(c.Neighbors, Neighbor{Interface: "ra", Addr: "10.1.0.3", MAC: macA2})
	c.NAT = &NAT{
		Masquerade: []Masquerade{{Interface: "ra", External: "rb"}},
		PortMaps: []PortMap{
			{Proto: "tcp", HostPort: 8080, Target: "10.1.0.2", TargetPort: 80},
			{Proto: "udp", Host: "10.2.0.1", HostPort: 6000, Target: "10.1.0.3"},
		},
	}
	return c
}

func newNATRig(t *testing.T) *rig {
	r := newRig(t, Options{})
	r.attach("a", "a2", "b", "b2")
	require.NoError(t, r.s.Reconfigure(testNATConfig()))
	r.send("a", frame(bcast(), macA, -1))
	r.send("a2", frame(bcast(), macA2, -1))
	r.send("b", frame(bcast(), macB, -1))
	r.recv()
	return r
}

// tcp4 is an Ethernet/IPv4/TCP frame with the given flags ("S", "SA", "A").
func tcp4(dstMAC, srcMAC, src, dst string, sport, dport uint16, flags string) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	return tcpOver(dstMAC, srcMAC, layers.EthernetTypeIPv4, ip, sport, dport, flags)
}

// tcpOver is an Ethernet/IP/TCP frame over ip (IPv4 or IPv6) with the
// given flags, sequence 1000 (acknowledgment 2000 with "A") and 5 bytes
// of payload.
func tcpOver(dstMAC, srcMAC string, et layers.EthernetType, ip gopacket.NetworkLayer, sport, dport uint16, flags string) []byte {
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Window: 1024}
	for _, c := range flags {
		switch c {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK, tcp.Ack = true, 2000
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		}
	}
	must(tcp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: et},
		ip.(gopacket.SerializableLayer), tcp, gopacket.Payload([]byte("hello")))
}

// udp4 is pkt4 with a destination port.
func udp4(dstMAC, srcMAC, src, dst string, sport, dport uint16) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	must(udp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload([]byte("hello")))
}

// tuple4 decodes a routed IPv4 frame's addresses and ports and checks
// both its checksums from scratch.
func tuple4(t *testing.T, f []byte) (src, dst string, sport, dport uint16) {
	t.Helper()
	p := decodePkt(t, f)
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ipv4ChecksumOK(t, ip)
	seg := ip.Payload
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip.SrcIP.To4())
	add(ip.DstIP.To4())
	sum += uint32(ip.Protocol) + uint32(len(seg))
	add(seg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	if ip.Protocol == layers.IPProtocolTCP || ip.Protocol == layers.IPProtocolUDP {
		require.Equal(t, uint32(0xffff), sum, "L4 checksum of %v", p)
	}
	return ip.SrcIP.String(), ip.DstIP.String(), binary.BigEndian.Uint16(seg[0:]), binary.BigEndian.Uint16(seg[2:])
}

func TestNATMasquerade(t *testing.T) {
	r := newNATRig(t)
	// Out: A's source becomes the uplink address, its port kept.
	r.send("a", udp4(macRA, macA, "10.1.0.2", "10.2.0.2", 40000, 5300))
	out := only(t, r.recv(), "b", 1)[0]
	src, dst, sp, dp := tuple4(t, out)
	require.Equal(t, []any{"10.2.0.1", "10.2.0.2", uint16(40000), uint16(5300)}, []any{src, dst, sp, dp})
	// A2 with the same source port to the same server: another port.
	r.send("a2", udp4(macRA, macA2, "10.1.0.3", "10.2.0.2", 40000, 5300))
	src, _, sp2, _ := tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, "10.2.0.1", src)
	require.NotEqual(t, uint16(40000), sp2, "two flows share a translated port")
	// Replies come back to each, translated.
	r.send("b", udp4(macRB, macB, "10.2.0.2", "10.2.0.1", 5300, 40000))
	src, dst, sp, dp = tuple4(t, only(t, r.recv(), "a", 1)[0])
	require.Equal(t, []any{"10.2.0.2", "10.1.0.2", uint16(5300), uint16(40000)}, []any{src, dst, sp, dp})
	r.send("b", udp4(macRB, macB, "10.2.0.2", "10.2.0.1", 5300, sp2))
	_, dst, _, dp = tuple4(t, only(t, r.recv(), "a2", 1)[0])
	require.Equal(t, []any{"10.1.0.3", uint16(40000)}, []any{dst, dp})
	// TCP too. A mid-stream segment (a connection from before a
	// restart) is picked up and translated; a segment that cannot start
	// a flow (RST) is not let out with its private address.
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 41000, 443, "S"))
	src, _, sp, _ = tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, []any{"10.2.0.1", uint16(41000)}, []any{src, sp})
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 41002, 443, "A"))
	src, _, sp, _ = tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, []any{"10.2.0.1", uint16(41002)}, []any{src, sp})
	before := dropCount(t, r.s, nodeNAT, "ct-invalid")
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 41001, 443, "R"))
	require.Empty(t, r.recv())
	require.Equal(t, before+1, dropCount(t, r.s, nodeNAT, "ct-invalid"))
	st := r.s.NATStats()
	require.True(t, st.Enabled)
	require.EqualValues(t, 4, st.SNAT)
	require.GreaterOrEqual(t, st.Translated, uint64(5))
}

func TestNATPortMapAndHairpin(t *testing.T) {
	r := newNATRig(t)
	// From the outside to the uplink address's mapped port.
	r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.2.0.1", 50000, 8080, "S"))
	src, dst, sp, dp := tuple4(t, only(t, r.recv(), "a", 1)[0])
	require.Equal(t, []any{"10.2.0.2", "10.1.0.2", uint16(50000), uint16(80)}, []any{src, dst, sp, dp},
		"the client's source is kept, the destination mapped")
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 80, 50000, "SA"))
	src, dst, sp, dp = tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, []any{"10.2.0.1", "10.2.0.2", uint16(8080), uint16(50000)}, []any{src, dst, sp, dp})
	// Hairpin: A2 reaches the mapped port of its own network; A sees
	// the gateway as the source, and its reply goes back to A2.
	r.send("a2", tcp4(macRA, macA2, "10.1.0.3", "10.2.0.1", 51000, 8080, "S"))
	src, dst, sp, dp = tuple4(t, only(t, r.recv(), "a", 1)[0])
	require.Equal(t, []any{"10.1.0.1", "10.1.0.2", uint16(80)}, []any{src, dst, dp})
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.1.0.1", 80, sp, "SA"))
	src, dst, sp, dp = tuple4(t, only(t, r.recv(), "a2", 1)[0])
	require.Equal(t, []any{"10.2.0.1", "10.1.0.3", uint16(8080), uint16(51000)}, []any{src, dst, sp, dp})
	// A map on one address: UDP to 10.2.0.1:6000 goes to A2 on 6000.
	r.send("b", udp4(macRB, macB, "10.2.0.2", "10.2.0.1", 1234, 6000))
	_, dst, _, dp = tuple4(t, only(t, r.recv(), "a2", 1)[0])
	require.Equal(t, []any{"10.1.0.3", uint16(6000)}, []any{dst, dp})
	st := r.s.NATStats()
	require.EqualValues(t, 2, st.DNAT)
	require.EqualValues(t, 1, st.Hairpin)

	// Removing the map stops its existing flows: A's next segment is a
	// masqueraded flow of its own (picked up mid-stream), no longer
	// from the mapped port.
	cfg := testNATConfig()
	cfg.NAT.PortMaps = cfg.NAT.PortMaps[1:]
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 80, 50000, "A"))
	src, _, sp, _ = tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, "10.2.0.1", src)
	require.NotEqual(t, uint16(8080), sp, "a flow of a removed map is still translated")
	require.GreaterOrEqual(t, sp, uint16(1024), "masquerade ports come from 1024-65535")
	// And the map's port is not a way in any more.
	r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.2.0.1", 50001, 8080, "S"))
	require.Empty(t, r.recv()["a"])
}

// Routing between the switch's own networks is not translated, and NAT
// off routes as before.
// TestNATOtherNetworksUntranslated: a masqueraded network reaches the
// switch's other networks, the subnets of router interfaces that are no
// uplink, untranslated; only what leaves through an uplink (its subnet
// or beyond) is translated. The switch once translated every
// destination outside the masqueraded networks themselves.
func TestNATOtherNetworksUntranslated(t *testing.T) {
	r := newNATRig(t)
	r.attach("u")
	const macRU, macU = "02:00:00:00:0c:01", "02:00:00:00:00:0c"
	cfg := testNATConfig()
	cfg.Bridges = append(cfg.Bridges, Bridge{Name: "bru", Ports: []Port{{Name: "u"}}})
	cfg.Interfaces = append(cfg.Interfaces, Interface{Name: "ru", Bridge: "bru", MAC: macRU, Addrs: []string{"192.0.2.1/24"}})
	cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "ru", Addr: "192.0.2.254", MAC: macU})
	cfg.Routes = append(cfg.Routes, Route{Prefix: "0.0.0.0/0", Via: []NextHop{{Addr: "192.0.2.254"}}})
	cfg.NAT.Masquerade = []Masquerade{{Interface: "ra", External: "ru"}}
	cfg.NAT.PortMaps = nil
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("u", frame(bcast(), macU, -1))
	r.recv()

	r.send("a", udp4(macRA, macA, "10.1.0.2", "10.2.0.2", 40000, 5300))
	src, _, sp, _ := tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, []any{"10.1.0.2", uint16(40000)}, []any{src, sp}, "translated to another of the switch's networks")
	r.send("a", udp4(macRA, macA, "10.1.0.2", "198.51.100.7", 40000, 5300))
	src, _, _, _ = tuple4(t, only(t, r.recv(), "u", 1)[0])
	require.Equal(t, "192.0.2.1", src, "beyond the uplink: translated")
	r.send("a", udp4(macRA, macA, "10.1.0.2", "192.0.2.254", 40001, 5300))
	src, _, _, _ = tuple4(t, only(t, r.recv(), "u", 1)[0])
	require.Equal(t, "192.0.2.1", src, "on the uplink's subnet: translated")
}

func TestNATInternalAndOff(t *testing.T) {
	r := newNATRig(t)
	cfg := testNATConfig()
	cfg.NAT.Masquerade = append(cfg.NAT.Masquerade, Masquerade{Interface: "rb", External: "ra"})
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("a", udp4(macRA, macA, "10.1.0.2", "10.2.0.2", 40000, 5300))
	src, _, _, _ := tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, "10.1.0.2", src, "traffic between two of the switch's networks was translated")

	cfg.NAT = nil
	require.NoError(t, r.s.Reconfigure(cfg))
	require.False(t, r.s.NATStats().Enabled)
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 41001, 443, "A"))
	src, _, _, _ = tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, "10.1.0.2", src)
}

func TestNATConfigErrors(t *testing.T) {
	r := newNATRig(t)
	good := testNATConfig()
	for name, c := range map[string]struct {
		mod  func(*NAT)
		want error
	}{
		"no such interface": {func(n *NAT) { n.Masquerade[0].Interface = "nope" }, ErrNATInterface},
		"no such external":  {func(n *NAT) { n.Masquerade[0].External = "nope" }, ErrNATInterface},
		"itself":            {func(n *NAT) { n.Masquerade[0].External = "ra" }, ErrNATInterface},
		"twice":             {func(n *NAT) { n.Masquerade = append(n.Masquerade, n.Masquerade[0]) }, ErrNATInterface},
		"bad proto":         {func(n *NAT) { n.PortMaps[0].Proto = "sctp" }, nat.ErrProto},
		"port 0":            {func(n *NAT) { n.PortMaps[0].HostPort = 0 }, nat.ErrPort},
		"bad target":        {func(n *NAT) { n.PortMaps[0].Target = "10.1.0.300" }, nat.ErrAddr},
		"multicast target":  {func(n *NAT) { n.PortMaps[0].Target = "224.0.0.1" }, nat.ErrAddr},
		"family":            {func(n *NAT) { n.PortMaps[0].Host = "fd02::1" }, nat.ErrFamily},
		"overlap any": {func(n *NAT) {
			n.PortMaps = append(n.PortMaps, PortMap{Proto: "tcp", Host: "10.2.0.1", HostPort: 8080, Target: "10.1.0.3"})
		}, nat.ErrOverlap},
		"overlap same": {func(n *NAT) {
			n.PortMaps = append(n.PortMaps, PortMap{Proto: "udp", Host: "10.2.0.1", HostPort: 6000, Target: "10.1.0.2"})
		}, nat.ErrOverlap},
		"uplink not a iface": {func(n *NAT) { n.Uplinks = []string{"x"} }, ErrNATInterface},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testNATConfig()
			c.mod(cfg.NAT)
			err := r.s.Reconfigure(cfg)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.ErrorIs(t, err, c.want)
			var ne *NATError
			require.True(t, errors.As(err, &ne), "%T %v", err, err)
			// Nothing changed: the mapped port still works.
			r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.2.0.1", 50000, 8080, "S"))
			_, dst, _, _ := tuple4(t, only(t, r.recv(), "a", 1)[0])
			require.Equal(t, "10.1.0.2", dst)
		})
	}
	// The same map twice is one map, not an overlap.
	good.NAT.PortMaps = append(good.NAT.PortMaps, good.NAT.PortMaps[0])
	require.NoError(t, r.s.Reconfigure(good))
	require.Len(t, r.s.Config().NAT.PortMaps, 2)
}

// A full NAT table never lets a container's private address out: new
// flows evict old ones or are dropped (counted), and a TCP segment of an
// evicted flow is dropped as invalid.
func TestNATFullTable(t *testing.T) {
	r := newRig(t, Options{ConntrackCapacity: 16})
	r.attach("a", "a2", "b", "b2")
	require.NoError(t, r.s.Reconfigure(testNATConfig()))
	r.send("a", frame(bcast(), macA, -1))
	r.send("b", frame(bcast(), macB, -1))
	r.recv()
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 30000, 443, "S"))
	src, _, _, _ := tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, "10.2.0.1", src)
	var flows [][]byte
	for i := range 200 {
		flows = append(flows, udp4(macRA, macA, "10.1.0.2", "10.2.0.2", uint16(31000+i), 5300))
	}
	r.send("a", flows...)
	out := r.recv()["b"]
	require.NotEmpty(t, out)
	for _, f := range out {
		src, _, _, _ := tuple4(t, f)
		require.Equal(t, "10.2.0.1", src, "a packet left untranslated")
	}
	require.LessOrEqual(t, r.s.NATStats().Flows, 16)
	require.Positive(t, r.s.NATStats().Conntrack.Evicted+r.s.NATStats().Refused["table-full"])
	// The TCP flow was evicted: its next segment is not let out.
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 30000, 443, "A"))
	for _, f := range r.recv()["b"] {
		src, _, _, _ := tuple4(t, f)
		require.Equal(t, "10.2.0.1", src, "a segment of an evicted flow left untranslated")
	}
}

// TestNATSwitchErrors: the ICMP errors the router builds about packets
// NAT translated reach the sender as if nothing had been translated:
// from the interface the packet came in on, to the sender's own address,
// quoting its IP header and first 8 bytes exactly as it sent them (the
// translation and its undoing cancel, checksums included), with a valid
// ICMP checksum. Masqueraded IPv4 and IPv6 (TTL and hop limit expired,
// too big for rb's MTU of 1400) and a port map's (TTL expired after
// the destination was translated).
func TestNATSwitchErrors(t *testing.T) {
	r := newNATRig(t)
	// IPv6 is masqueraded too.
	r.send("a", pkt6(macRA, macA, "fd01::2", "fd02::2", 9, 1000, 18))
	p := decodePkt(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, "fd02::1", p.Layer(layers.LayerTypeIPv6).(*layers.IPv6).SrcIP.String(), "not masqueraded")
	for _, tc := range []struct {
		name           string
		port           string // the sender's, where the error comes back
		frame          []byte
		src, dst       string // the error's addresses
		mac, routerMAC string
		typ, code      uint8
		aux            uint32
	}{
		{"ttl", "a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 1, 1001, 18, false), "10.1.0.1", "10.1.0.2", macA, macRA, 11, 0, 0},
		{"frag needed", "a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1002, 1400, true), "10.1.0.1", "10.1.0.2", macA, macRA, 3, 4, 1400},
		{"hop limit", "a", pkt6(macRA, macA, "fd01::2", "fd02::2", 1, 1003, 18), "fd01::1", "fd01::2", macA, macRA, 3, 0, 0},
		{"too big", "a", pkt6(macRA, macA, "fd01::2", "fd02::2", 9, 1004, 1400), "fd01::1", "fd01::2", macA, macRA, 2, 0, 1400},
		{"port map ttl", "b", udp4ttl(macRB, macB, "10.2.0.2", "10.2.0.1", 1005, 6000, 1), "10.2.0.1", "10.2.0.2", macB, macRB, 11, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.s.NATStats().Translated
			r.send(tc.port, tc.frame)
			f := only(t, r.recv(), tc.port, 1)[0]
			p := decodePkt(t, f)
			eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			require.Equal(t, []string{tc.mac, tc.routerMAC}, []string{eth.DstMAC.String(), eth.SrcMAC.String()})
			if l := p.Layer(layers.LayerTypeIPv6); l != nil {
				ip := l.(*layers.IPv6)
				require.Equal(t, []string{tc.src, tc.dst}, []string{ip.SrcIP.String(), ip.DstIP.String()})
				ic := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				require.Equal(t, []uint8{tc.typ, tc.code}, []uint8{ic.TypeCode.Type(), ic.TypeCode.Code()})
				ph := append(append([]byte{}, ip.SrcIP.To16()...), ip.DstIP.To16()...) // a copy: gopacket's slices alias the frame
				ph = append(ph, 0, 0, byte(len(ip.Payload)>>8), byte(len(ip.Payload)), 0, 0, 0, 58)
				require.Equal(t, uint16(0xffff), onesSum(append(ph, ip.Payload...), 0), "ICMPv6 checksum")
				require.Equal(t, tc.frame[14:62], ic.Payload[4:52], "quotes the header as the sender sent it")
				require.EqualValues(t, tc.aux, binary.BigEndian.Uint32(ic.Payload[:4]))
			} else {
				ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				ipv4ChecksumOK(t, ip)
				require.Equal(t, []string{tc.src, tc.dst}, []string{ip.SrcIP.String(), ip.DstIP.String()})
				ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				require.Equal(t, []uint8{tc.typ, tc.code}, []uint8{ic.TypeCode.Type(), ic.TypeCode.Code()})
				require.Equal(t, uint16(0xffff), onesSum(ip.Payload, 0), "ICMP checksum")
				require.Equal(t, tc.frame[14:42], ic.Payload[:28], "quotes the header as the sender sent it")
				require.EqualValues(t, tc.aux, ic.Seq, "next-hop MTU")
			}
			require.Greater(t, r.s.NATStats().Translated, before+1, "the packet and its error translated")
		})
	}
	// Without NAT the errors skip the nat node; TestL3Errors has them.
}

// udp4ttl is udp4 with a TTL.
func udp4ttl(dstMAC, srcMAC, src, dst string, sport, dport uint16, ttl uint8) []byte {
	ip := &layers.IPv4{Version: 4, TTL: ttl, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	must(udp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload([]byte("hello")))
}
