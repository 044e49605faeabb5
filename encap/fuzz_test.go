package encap

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// repair fixes, where the packet is long enough, the outer IPv4 header
// checksum and the UDP checksum, so that the fuzzer gets past them into
// the deeper checks.
func repair(pkt []byte) {
	if len(pkt) < EthLen+VLANTagLen+IPv6Len+UDPLen {
		return
	}
	ip := pkt[l2Len(pkt):]
	switch ip[0] >> 4 {
	case 4:
		fixIPv4(pkt)
		if ip[0]&0x0F == 5 {
			fixUDP(pkt)
		}
	case 6:
		fixUDP(pkt)
	}
}

func FuzzParseOuter(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	vlan := func(c TemplateConfig) TemplateConfig { c.VLAN = 5; return c }
	csum := func(c TemplateConfig) TemplateConfig { c.UDPChecksum4 = true; return c }
	for _, c := range []TemplateConfig{config4(), config6(), vlan(config4()), vlan(config6()), csum(config4())} {
		pkt := encapsulate(f, mustTemplate(f, c), randomInner(f, rng), rng.Uint32())
		f.Add(bytes.Clone(pkt), false, uint8(0))
		f.Add(bytes.Clone(pkt[:len(pkt)/2]), true, uint8(3))
	}
	f.Add([]byte{}, false, uint8(0))
	f.Fuzz(func(t *testing.T, pkt []byte, fix bool, opts uint8) {
		if fix {
			repair(pkt)
		}
		c := DecapConfig{VerifyUDP4: opts&1 != 0, AcceptZeroUDP6: opts&2 != 0}
		if opts&4 != 0 {
			c.Port = 8472
		}
		o, r := ParseOuter(pkt, c)
		require.Less(t, r, NumReasons)
		if r != OK {
			return
		}
		require.GreaterOrEqual(t, o.InnerLen, EthLen)
		require.LessOrEqual(t, o.InnerOff+o.InnerLen, len(pkt))

		// gopacket agrees on everything ParseOuter reports.
		var d decoded
		require.NoError(t, d.eth.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback))
		rest, et := d.eth.Payload, d.eth.EthernetType
		if et == layers.EthernetTypeDot1Q {
			var q layers.Dot1Q
			require.NoError(t, q.DecodeFromBytes(rest, gopacket.NilDecodeFeedback))
			require.Equal(t, q.VLANIdentifier, o.VLAN)
			rest, et = q.Payload, q.Type
		}
		if o.Is6 {
			require.Equal(t, layers.EthernetTypeIPv6, et)
			var ip layers.IPv6
			require.NoError(t, ip.DecodeFromBytes(rest, gopacket.NilDecodeFeedback))
			require.Equal(t, o.Src, [16]byte(ip.SrcIP.To16()))
			require.Equal(t, o.Dst, [16]byte(ip.DstIP.To16()))
			require.Equal(t, o.TOS, ip.TrafficClass)
			rest = ip.Payload
		} else {
			require.Equal(t, layers.EthernetTypeIPv4, et)
			var ip layers.IPv4
			if err := ip.DecodeFromBytes(rest, gopacket.NilDecodeFeedback); err != nil {
				require.Greater(t, int(rest[0]&0x0F), 5, "only options trouble gopacket: %v", err)
				return
			}
			require.Equal(t, uint16(0xFFFF), refSum(ip.Contents, 0))
			require.Zero(t, ip.Flags&layers.IPv4MoreFragments)
			require.Zero(t, ip.FragOffset)
			require.Equal(t, o.SrcAddr(), netip.AddrFrom4([4]byte(ip.SrcIP.To4())))
			require.Equal(t, o.DstAddr(), netip.AddrFrom4([4]byte(ip.DstIP.To4())))
			require.Equal(t, o.TOS, ip.TOS)
			rest = ip.Payload
		}
		var udp layers.UDP
		require.NoError(t, udp.DecodeFromBytes(rest, gopacket.NilDecodeFeedback))
		require.Equal(t, o.SrcPort, uint16(udp.SrcPort))
		require.Equal(t, o.DstPort, uint16(udp.DstPort))
		port := c.Port
		if port == 0 {
			port = DefaultPort
		}
		require.Equal(t, port, o.DstPort)
		if udp.Checksum != 0 && (o.Is6 || c.VerifyUDP4) {
			require.Equal(t, uint16(0xFFFF), refUDPSum(o.SrcAddr(), o.DstAddr(), append(bytes.Clone(udp.Contents), udp.Payload...)))
		}
		require.True(t, udp.Checksum != 0 || !o.Is6 || c.AcceptZeroUDP6)
		var vx layers.VXLAN
		require.NoError(t, vx.DecodeFromBytes(udp.Payload, gopacket.NilDecodeFeedback))
		require.True(t, vx.ValidIDFlag)
		require.Equal(t, vx.VNI, o.VNI)
		require.Equal(t, len(vx.Payload), o.InnerLen)
		require.Equal(t, vx.Payload, pkt[o.InnerOff:o.InnerOff+o.InnerLen])
	})
}

