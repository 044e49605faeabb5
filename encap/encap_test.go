package encap

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// TestRoundTrip encapsulates random inner frames (IPv4/UDP, IPv6/TCP, ARP)
// over IPv4 and IPv6 underlays, checks the result with gopacket and by
// recomputing its checksums, and decapsulates it with ParseOuter.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for name, c := range map[string]TemplateConfig{
		"v4":          config4(),
		"v4 udpcsum":  func() TemplateConfig { c := config4(); c.UDPChecksum4 = true; return c }(),
		"v4 VLAN DF":  func() TemplateConfig { c := config4(); c.VLAN, c.DF = 7, true; return c }(),
		"v6":          config6(),
		"v6 VLAN TOS": func() TemplateConfig { c := config6(); c.VLAN, c.TOS = 7, 0x12; return c }(),
	} {
		t.Run(name, func(t *testing.T) {
			tpl := mustTemplate(t, c)
			for range 200 {
				inner := randomInner(t, rng)
				hash := InnerFlowHash(inner)
				pkt := encapsulate(t, tpl, inner, hash)
				require.Len(t, pkt, tpl.Len()+len(inner))
				checkEncapsulated(t, c, tpl, pkt, inner, hash)
			}
		})
	}
}

// checkEncapsulated checks pkt, inner encapsulated by tpl (built from c)
// with flow hash hash, with gopacket, by recomputing its checksums, and
// with ParseOuter.
func checkEncapsulated(t *testing.T, c TemplateConfig, tpl *Template, pkt, inner []byte, hash uint32) {
	t.Helper()
	d := decode(t, pkt)
	require.Equal(t, net.HardwareAddr(c.DstMAC[:]), d.eth.DstMAC)
	require.Equal(t, net.HardwareAddr(c.SrcMAC[:]), d.eth.SrcMAC)
	if c.VLAN != 0 {
		require.NotNil(t, d.dot1q)
		require.Equal(t, c.VLAN, d.dot1q.VLANIdentifier)
	} else {
		require.Nil(t, d.dot1q)
	}
	src, dst := d.addrs()
	require.Equal(t, c.Src, src)
	require.Equal(t, c.Dst, dst)
	udp := d.udpBytes()
	if d.ip4 != nil {
		require.Equal(t, uint16(0xFFFF), refSum(d.ipHeader(), 0), "IPv4 header checksum")
		require.Equal(t, int(d.ip4.Length), IPv4Len+len(udp))
		if c.UDPChecksum4 {
			require.NotZero(t, d.udp.Checksum)
			require.Equal(t, uint16(0xFFFF), refUDPSum(src, dst, udp), "IPv4 UDP checksum")
		} else {
			require.Zero(t, d.udp.Checksum)
		}
	} else {
		require.Equal(t, int(d.ip6.Length), len(udp))
		require.NotZero(t, d.udp.Checksum, "IPv6 UDP checksum is mandatory")
		require.Equal(t, uint16(0xFFFF), refUDPSum(src, dst, udp), "IPv6 UDP checksum")
	}
	require.Equal(t, int(d.udp.Length), len(udp))
	require.Equal(t, tpl.SrcPort(hash), uint16(d.udp.SrcPort))
	require.True(t, d.vxlan.ValidIDFlag)
	require.Equal(t, c.VNI, d.vxlan.VNI)
	require.Equal(t, inner, d.vxlan.Payload)

	o, r := ParseOuter(pkt, DecapConfig{Port: c.DstPort, VerifyUDP4: true})
	require.Equal(t, OK, r)
	require.Equal(t, inner, pkt[o.InnerOff:o.InnerOff+o.InnerLen])
	require.Equal(t, c.VNI, o.VNI)
	require.Equal(t, c.Src, o.SrcAddr())
	require.Equal(t, c.Dst, o.DstAddr())
	require.Equal(t, tpl.SrcPort(hash), o.SrcPort)
	require.Equal(t, c.VLAN, o.VLAN)
	require.Equal(t, c.TOS, o.TOS)
	require.Equal(t, c.Src.Is6(), o.Is6)
}

// TestGopacketDecodesWholePacket lets gopacket decode an encapsulated frame
// from the outer Ethernet header to the inner transport layer.
func TestGopacketDecodesWholePacket(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []TemplateConfig{config4(), config6()} {
		tpl := mustTemplate(t, c)
		inner := innerTCP6(t, rng, 100)
		p := gopacket.NewPacket(encapsulate(t, tpl, inner, 1), layers.LayerTypeEthernet, gopacket.Default)
		require.Nil(t, p.ErrorLayer())
		var types []gopacket.LayerType
		for _, l := range p.Layers() {
			types = append(types, l.LayerType())
		}
		outer := layers.LayerTypeIPv4
		if c.Src.Is6() {
			outer = layers.LayerTypeIPv6
		}
		require.Equal(t, []gopacket.LayerType{layers.LayerTypeEthernet, outer, layers.LayerTypeUDP, layers.LayerTypeVXLAN,
			layers.LayerTypeEthernet, layers.LayerTypeIPv6, layers.LayerTypeTCP, gopacket.LayerTypePayload}, types)
	}
}

