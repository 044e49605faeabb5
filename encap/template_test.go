package encap

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

func TestNewTemplateErrors(t *testing.T) {
	for name, mod := range map[string]func(*TemplateConfig){
		"no source":           func(c *TemplateConfig) { c.Src = netip.Addr{} },
		"no destination":      func(c *TemplateConfig) { c.Dst = netip.Addr{} },
		"mixed families":      func(c *TemplateConfig) { c.Dst = vtep6b },
		"unspecified source":  func(c *TemplateConfig) { c.Src = netip.IPv4Unspecified() },
		"multicast source":    func(c *TemplateConfig) { c.Src = netip.MustParseAddr("239.1.1.1") },
		"unspecified dest":    func(c *TemplateConfig) { c.Dst = netip.IPv4Unspecified() },
		"VNI too large":       func(c *TemplateConfig) { c.VNI = MaxVNI + 1 },
		"VLAN too large":      func(c *TemplateConfig) { c.VLAN = 4095 },
		"group source MAC":    func(c *TemplateConfig) { c.SrcMAC[0] = 1 },
		"port range inverted": func(c *TemplateConfig) { c.SrcPortMin, c.SrcPortMax = 50000, 40000 },
		"port range from 0":   func(c *TemplateConfig) { c.SrcPortMin, c.SrcPortMax = 0, 40000 },
	} {
		c := config4()
		mod(&c)
		_, err := NewTemplate(c)
		require.ErrorIs(t, err, ErrConfig, name)
	}
}

func TestNewTemplateDefaults(t *testing.T) {
	tpl := mustTemplate(t, config4())
	require.False(t, tpl.Is6())
	require.Equal(t, Overhead4, tpl.Len())
	require.Equal(t, uint32(0x123456), tpl.VNI())
	require.Equal(t, macNext, tpl.NextHopMAC())
	pkt := encapsulate(t, tpl, innerARP(t, rand.New(rand.NewPCG(1, 2))), 7)
	d := decode(t, pkt)
	require.Equal(t, uint8(DefaultTTL), d.ip4.TTL)
	require.Equal(t, layers.IPv4Flag(0), d.ip4.Flags, "DF unset by default, as Linux")
	require.Equal(t, layers.UDPPort(DefaultPort), d.udp.DstPort)
	require.Zero(t, d.udp.Checksum)

	c := config4()
	c.Dst = netip.MustParseAddr("239.1.1.1")
	d = decode(t, encapsulate(t, mustTemplate(t, c), innerARP(t, rand.New(rand.NewPCG(1, 2))), 7))
	require.Equal(t, uint8(1), d.ip4.TTL, "multicast groups get TTL 1")

	c = config6()
	c.Dst = netip.MustParseAddr("ff05::42")
	tpl = mustTemplate(t, c)
	require.True(t, tpl.Is6())
	require.Equal(t, Overhead6, tpl.Len())
	d = decode(t, encapsulate(t, tpl, innerARP(t, rand.New(rand.NewPCG(1, 2))), 7))
	require.Equal(t, uint8(1), d.ip6.HopLimit)

	c = config4()
	c.Src, c.Dst = netip.AddrFrom16(vtep4a.As16()), netip.AddrFrom16(vtep4b.As16())
	require.False(t, mustTemplate(t, c).Is6(), "IPv4-mapped addresses are IPv4")
}

// TestTemplateMatchesGopacket encapsulates with templates of every shape
// and compares the whole packet to the one gopacket builds from the same
// fields, checksums included.
func TestTemplateMatchesGopacket(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type shape struct {
		name string
		mod  func(*TemplateConfig)
	}
	shapes := []shape{
		{"v4", func(c *TemplateConfig) {}},
		{"v4 DF TTL TOS", func(c *TemplateConfig) { c.DF, c.TTL, c.TOS = true, 9, 0xB8 }},
		{"v4 udpcsum", func(c *TemplateConfig) { c.UDPChecksum4 = true }},
		{"v4 VLAN port", func(c *TemplateConfig) { c.VLAN, c.DstPort = 100, 8472 }},
		{"v4 VNI 0", func(c *TemplateConfig) { c.VNI = 0 }},
		{"v4 max VNI", func(c *TemplateConfig) { c.VNI = MaxVNI }},
		{"v6", func(c *TemplateConfig) { c.Src, c.Dst = vtep6a, vtep6b }},
		{"v6 TOS hop VLAN", func(c *TemplateConfig) { c.Src, c.Dst, c.TOS, c.TTL, c.VLAN = vtep6a, vtep6b, 0x2E, 3, 4094 }},
		{"v6 DF ignored", func(c *TemplateConfig) { c.Src, c.Dst, c.DF = vtep6a, vtep6b, true }},
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			c := config4()
			s.mod(&c)
			tpl := mustTemplate(t, c)
			for range 20 {
				inner := randomInner(t, rng)
				hash := rng.Uint32()
				got := encapsulate(t, tpl, inner, hash)
				require.Equal(t, referencePacket(t, c, tpl.SrcPort(hash), inner), got)
			}
		})
	}
}