func FuzzEncapRoundTrip(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	f.Add(innerUDP4(f, rng, 30), uint32(42), uint32(7), uint8(0), uint16(0), uint8(0), uint8(0))
	f.Add(innerTCP6(f, rng, 100), uint32(MaxVNI), uint32(0xFFFFFFFF), uint8(1), uint16(4094), uint8(0xB8), uint8(1))
	f.Add(innerARP(f, rng), uint32(0), uint32(0), uint8(6), uint16(1), uint8(3), uint8(255))
	f.Add([]byte{1, 2, 3}, uint32(1), uint32(1), uint8(7), uint16(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, inner []byte, vni, hash uint32, flags uint8, vlan uint16, tos, ttl uint8) {
		if len(inner) > testFrameSize-testHeadroom {
			inner = inner[:testFrameSize-testHeadroom]
		}
		c := config4()
		if flags&1 != 0 {
			c = config6()
		}
		c.VNI, c.VLAN, c.TOS, c.TTL = vni&MaxVNI, vlan%4095, tos, ttl
		c.DF, c.UDPChecksum4 = flags&2 != 0, flags&4 != 0
		if flags&8 != 0 {
			c.SrcPortMin, c.SrcPortMax = 32768, 60999
		}
		tpl := mustTemplate(t, c)
		buf, off := inFrame(inner)
		off, n, ok := Encap(tpl, buf, off, len(inner), hash)
		require.True(t, ok)
		pkt := buf[off : off+n]

		o, r := ParseOuter(pkt, DecapConfig{VerifyUDP4: true})
		if len(inner) < EthLen {
			require.Equal(t, InnerRunt, r)
			return
		}
		require.Equal(t, OK, r)
		require.Equal(t, inner, pkt[o.InnerOff:o.InnerOff+o.InnerLen])
		require.Equal(t, c.VNI, o.VNI)
		require.Equal(t, tpl.SrcPort(hash), o.SrcPort)
		if flags&8 != 0 {
			require.True(t, o.SrcPort >= 32768 && o.SrcPort <= 60999)
		} else {
			require.GreaterOrEqual(t, o.SrcPort, uint16(DefaultSrcPortMin))
		}
		checkEncapsulated(t, c, tpl, pkt, inner, hash)
	})
}

func FuzzInnerFlowHash(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	f.Add(innerUDP4(f, rng, 30))
	f.Add(innerTCP6(f, rng, 30))
	f.Add(innerARP(f, rng))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := InnerFlowHash(b)
		require.NotZero(t, h)
		require.Equal(t, h, InnerFlowHash(bytes.Clone(b)))
		if len(b) >= EthLen {
			// A VLAN tag in front of an IP frame never changes its hash.
			et := binary.BigEndian.Uint16(b[12:])
			if et == etherTypeIPv4 || et == etherTypeIPv6 {
				tagged := append(append(bytes.Clone(b[:12]), 0x81, 0, 0, 1), b[12:]...)
				require.Equal(t, h, InnerFlowHash(tagged))
			}
		}
	})
}
