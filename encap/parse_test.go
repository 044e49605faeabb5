package encap

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// sample returns an encapsulated ARP frame over the underlay c describes.
func sample(t testing.TB, c TemplateConfig) []byte {
	t.Helper()
	return bytes.Clone(encapsulate(t, mustTemplate(t, c), innerARP(t, rand.New(rand.NewPCG(1, 1))), 0xC0FFEE))
}

// l2Len returns the outer Ethernet header length of pkt.
func l2Len(pkt []byte) int {
	if binary.BigEndian.Uint16(pkt[12:]) == etherTypeVLAN {
		return EthLen + VLANTagLen
	}
	return EthLen
}

// fixIPv4 recomputes the outer IPv4 header checksum of pkt.
func fixIPv4(pkt []byte) {
	ip := pkt[l2Len(pkt):]
	hl := int(ip[0]&0x0F) * 4
	if hl < IPv4Len || hl > len(ip) {
		return
	}
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], ^refSum(ip[:hl], 0))
}

// fixUDP recomputes the UDP checksum of pkt, whose outer IP header has no
// options, over the UDP length; it does nothing when that is impossible.
func fixUDP(pkt []byte) {
	l2 := l2Len(pkt)
	ip := pkt[l2:]
	var src, dst netip.Addr
	var udp []byte
	if ip[0]>>4 == 4 {
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		udp = ip[IPv4Len:]
	} else {
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		udp = ip[IPv6Len:]
	}
	if len(udp) < UDPLen {
		return
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < UDPLen || ulen > len(udp) {
		return
	}
	udp[6], udp[7] = 0, 0
	binary.BigEndian.PutUint16(udp[6:], udpChecksum(refUDPSum(src, dst, udp[:ulen])))
}

func TestParseOuterRejects(t *testing.T) {
	type edit func(pkt []byte) []byte
	ip := func(pkt []byte) []byte { return pkt[l2Len(pkt):] }
	udp4 := func(pkt []byte) []byte { return ip(pkt)[IPv4Len:] }
	udp6 := func(pkt []byte) []byte { return ip(pkt)[IPv6Len:] }
	cases := []struct {
		name string
		c    TemplateConfig
		cfg  DecapConfig
		edit edit
		want Reason
	}{
		{"v4 ok", config4(), DecapConfig{}, nil, OK},
		{"v6 ok", config6(), DecapConfig{}, nil, OK},
		{"not IP", config4(), DecapConfig{}, func(p []byte) []byte { p[12], p[13] = 0x08, 0x06; return p }, NotIP},
		{"inner tag type", config4(), DecapConfig{}, func(p []byte) []byte { p[12], p[13] = 0x88, 0xA8; return p }, NotIP},
		{"v4 version", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[0] = 0x65; fixIPv4(p); return p }, BadOuterIP},
		{"v4 IHL 4", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[0] = 0x44; return p }, BadOuterIP},
		{"v4 IHL past packet", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[0] = 0x4F; return p[:l2Len(p)+40] }, Runt},
		{"v4 total length below header", config4(), DecapConfig{}, func(p []byte) []byte {
			binary.BigEndian.PutUint16(ip(p)[2:], 19)
			fixIPv4(p)
			return p
		}, BadOuterIP},
		{"v4 total length past packet", config4(), DecapConfig{}, func(p []byte) []byte {
			binary.BigEndian.PutUint16(ip(p)[2:], uint16(len(ip(p))+1))
			fixIPv4(p)
			return p
		}, Runt},
		{"v4 bad checksum", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[10] ^= 1; return p }, BadIPChecksum},
		{"v4 bad checksum TTL", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[8]--; return p }, BadIPChecksum},
		{"v4 more fragments", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[6] |= 0x20; fixIPv4(p); return p }, Fragment},
		{"v4 fragment offset", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[7] = 1; fixIPv4(p); return p }, Fragment},
		{"v4 DF is fine", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[6] = 0x40; fixIPv4(p); return p }, OK},
		{"v4 not UDP", config4(), DecapConfig{}, func(p []byte) []byte { ip(p)[9] = 6; fixIPv4(p); return p }, NotUDP},
		{"v6 version", config6(), DecapConfig{}, func(p []byte) []byte { ip(p)[0] = 0x46; return p }, BadOuterIP},
		{"v6 payload length past packet", config6(), DecapConfig{}, func(p []byte) []byte {
			binary.BigEndian.PutUint16(ip(p)[4:], uint16(len(ip(p))-IPv6Len+1))
			return p
		}, Runt},
		{"v6 fragment header", config6(), DecapConfig{}, func(p []byte) []byte { ip(p)[6] = 44; return p }, Fragment},
		{"v6 hop-by-hop", config6(), DecapConfig{}, func(p []byte) []byte { ip(p)[6] = 0; return p }, NotUDP},
		{"v6 TCP", config6(), DecapConfig{}, func(p []byte) []byte { ip(p)[6] = 6; return p }, NotUDP},
		{"v4 wrong port", config4(), DecapConfig{Port: 8472}, nil, WrongPort},
		{"v6 wrong port", config6(), DecapConfig{Port: 8472}, nil, WrongPort},
		{"v4 other port", func() TemplateConfig { c := config4(); c.DstPort = 8472; return c }(), DecapConfig{Port: 8472}, nil, OK},
		{"v4 default port refuses other", func() TemplateConfig { c := config4(); c.DstPort = 8472; return c }(), DecapConfig{}, nil, WrongPort},
		{"v4 UDP length 7", config4(), DecapConfig{}, func(p []byte) []byte { binary.BigEndian.PutUint16(udp4(p)[4:], 7); return p }, BadUDPLength},
		{"v4 UDP length past IP", config4(), DecapConfig{}, func(p []byte) []byte {
			binary.BigEndian.PutUint16(udp4(p)[4:], uint16(len(udp4(p))+1))
			return p
		}, BadUDPLength},
		{"v4 UDP length 8, no VXLAN header", config4(), DecapConfig{}, func(p []byte) []byte { binary.BigEndian.PutUint16(udp4(p)[4:], 8); return p }, Runt},
		{"v4 UDP length 15", config4(), DecapConfig{}, func(p []byte) []byte { binary.BigEndian.PutUint16(udp4(p)[4:], 15); return p }, Runt},
		{"v4 inner 13 bytes", config4(), DecapConfig{}, func(p []byte) []byte { binary.BigEndian.PutUint16(udp4(p)[4:], 16+13); return p }, InnerRunt},
		{"v4 inner 14 bytes", config4(), DecapConfig{}, func(p []byte) []byte { binary.BigEndian.PutUint16(udp4(p)[4:], 16+14); return p }, OK},
		{"v4 inner empty", config4(), DecapConfig{}, func(p []byte) []byte { binary.BigEndian.PutUint16(udp4(p)[4:], 16); return p }, InnerRunt},
		{"v6 UDP length 7", config6(), DecapConfig{AcceptZeroUDP6: true}, func(p []byte) []byte {
			binary.BigEndian.PutUint16(udp6(p)[4:], 7)
			return p
		}, BadUDPLength},
		{"v6 inner 13 bytes", config6(), DecapConfig{}, func(p []byte) []byte {
			binary.BigEndian.PutUint16(udp6(p)[4:], 16+13)
			fixUDP(p)
			return p
		}, InnerRunt},
		{"v6 zero UDP checksum", config6(), DecapConfig{}, func(p []byte) []byte { udp6(p)[6], udp6(p)[7] = 0, 0; return p }, ZeroUDPChecksum},
		{"v6 zero UDP checksum allowed", config6(), DecapConfig{AcceptZeroUDP6: true}, func(p []byte) []byte { udp6(p)[6], udp6(p)[7] = 0, 0; return p }, OK},
		{"v6 bad UDP checksum", config6(), DecapConfig{}, func(p []byte) []byte { udp6(p)[7] ^= 0x10; return p }, BadUDPChecksum},
		{"v6 corrupt inner", config6(), DecapConfig{}, func(p []byte) []byte { p[len(p)-1] ^= 0x80; return p }, BadUDPChecksum},
		{"v6 corrupt address", config6(), DecapConfig{}, func(p []byte) []byte { ip(p)[23]++; return p }, BadUDPChecksum},
		{"v6 bad checksum, zero allowed", config6(), DecapConfig{AcceptZeroUDP6: true}, func(p []byte) []byte { udp6(p)[7] ^= 0x10; return p }, BadUDPChecksum},
		{"v4 UDP checksum not verified", config4(), DecapConfig{}, func(p []byte) []byte { udp4(p)[7] = 1; return p }, OK},
		{"v4 UDP checksum verified", config4(), DecapConfig{VerifyUDP4: true}, func(p []byte) []byte { udp4(p)[7] = 1; return p }, BadUDPChecksum},
		{"v4 UDP checksum correct", config4(), DecapConfig{VerifyUDP4: true}, func(p []byte) []byte { fixUDP(p); return p }, OK},
		{"v4 zero UDP checksum verified", config4(), DecapConfig{VerifyUDP4: true}, nil, OK},
		{"v4 VXLAN I clear", config4(), DecapConfig{}, func(p []byte) []byte { udp4(p)[8] = 0; return p }, BadVXLANFlags},
		{"v4 VXLAN only reserved bits", config4(), DecapConfig{}, func(p []byte) []byte { udp4(p)[8] = 0xF7; return p }, BadVXLANFlags},
		{"v4 VXLAN reserved bits ignored", config4(), DecapConfig{}, func(p []byte) []byte {
			v := udp4(p)[8:16]
			v[0], v[1], v[2], v[3], v[7] = 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
			return p
		}, OK},
		{"v6 VXLAN I clear", config6(), DecapConfig{}, func(p []byte) []byte { udp6(p)[8] = 0x80; fixUDP(p); return p }, BadVXLANFlags},
		{"v4 padding after IP", config4(), DecapConfig{}, func(p []byte) []byte { return append(p, 0, 0, 0, 0) }, OK},
		{"v6 padding after IP", config6(), DecapConfig{}, func(p []byte) []byte { return append(p, 1, 2, 3) }, OK},
		{"v4 VLAN", func() TemplateConfig { c := config4(); c.VLAN = 9; return c }(), DecapConfig{}, nil, OK},
		{"v6 VLAN", func() TemplateConfig { c := config6(); c.VLAN = 9; return c }(), DecapConfig{}, nil, OK},
		{"two VLAN tags", func() TemplateConfig { c := config4(); c.VLAN = 9; return c }(), DecapConfig{}, func(p []byte) []byte {
			return append(append(bytes.Clone(p[:16]), 0x81, 0x00, 0, 10), p[16:]...)
		}, NotIP},
	}
	for _, tc := range cases {
		pkt := sample(t, tc.c)
		if tc.edit != nil {
			pkt = tc.edit(pkt)
		}
		_, r := ParseOuter(pkt, tc.cfg)
		require.Equal(t, tc.want, r, "%s: got %v", tc.name, r)
	}
}