// referencePacket builds with gopacket the packet Encap should produce
// for configuration c, source port sport and inner frame inner.
func referencePacket(t *testing.T, c TemplateConfig, sport uint16, inner []byte) []byte {
	t.Helper()
	dport := c.DstPort
	if dport == 0 {
		dport = DefaultPort
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	var ls []gopacket.SerializableLayer
	eth := &layers.Ethernet{SrcMAC: c.SrcMAC[:], DstMAC: c.DstMAC[:]}
	ls = append(ls, eth)
	var netLayer gopacket.NetworkLayer
	var et layers.EthernetType
	if c.Src.Is4() {
		var flags layers.IPv4Flag
		if c.DF {
			flags = layers.IPv4DontFragment
		}
		ip := &layers.IPv4{Version: 4, IHL: 5, TOS: c.TOS, Flags: flags, TTL: ttl, Protocol: layers.IPProtocolUDP,
			SrcIP: net.IP(c.Src.AsSlice()), DstIP: net.IP(c.Dst.AsSlice())}
		ls, netLayer, et = append(ls, ip), ip, layers.EthernetTypeIPv4
	} else {
		ip := &layers.IPv6{Version: 6, TrafficClass: c.TOS, NextHeader: layers.IPProtocolUDP, HopLimit: ttl,
			SrcIP: net.IP(c.Src.AsSlice()), DstIP: net.IP(c.Dst.AsSlice())}
		ls, netLayer, et = append(ls, ip), ip, layers.EthernetTypeIPv6
	}
	if c.VLAN != 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls[:1], append([]gopacket.SerializableLayer{&layers.Dot1Q{VLANIdentifier: c.VLAN, Type: et}}, ls[1:]...)...)
	} else {
		eth.EthernetType = et
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	require.NoError(t, udp.SetNetworkLayerForChecksum(netLayer))
	ls = append(ls, udp, &layers.VXLAN{ValidIDFlag: true, VNI: c.VNI}, gopacket.Payload(inner))
	pkt := serialize(t, ls...)
	if c.Src.Is4() && !c.UDPChecksum4 {
		l2 := EthLen
		if c.VLAN != 0 {
			l2 += VLANTagLen
		}
		pkt[l2+IPv4Len+6], pkt[l2+IPv4Len+7] = 0, 0
	}
	return pkt
}

func TestSetNextHopMAC(t *testing.T) {
	c := config6()
	c.DstMAC = [6]byte{} // unresolved
	tpl := mustTemplate(t, c)
	before := *tpl
	mac := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	tpl.SetNextHopMAC(mac)
	require.Equal(t, mac, tpl.NextHopMAC())
	require.Equal(t, [6]byte{}, before.NextHopMAC(), "a copy keeps its own header")
	d := decode(t, encapsulate(t, tpl, innerARP(t, rand.New(rand.NewPCG(1, 2))), 1))
	require.Equal(t, net.HardwareAddr(mac[:]), d.eth.DstMAC)
	require.Equal(t, net.HardwareAddr(macLocal[:]), d.eth.SrcMAC)
}

func TestSrcPortRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, r := range [][2]uint16{{0, 0}, {32768, 60999}, {1, 65535}, {4000, 4000}, {65535, 65535}} {
		c := config4()
		c.SrcPortMin, c.SrcPortMax = r[0], r[1]
		if r == [2]uint16{} {
			r = [2]uint16{DefaultSrcPortMin, DefaultSrcPortMax}
		}
		tpl := mustTemplate(t, c)
		require.Equal(t, r[0], tpl.SrcPort(0))
		require.Equal(t, r[1], tpl.SrcPort(0xFFFFFFFF))
		seen := map[uint16]bool{}
		for range 10000 {
			p := tpl.SrcPort(rng.Uint32())
			require.GreaterOrEqual(t, p, r[0])
			require.LessOrEqual(t, p, r[1])
			seen[p] = true
		}
		if span := int(r[1]-r[0]) + 1; span > 1000 {
			require.Greater(t, len(seen), 5000, "ports spread over %v", r)
		}
	}
}
