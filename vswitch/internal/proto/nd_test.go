package proto

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// ndPkt returns an NS or NA (IPv6 packet) encoded by gopacket, with raw
// option bytes appended after the 24-byte message and the checksum set.
func ndPkt(t testing.TB, typ uint8, src, dst string, target string, flags uint8, opts []byte) []byte {
	ip := v6(src, dst, layers.IPProtocolICMPv6, 255)
	var p []byte
	if typ == ICMP6NeighborSolicit {
		p = serialize(t, ip, icmp6(t, ip, typ, 0), &layers.ICMPv6NeighborSolicitation{TargetAddress: a6(target).ip()})
	} else {
		p = serialize(t, ip, icmp6(t, ip, typ, 0), &layers.ICMPv6NeighborAdvertisement{TargetAddress: a6(target).ip(), Flags: flags})
	}
	p = append(p, opts...)
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-40))
	fixICMP6(p)
	return p
}

// fixICMP6 recomputes the ICMPv6 checksum with the reference code.
func fixICMP6(p []byte) {
	p[42], p[43] = 0, 0
	binary.BigEndian.PutUint16(p[42:], ^refICMP6Sum(p))
}

// llOpt returns a link-layer address option.
func llOpt(typ uint8, mac [6]byte) []byte { return append([]byte{typ, 1}, mac[:]...) }

func TestParseND(t *testing.T) {
	const (
		me     = "2001:db8::1"
		peer   = "2001:db8::99"
		snMe   = "ff02::1:ff00:1"
		ns, na = ICMP6NeighborSolicit, ICMP6NeighborAdvert
	)
	nonce := []byte{14, 1, 1, 2, 3, 4, 5, 6}
	okNS := ndPkt(t, ns, peer, snMe, me, 0, llOpt(NDOptSourceLL, macA))
	edit := func(p []byte, f func(b []byte), fix bool) []byte {
		b := append([]byte(nil), p...)
		f(b)
		if fix {
			fixICMP6(b)
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		pkt    []byte
		want   Reason
		target string
		flags  uint8
		ll     *[6]byte
	}{
		{name: "ns", pkt: okNS, want: OK, target: me, ll: &macA},
		{name: "ns unicast no option", pkt: ndPkt(t, ns, peer, me, me, 0, nil), want: OK, target: me},
		{name: "ns dad", pkt: ndPkt(t, ns, "::", snMe, me, 0, nil), want: OK, target: me},
		{name: "ns nonce and option", pkt: ndPkt(t, ns, peer, snMe, me, 0, append(append([]byte(nil), nonce...), llOpt(NDOptSourceLL, macB)...)), want: OK, target: me, ll: &macB},
		{name: "ns first of two options", pkt: ndPkt(t, ns, peer, snMe, me, 0, append(llOpt(NDOptSourceLL, macB), llOpt(NDOptSourceLL, macA)...)), want: OK, target: me, ll: &macB},
		{name: "ns ignores target option", pkt: ndPkt(t, ns, peer, snMe, me, 0, llOpt(NDOptTargetLL, macB)), want: OK, target: me},
		{name: "ns padded frame", pkt: append(append([]byte(nil), okNS...), 0, 0, 0, 0), want: OK, target: me, ll: &macA},
		{name: "na solicited", pkt: ndPkt(t, na, peer, me, peer, NARouter|NASolicited|NAOverride, llOpt(NDOptTargetLL, macB)), want: OK, target: peer, flags: NARouter | NASolicited | NAOverride, ll: &macB},
		{name: "na unsolicited", pkt: ndPkt(t, na, peer, "ff02::1", peer, NAOverride, llOpt(NDOptTargetLL, macB)), want: OK, target: peer, flags: NAOverride, ll: &macB},
		{name: "na reserved bits ignored", pkt: ndPkt(t, na, peer, me, peer, 0x1F, nil), want: OK, target: peer},

		{name: "runt ip", pkt: okNS[:39], want: Runt},
		{name: "truncated ip", pkt: okNS[:len(okNS)-1], want: BadLength},
		{name: "not icmpv6", pkt: udp6(t, peer, me, 1, 2, 30), want: BadType},
		{name: "echo", pkt: echo6(t, peer, me, 20), want: BadType},
		{name: "router solicitation", pkt: edit(okNS, func(b []byte) { b[40] = ICMP6RouterSolicit }, true), want: BadType},
		{name: "empty icmpv6", pkt: edit(okNS, func(b []byte) { b[5] = 0 }, false)[:40], want: BadType},
		{name: "short message", pkt: edit(okNS, func(b []byte) { b[5] = 20 }, true)[:60], want: Runt},
		{name: "hop limit 254", pkt: edit(okNS, func(b []byte) { b[7] = 254 }, false), want: BadHopLimit},
		{name: "code 1", pkt: edit(okNS, func(b []byte) { b[41] = 1 }, true), want: BadCode},
		{name: "bad checksum", pkt: edit(okNS, func(b []byte) { b[43] ^= 0x10 }, false), want: BadChecksum},
		{name: "bad checksum in option", pkt: edit(okNS, func(b []byte) { b[70] ^= 0x10 }, false), want: BadChecksum},
		{name: "multicast target", pkt: ndPkt(t, ns, peer, snMe, "ff02::1", 0, nil), want: BadTarget},
		{name: "option length 0", pkt: ndPkt(t, ns, peer, snMe, me, 0, []byte{NDOptSourceLL, 0, 1, 2, 3, 4, 5, 6}), want: BadOption},
		{name: "option past the end", pkt: ndPkt(t, ns, peer, snMe, me, 0, []byte{14, 2, 1, 2, 3, 4, 5, 6}), want: BadOption},
		{name: "option one byte", pkt: ndPkt(t, ns, peer, snMe, me, 0, []byte{14}), want: BadOption},
		{name: "link-layer option 16 bytes", pkt: ndPkt(t, ns, peer, snMe, me, 0, append([]byte{NDOptSourceLL, 2}, make([]byte, 14)...)), want: BadOption},
		{name: "dad with source option", pkt: ndPkt(t, ns, "::", snMe, me, 0, llOpt(NDOptSourceLL, macA)), want: BadAddress},
		{name: "dad to unicast", pkt: ndPkt(t, ns, "::", me, me, 0, nil), want: BadAddress},
		{name: "dad to all nodes", pkt: ndPkt(t, ns, "::", "ff02::1", me, 0, nil), want: BadAddress},
		{name: "ns from multicast", pkt: ndPkt(t, ns, "ff02::1", snMe, me, 0, nil), want: BadAddress},
		{name: "na from multicast", pkt: ndPkt(t, na, "ff02::2", "ff02::1", peer, 0, nil), want: BadAddress},
		{name: "na solicited to multicast", pkt: ndPkt(t, na, peer, "ff02::1", peer, NASolicited, nil), want: BadAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var nd ND
			r := ParseND(tc.pkt, &nd)
			require.Equal(t, tc.want, r, r.String())
			if r != OK {
				return
			}
			require.Equal(t, tc.pkt[40], nd.Type)
			tg := a6(tc.target)
			require.Equal(t, tg, addr6{nd.TargetHi, nd.TargetLo})
			require.Equal(t, tc.flags&(NARouter|NASolicited|NAOverride), nd.Flags)
			require.Equal(t, tc.ll != nil, nd.HasLLAddr)
			if tc.ll != nil {
				require.Equal(t, *tc.ll, nd.LLAddr)
			}
		})
	}
}

