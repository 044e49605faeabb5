package proto

import (
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// checkICMP4Error decodes an error built by BuildICMP4Error and checks the
// fields every one has; it returns the ICMP layer.
func checkICMP4Error(t *testing.T, e, orig []byte, router uint32) *layers.ICMPv4 {
	t.Helper()
	hl, r := Check4(e)
	require.Equal(t, OK, r)
	require.Equal(t, 20, hl)
	require.Equal(t, OK, CheckICMP4(e, hl))
	require.Equal(t, uint16(0xFFFF), refSum(e[20:], 0))
	p := decode(t, e, layers.LayerTypeIPv4)
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	require.Equal(t, ip4(router), ip.SrcIP)
	require.Equal(t, ip4(Src4(orig)), ip.DstIP)
	require.Equal(t, uint8(ReplyTTL), ip.TTL)
	require.Equal(t, layers.IPProtocolICMPv4, ip.Protocol)
	require.Equal(t, layers.IPv4Flag(0), ip.Flags, "DF clear")
	require.Equal(t, uint8(0xC0), ip.TOS)
	require.Equal(t, len(e), int(ip.Length))
	ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	require.Equal(t, orig[:len(e)-28], []byte(ic.Payload), "quote")
	// The quoted header decodes as the original.
	q := gopacket.NewPacket(ic.Payload, layers.LayerTypeIPv4, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	require.Equal(t, ip4(Src4(orig)), q.SrcIP)
	require.Equal(t, ip4(Dst4(orig)), q.DstIP)
	return ic
}

func TestBuildICMP4Error(t *testing.T) {
	router := a4("192.0.2.254")
	orig := udp4(t, "198.51.100.7", "203.0.113.9", 5000, 53, 100)
	buf := make([]byte, 2048)

	n := BuildICMP4Error(buf, orig, ICMP4TimeExceeded, ICMP4CodeTTL, 0, router)
	require.Equal(t, 28+len(orig), n)
	ic := checkICMP4Error(t, buf[:n], orig, router)
	require.Equal(t, layers.CreateICMPv4TypeCode(ICMP4TimeExceeded, ICMP4CodeTTL), ic.TypeCode)
	require.Equal(t, uint32(0), binary.BigEndian.Uint32(buf[24:]))

	// Fragmentation needed: the next-hop MTU in the low 16 bits.
	n = BuildICMP4Error(buf, orig, ICMP4DestUnreach, ICMP4CodeFragNeed, 1400, router)
	ic = checkICMP4Error(t, buf[:n], orig, router)
	require.Equal(t, layers.CreateICMPv4TypeCode(ICMP4DestUnreach, ICMP4CodeFragNeed), ic.TypeCode)
	require.Equal(t, uint16(0), ic.Id)
	require.Equal(t, uint16(1400), ic.Seq)

	// A big original is cut to keep the error within 576 bytes.
	big := udp4(t, "198.51.100.7", "203.0.113.9", 5000, 53, 1472)
	n = BuildICMP4Error(buf, big, ICMP4DestUnreach, ICMP4CodeHost, 0, router)
	require.Equal(t, MaxICMP4ErrorLen, n)
	checkICMP4Error(t, buf[:n], big, router)

	// Ethernet padding after the total length is not quoted.
	small := udp4(t, "198.51.100.7", "203.0.113.9", 5000, 53, 2)
	padded := append(append([]byte(nil), small...), make([]byte, 16)...)
	n = BuildICMP4Error(buf, padded, ICMP4DestUnreach, ICMP4CodePort, 0, router)
	require.Equal(t, 28+len(small), n)
	checkICMP4Error(t, buf[:n], small, router)

	// A short dst takes a shorter quote.
	n = BuildICMP4Error(buf[:40], orig, ICMP4TimeExceeded, 0, 0, router)
	require.Equal(t, 40, n)
	require.Equal(t, orig[:12], buf[28:40])
	require.Equal(t, uint16(0xFFFF), refSum(buf[20:40], 0))

	require.Equal(t, 0, BuildICMP4Error(buf[:27], orig, ICMP4TimeExceeded, 0, 0, router))
	require.Equal(t, 0, BuildICMP4Error(buf, orig[:19], ICMP4TimeExceeded, 0, 0, router))
}

func TestBuildICMP4ErrorOverlap(t *testing.T) {
	router := a4("10.0.0.1")
	orig := udp4(t, "10.9.9.9", "10.8.8.8", 1, 2, 700)
	want := make([]byte, 1024)
	wn := BuildICMP4Error(want, orig, ICMP4TimeExceeded, 0, 0, router)
	for _, at := range []int{0, 1, ICMP4ErrorHeadroom, 100} {
		buf := make([]byte, 1024)
		copy(buf[at:], orig)
		n := BuildICMP4Error(buf, buf[at:at+len(orig)], ICMP4TimeExceeded, 0, 0, router)
		require.Equal(t, wn, n, "orig at %d", at)
		require.Equal(t, want[:wn], buf[:n], "orig at %d", at)
	}
}

func TestICMP4ErrorAllowed(t *testing.T) {
	icmp := func(typ uint8) []byte {
		return serialize(t, v4("10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0)}, gopacket.Payload(make([]byte, 8)))
	}
	frag := func(flags layers.IPv4Flag, off uint16) []byte {
		ip := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
		ip.Flags, ip.FragOffset = flags, off
		return serialize(t, ip, gopacket.Payload(make([]byte, 16)))
	}
	ipOnly := serialize(t, v4("10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4))
	for _, tc := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"udp", udp4(t, "10.0.0.1", "10.0.0.2", 1, 2, 10), true},
		{"echo request", icmp(ICMP4Echo), true},
		{"echo reply", icmp(ICMP4EchoReply), true},
		{"timestamp", icmp(13), true},
		{"dest unreachable", icmp(ICMP4DestUnreach), false},
		{"source quench", icmp(4), false},
		{"redirect", icmp(ICMP4Redirect), false},
		{"time exceeded", icmp(ICMP4TimeExceeded), false},
		{"parameter problem", icmp(ICMP4ParamProblem), false},
		{"unknown type", icmp(200), false},
		{"icmp without message", ipOnly, false},
		{"first fragment", frag(layers.IPv4MoreFragments, 0), true},
		{"later fragment", frag(layers.IPv4MoreFragments, 10), false},
		{"last fragment", frag(0, 10), false},
		{"from 0.0.0.0", udp4(t, "0.0.0.0", "10.0.0.2", 1, 2, 0), false},
		{"from 0/8", udp4(t, "0.1.2.3", "10.0.0.2", 1, 2, 0), false},
		{"from loopback", udp4(t, "127.0.0.1", "10.0.0.2", 1, 2, 0), false},
		{"from multicast", udp4(t, "224.0.0.9", "10.0.0.2", 1, 2, 0), false},
		{"from class e", udp4(t, "240.1.1.1", "10.0.0.2", 1, 2, 0), false},
		{"from broadcast", udp4(t, "255.255.255.255", "10.0.0.2", 1, 2, 0), false},
		{"to multicast", udp4(t, "10.0.0.1", "239.1.1.1", 1, 2, 0), false},
		{"to broadcast", udp4(t, "10.0.0.1", "255.255.255.255", 1, 2, 0), false},
		{"short", make([]byte, 19), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ICMP4ErrorAllowed(tc.pkt))
		})
	}
}

// checkICMP6Error decodes an error built by BuildICMP6Error and checks the
// fields every one has; it returns the ICMPv6 layer.
func checkICMP6Error(t *testing.T, e, orig []byte, router addr6) *layers.ICMPv6 {
	t.Helper()
	require.Equal(t, OK, Check6(e))
	require.Equal(t, len(e)-40, PayloadLen6(e))
	require.Equal(t, OK, CheckICMP6(e))
	require.Equal(t, uint16(0xFFFF), refICMP6Sum(e))
	p := decode(t, e, layers.LayerTypeIPv6)
	ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	require.Equal(t, router.ip(), ip.SrcIP)
	sh, sl := Src6(orig)
	require.Equal(t, addr6{sh, sl}.ip(), ip.DstIP)
	require.Equal(t, uint8(ReplyTTL), ip.HopLimit)
	require.Equal(t, layers.IPProtocolICMPv6, ip.NextHeader)
	ic := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	require.Equal(t, orig[:len(e)-48], e[48:], "quote")
	q := gopacket.NewPacket(e[48:], layers.LayerTypeIPv6, gopacket.Default).Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	require.Equal(t, addr6{sh, sl}.ip(), q.SrcIP)
	return ic
}

func TestBuildICMP6Error(t *testing.T) {
	router := a6("2001:db8::ffff")
	orig := udp6(t, "2001:db8:1::7", "2001:db8:2::9", 5000, 53, 100)
	buf := make([]byte, 2048)

	n := BuildICMP6Error(buf, orig, ICMP6TimeExceeded, ICMP6CodeHopLimit, 0, router.hi, router.lo)
	require.Equal(t, 48+len(orig), n)
	ic := checkICMP6Error(t, buf[:n], orig, router)
	require.Equal(t, layers.CreateICMPv6TypeCode(ICMP6TimeExceeded, ICMP6CodeHopLimit), ic.TypeCode)
	require.Equal(t, uint32(0), binary.BigEndian.Uint32(buf[44:]))

	// Packet too big: the MTU is the second word; the error stops at 1280.
	big := udp6(t, "2001:db8:1::7", "2001:db8:2::9", 5000, 53, 1452)
	n = BuildICMP6Error(buf, big, ICMP6PacketTooBig, 0, 1400, router.hi, router.lo)
	require.Equal(t, MaxICMP6ErrorLen, n)
	ic = checkICMP6Error(t, buf[:n], big, router)
	require.Equal(t, layers.CreateICMPv6TypeCode(ICMP6PacketTooBig, 0), ic.TypeCode)
	require.Equal(t, uint32(1400), binary.BigEndian.Uint32(buf[44:]))

	// Padding after the payload length is not quoted.
	small := udp6(t, "2001:db8:1::7", "2001:db8:2::9", 5000, 53, 2)
	n = BuildICMP6Error(buf, append(append([]byte(nil), small...), 0, 0, 0), ICMP6DestUnreach, ICMP6CodeAddr, 0, router.hi, router.lo)
	require.Equal(t, 48+len(small), n)
	checkICMP6Error(t, buf[:n], small, router)

	n = BuildICMP6Error(buf[:60], orig, ICMP6DestUnreach, 0, 0, router.hi, router.lo)
	require.Equal(t, 60, n)
	require.Equal(t, uint16(0xFFFF), refICMP6Sum(buf[:60]))

	require.Equal(t, 0, BuildICMP6Error(buf[:47], orig, ICMP6DestUnreach, 0, 0, router.hi, router.lo))
	require.Equal(t, 0, BuildICMP6Error(buf, orig[:39], ICMP6DestUnreach, 0, 0, router.hi, router.lo))
}

func TestBuildICMP6ErrorOverlap(t *testing.T) {
	router := a6("fe80::1")
	orig := udp6(t, "2001:db8::1", "2001:db8::2", 1, 2, 1300)
	want := make([]byte, 2048)
	wn := BuildICMP6Error(want, orig, ICMP6TimeExceeded, 0, 0, router.hi, router.lo)
	for _, at := range []int{0, 3, ICMP6ErrorHeadroom, 200} {
		buf := make([]byte, 2048)
		copy(buf[at:], orig)
		n := BuildICMP6Error(buf, buf[at:at+len(orig)], ICMP6TimeExceeded, 0, 0, router.hi, router.lo)
		require.Equal(t, wn, n, "orig at %d", at)
		require.Equal(t, want[:wn], buf[:n], "orig at %d", at)
	}
}

func TestICMP6ErrorAllowed(t *testing.T) {
	const src, dst = "2001:db8::1", "2001:db8::2"
	icmp := func(typ uint8, d string) []byte {
		ip := v6(src, d, layers.IPProtocolICMPv6, 64)
		return serialize(t, ip, icmp6(t, ip, typ, 0), gopacket.Payload(make([]byte, 8)))
	}
	// behind puts an ICMPv6 message of type typ behind an extension header.
	behind := func(nh layers.IPProtocol, ext []byte, typ uint8) []byte {
		m := icmp(typ, dst)
		p := append(append(append([]byte(nil), m[:40]...), ext...), m[40:]...)
		p[6] = uint8(nh)
		binary.BigEndian.PutUint16(p[4:], uint16(len(p)-40))
		return p
	}
	dstOpts := []byte{ProtoICMPv6, 0, 1, 4, 0, 0, 0, 0}
	frag0 := []byte{ProtoICMPv6, 0, 0, 1, 0, 0, 0, 1}
	fragN := []byte{ProtoICMPv6, 0, 0, 0x18, 0, 0, 0, 1}
	ipOnly := icmp(ICMP6EchoRequest, dst)[:40]
	binary.BigEndian.PutUint16(ipOnly[4:], 0)
	udp := udp6(t, src, dst, 1, 2, 4)

	for _, tc := range []struct {
		name      string
		pkt       []byte
		typ, code uint8
		want      bool
	}{
		{"udp", udp, ICMP6TimeExceeded, 0, true},
		{"echo request", icmp(ICMP6EchoRequest, dst), ICMP6DestUnreach, 0, true},
		{"neighbor solicitation", icmp(ICMP6NeighborSolicit, dst), ICMP6DestUnreach, 0, true},
		{"dest unreachable", icmp(ICMP6DestUnreach, dst), ICMP6TimeExceeded, 0, false},
		{"packet too big", icmp(ICMP6PacketTooBig, dst), ICMP6TimeExceeded, 0, false},
		{"error type 127", icmp(127, dst), ICMP6TimeExceeded, 0, false},
		{"redirect", icmp(ICMP6Redirect, dst), ICMP6TimeExceeded, 0, false},
		{"error behind dest options", behind(layers.IPProtocolIPv6Destination, dstOpts, ICMP6DestUnreach), ICMP6TimeExceeded, 0, false},
		{"echo behind dest options", behind(layers.IPProtocolIPv6Destination, dstOpts, ICMP6EchoRequest), ICMP6TimeExceeded, 0, true},
		{"error in first fragment", behind(layers.IPProtocolIPv6Fragment, frag0, ICMP6DestUnreach), ICMP6TimeExceeded, 0, false},
		{"later fragment", behind(layers.IPProtocolIPv6Fragment, fragN, ICMP6DestUnreach), ICMP6TimeExceeded, 0, true},
		{"icmpv6 without message", ipOnly, ICMP6TimeExceeded, 0, false},
		{"from ::", udp6(t, "::", dst, 1, 2, 0), ICMP6TimeExceeded, 0, false},
		{"from ::1", udp6(t, "::1", dst, 1, 2, 0), ICMP6TimeExceeded, 0, false},
		{"from multicast", udp6(t, "ff02::1", dst, 1, 2, 0), ICMP6TimeExceeded, 0, false},
		{"to multicast, time exceeded", udp6(t, src, "ff0e::1", 1, 2, 0), ICMP6TimeExceeded, 0, false},
		{"to multicast, unreachable", udp6(t, src, "ff0e::1", 1, 2, 0), ICMP6DestUnreach, 0, false},
		{"to multicast, packet too big", udp6(t, src, "ff0e::1", 1, 2, 0), ICMP6PacketTooBig, 0, true},
		{"to multicast, unrecognized option", udp6(t, src, "ff0e::1", 1, 2, 0), ICMP6ParamProblem, ICMP6CodeOption, true},
		{"to multicast, other parameter problem", udp6(t, src, "ff0e::1", 1, 2, 0), ICMP6ParamProblem, 1, false},
		{"short", udp[:39], ICMP6TimeExceeded, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ICMP6ErrorAllowed(tc.pkt, tc.typ, tc.code))
		})
	}
}