// TestParseOuterOptions accepts an outer IPv4 header with options and finds
// the UDP header after them.
func TestParseOuterOptions(t *testing.T) {
	for _, optLen := range []int{4, 8, 40} {
		pkt := sample(t, config4())
		inner := bytes.Clone(pkt[Overhead4:])
		// Insert optLen bytes of NOP options after the 20-byte header.
		opts := bytes.Repeat([]byte{1}, optLen)
		pkt = append(append(bytes.Clone(pkt[:EthLen+IPv4Len]), opts...), pkt[EthLen+IPv4Len:]...)
		ip := pkt[EthLen:]
		ip[0] = 0x40 | byte((IPv4Len+optLen)/4)
		binary.BigEndian.PutUint16(ip[2:], binary.BigEndian.Uint16(ip[2:])+uint16(optLen))
		fixIPv4(pkt)
		o, r := ParseOuter(pkt, DecapConfig{VerifyUDP4: true})
		require.Equal(t, OK, r, "options of %d bytes", optLen)
		require.Equal(t, Overhead4+optLen, o.InnerOff)
		require.Equal(t, inner, pkt[o.InnerOff:o.InnerOff+o.InnerLen])
		require.Equal(t, vtep4a, o.SrcAddr())
	}
}

// TestParseOuterTruncated cuts packets at every length: each is a runt,
// never accepted and never a panic.
func TestParseOuterTruncated(t *testing.T) {
	vlan := func(c TemplateConfig) TemplateConfig { c.VLAN = 5; return c }
	for _, c := range []TemplateConfig{config4(), config6(), vlan(config4()), vlan(config6())} {
		pkt := sample(t, c)
		for n := range len(pkt) {
			_, r := ParseOuter(pkt[:n], DecapConfig{})
			require.Equal(t, Runt, r, "%d of %d bytes", n, len(pkt))
		}
	}
}