// checkNDFrame decodes an ND frame built here and checks what every one
// must have: Ethernet to dstMAC from srcMAC, IPv6 with hop limit 255 and
// a valid checksum, acceptance by ParseND.
func checkNDFrame(t *testing.T, f []byte, srcMAC, dstMAC [6]byte, src, dst addr6) (*layers.IPv6, ND) {
	t.Helper()
	p := decode(t, f, layers.LayerTypeEthernet)
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	require.Equal(t, net.HardwareAddr(dstMAC[:]), eth.DstMAC)
	require.Equal(t, net.HardwareAddr(srcMAC[:]), eth.SrcMAC)
	require.Equal(t, layers.EthernetTypeIPv6, eth.EthernetType)
	ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	require.Equal(t, uint8(255), ip.HopLimit)
	require.Equal(t, layers.IPProtocolICMPv6, ip.NextHeader)
	require.Equal(t, src.ip(), ip.SrcIP)
	require.Equal(t, dst.ip(), ip.DstIP)
	require.Equal(t, int(ip.Length), len(f)-54)
	require.Equal(t, uint16(0xFFFF), refICMP6Sum(f[14:]), "checksum")

	// gopacket's own checksum agrees.
	ic := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	again := serialize(t, ip, icmp6(t, ip, ic.TypeCode.Type(), ic.TypeCode.Code()), gopacket.Payload(f[14+44:]))
	require.Equal(t, f[14+42:14+44], again[42:44])

	var nd ND
	require.Equal(t, OK, ParseND(f[14:], &nd))
	return ip, nd
}