// TestEncapInPlace checks that Encap writes only the header bytes in front
// of the inner frame and reports the new start and length.
func TestEncapInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []TemplateConfig{config4(), config6()} {
		tpl := mustTemplate(t, c)
		inner := innerUDP4(t, rng, 64)
		buf := make([]byte, testFrameSize)
		for i := range buf {
			buf[i] = 0xEE
		}
		copy(buf[testHeadroom:], inner)
		before := bytes.Clone(buf)
		off, n, ok := Encap(tpl, buf, testHeadroom, len(inner), 5)
		require.True(t, ok)
		require.Equal(t, testHeadroom-tpl.Len(), off)
		require.Equal(t, len(inner)+tpl.Len(), n)
		require.Equal(t, before[:off], buf[:off], "nothing before the header is touched")
		require.Equal(t, before[testHeadroom:], buf[testHeadroom:], "the inner frame and what follows stay")
	}
}

func TestEncapRefuses(t *testing.T) {
	for _, c := range []TemplateConfig{config4(), config6()} {
		tpl := mustTemplate(t, c)
		n := tpl.Len()
		buf := make([]byte, 512)
		for _, tc := range []struct {
			name     string
			off, len int
			ok       bool
		}{
			{"exact headroom", n, 100, true},
			{"one byte short of headroom", n - 1, 100, false},
			{"no headroom", 0, 100, false},
			{"negative offset", -1, 100, false},
			{"negative length", n, -1, false},
			{"runs past buffer", n, len(buf) - n + 1, false},
			{"ends at buffer end", n, len(buf) - n, true},
			{"offset past buffer", len(buf) + 1, 0, false},
			{"empty inner", n, 0, true},
		} {
			clear(buf)
			off, l, ok := Encap(tpl, buf, tc.off, tc.len, 1)
			require.Equal(t, tc.ok, ok, tc.name)
			if !ok {
				require.Equal(t, tc.off, off, tc.name)
				require.Equal(t, tc.len, l, tc.name)
				require.Equal(t, make([]byte, len(buf)), buf, "%s: refused, nothing written", tc.name)
			} else {
				require.Equal(t, tc.off-n, off, tc.name)
				require.Equal(t, tc.len+n, l, tc.name)
			}
		}
	}

	// The outer length fields are 16 bits.
	big := make([]byte, 70000)
	tpl4, tpl6 := mustTemplate(t, config4()), mustTemplate(t, config6())
	_, _, ok := Encap(tpl4, big, 100, maxInner4, 1)
	require.True(t, ok)
	_, _, ok = Encap(tpl4, big, 100, maxInner4+1, 1)
	require.False(t, ok)
	_, _, ok = Encap(tpl6, big, 100, maxInner6, 1)
	require.True(t, ok)
	_, _, ok = Encap(tpl6, big, 100, maxInner6+1, 1)
	require.False(t, ok)
}

// TestUDPChecksumNeverZero builds an inner frame whose UDP checksum comes
// out as 0, which must be sent as 0xFFFF (RFC 768; 0 means none).
func TestUDPChecksumNeverZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []TemplateConfig{config6(), func() TemplateConfig { c := config4(); c.UDPChecksum4 = true; return c }()} {
		tpl := mustTemplate(t, c)
		inner := innerUDP4(t, rng, 50)
		pkt := encapsulate(t, tpl, inner, 3)
		l := len(pkt) - len(inner) // UDP checksum at l-16+6
		csum := binary.BigEndian.Uint16(pkt[l-10:])
		// Adding the checksum to an aligned word of the message makes the
		// sum 0xFFFF, whose complement is 0.
		w := uint32(binary.BigEndian.Uint16(inner[20:])) + uint32(csum)
		binary.BigEndian.PutUint16(inner[20:], uint16(w>>16+w&0xFFFF))
		pkt = encapsulate(t, tpl, inner, 3)
		require.Equal(t, uint16(0xFFFF), binary.BigEndian.Uint16(pkt[l-10:]))
		checkEncapsulated(t, c, tpl, pkt, inner, 3)
	}
}

func TestOverheadAndMTU(t *testing.T) {
	require.Equal(t, 50, Overhead(false))
	require.Equal(t, 70, Overhead(true))
	require.Equal(t, 74, MaxOverhead)
	require.LessOrEqual(t, MaxOverhead, testHeadroom)
	require.Equal(t, 1450, InnerMTU(1500, false))
	require.Equal(t, 1430, InnerMTU(1500, true))
	require.Equal(t, 8950, InnerMTU(9000, false))
	require.Equal(t, 1464, InnerFrameMax(1500, false))
	require.Equal(t, 0, InnerMTU(30, true))
	require.Equal(t, 0, InnerFrameMax(30, true))

	// The largest inner frame for an MTU makes an outer IP packet of
	// exactly that MTU.
	rng := rand.New(rand.NewPCG(15, 16))
	for _, c := range []TemplateConfig{config4(), config6()} {
		tpl := mustTemplate(t, c)
		for _, mtu := range []int{1280, 1500} {
			n := InnerFrameMax(mtu, tpl.Is6())
			inner := innerUDP4(t, rng, n-EthLen-IPv4Len-UDPLen)
			require.Len(t, inner, n)
			pkt := encapsulate(t, tpl, inner, 1)
			require.Equal(t, mtu, len(pkt)-EthLen, "outer IP packet fills the MTU")
		}
	}
}