func TestParseOuterFields(t *testing.T) {
	c := config4()
	c.TOS, c.VLAN = 0xB8, 300
	pkt := sample(t, c)
	o, r := ParseOuter(pkt, DecapConfig{})
	require.Equal(t, OK, r)
	require.Equal(t, Outer{
		Src: vtep4a.As16(), Dst: vtep4b.As16(),
		SrcPort: mustTemplate(t, c).SrcPort(0xC0FFEE), DstPort: DefaultPort,
		VNI: 0x123456, VLAN: 300, TOS: 0xB8,
		InnerOff: Overhead4 + VLANTagLen, InnerLen: len(pkt) - Overhead4 - VLANTagLen,
	}, o)
	require.Equal(t, uint32(0xC0000201), o.Src4())
	require.Equal(t, uint32(0xC6336407), o.Dst4())
	require.Equal(t, vtep4b, o.DstAddr())

	c = config6()
	c.TOS = 0xE1
	pkt = sample(t, c)
	o, r = ParseOuter(pkt, DecapConfig{})
	require.Equal(t, OK, r)
	require.True(t, o.Is6)
	require.Equal(t, uint8(0xE1), o.TOS)
	require.Equal(t, vtep6a, o.SrcAddr())
	require.Equal(t, vtep6b, o.DstAddr())
	hi, lo := o.SrcHiLo()
	require.Equal(t, uint64(0x20010db800010000), hi)
	require.Equal(t, uint64(1), lo)
	hi, lo = o.DstHiLo()
	require.Equal(t, uint64(0x20010db800020000), hi)
	require.Equal(t, uint64(0x77), lo)
	require.Equal(t, Overhead6, o.InnerOff)
}

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := range NumReasons {
		s := r.String()
		require.NotEmpty(t, s)
		require.False(t, seen[s], "duplicate name %q", s)
		seen[s] = true
	}
	require.Equal(t, "ok", OK.String())
	require.Equal(t, "bad-vxlan-flags", BadVXLANFlags.String())
	require.Equal(t, "reason-200", Reason(200).String())
}