func TestBuildNS(t *testing.T) {
	src, target := a6("2001:db8::1"), a6("2001:db8::abcd:1234")
	sn := a6("ff02::1:ffcd:1234")
	require.Equal(t, 0, BuildNS(make([]byte, NSFrameLen-1), macA, src.hi, src.lo, target.hi, target.lo))

	buf := make([]byte, 128)
	n := BuildNS(buf, macA, src.hi, src.lo, target.hi, target.lo)
	require.Equal(t, NSFrameLen, n)
	_, nd := checkNDFrame(t, buf[:n], macA, [6]byte{0x33, 0x33, 0xFF, 0xCD, 0x12, 0x34}, src, sn)
	p := decode(t, buf[:n], layers.LayerTypeEthernet)
	m := p.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
	require.Equal(t, target.ip(), m.TargetAddress)
	require.Len(t, m.Options, 1)
	require.Equal(t, layers.ICMPv6OptSourceAddress, m.Options[0].Type)
	require.Equal(t, macA[:], m.Options[0].Data)
	require.Equal(t, ND{Type: ICMP6NeighborSolicit, TargetHi: target.hi, TargetLo: target.lo, LLAddr: macA, HasLLAddr: true}, nd)

	// Duplicate address detection: from ::, no source link-layer option.
	n = BuildNS(buf, macA, 0, 0, target.hi, target.lo)
	require.Equal(t, NSDADFrameLen, n)
	_, nd = checkNDFrame(t, buf[:n], macA, MulticastMAC6(sn.hi, sn.lo), addr6{}, sn)
	require.False(t, nd.HasLLAddr)
}

func TestBuildNA(t *testing.T) {
	target, dst := a6("fe80::1"), a6("fe80::2")
	require.Equal(t, 0, BuildNA(make([]byte, NAFrameLen-1), macA, macB, dst.hi, dst.lo, target.hi, target.lo, 0))

	buf := make([]byte, 128)
	n := BuildNA(buf, macA, macB, dst.hi, dst.lo, target.hi, target.lo, NARouter|NASolicited|NAOverride)
	require.Equal(t, NAFrameLen, n)
	_, nd := checkNDFrame(t, buf[:n], macA, macB, target, dst)
	p := decode(t, buf[:n], layers.LayerTypeEthernet)
	m := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
	require.Equal(t, target.ip(), m.TargetAddress)
	require.True(t, m.Router())
	require.True(t, m.Solicited())
	require.True(t, m.Override())
	require.Len(t, m.Options, 1)
	require.Equal(t, layers.ICMPv6OptTargetAddress, m.Options[0].Type)
	require.Equal(t, macA[:], m.Options[0].Data)
	require.Equal(t, ND{Type: ICMP6NeighborAdvert, Flags: NARouter | NASolicited | NAOverride,
		TargetHi: target.hi, TargetLo: target.lo, LLAddr: macA, HasLLAddr: true}, nd)
}

func TestBuildNAReply(t *testing.T) {
	me, peer := a6("2001:db8::1"), a6("2001:db8::42")
	buf := make([]byte, 128)

	ns := ndPkt(t, ICMP6NeighborSolicit, "2001:db8::42", "ff02::1:ff00:1", "2001:db8::1", 0, llOpt(NDOptSourceLL, macB))
	n := BuildNAReply(buf, ns, macA, macB, NARouter|NAOverride)
	require.Equal(t, NAFrameLen, n)
	_, nd := checkNDFrame(t, buf[:n], macA, macB, me, peer)
	require.Equal(t, NARouter|NASolicited|NAOverride, nd.Flags)
	require.Equal(t, me, addr6{nd.TargetHi, nd.TargetLo})

	// A DAD probe is answered to all nodes, not solicited.
	dad := ndPkt(t, ICMP6NeighborSolicit, "::", "ff02::1:ff00:1", "2001:db8::1", 0, nil)
	n = BuildNAReply(buf, dad, macA, macB, NAOverride|NASolicited)
	require.Equal(t, NAFrameLen, n)
	_, nd = checkNDFrame(t, buf[:n], macA, [6]byte{0x33, 0x33, 0, 0, 0, 1}, me, a6("ff02::1"))
	require.Equal(t, NAOverride, nd.Flags)

	require.Equal(t, 0, BuildNAReply(buf, ns[:63], macA, macB, 0))
	require.Equal(t, 0, BuildNAReply(buf[:NAFrameLen-1], ns, macA, macB, 0))
}
