package proto

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// The fuzz targets hold each parser to a slow reference or to gopacket,
// and run what the data path would run next on what the parser accepts.
// Targets taking a fix flag repair the checksum first when it is set, so
// the fuzzer gets past the checksum into the deeper rules.

// refCheck4 is Check4 written plainly.
func refCheck4(b []byte) (int, Reason) {
	switch {
	case len(b) < 20:
		return 0, Runt
	case b[0]>>4 != 4:
		return 0, BadVersion
	case int(b[0]&0xF)*4 < 20:
		return 0, BadIHL
	case int(b[0]&0xF)*4 > len(b):
		return 0, Runt
	}
	hl := int(b[0]&0xF) * 4
	if tl := int(b[2])<<8 | int(b[3]); tl < hl || tl > len(b) {
		return 0, BadLength
	}
	if refSum(b[:hl], 0) != 0xFFFF {
		return 0, BadChecksum
	}
	return hl, OK
}

func FuzzCheck4(f *testing.F) {
	f.Add(udp4(f, "10.0.0.1", "10.0.0.2", 1, 2, 10), false)
	f.Add(echo4(f, "10.0.0.1", "10.0.0.2", 10), false)
	f.Add(serialize(f, &layers.IPv4{Version: 4, TTL: 9, Protocol: layers.IPProtocolUDP,
		SrcIP: ip4(1), DstIP: ip4(2), Flags: layers.IPv4MoreFragments,
		Options: []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}},
	}, gopacket.Payload("xyz")), false)
	f.Add([]byte{0x45, 0, 0, 20}, true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix && len(b) >= 20 {
			if hl := int(b[0]&0xF) * 4; hl >= 20 && hl <= len(b) {
				setChecksum4(b)
			}
		}
		hl, r := Check4(b)
		wantHL, wantR := refCheck4(b)
		require.Equal(t, wantR, r)
		require.Equal(t, wantHL, hl)
		if r != OK {
			return
		}
		pkt := b[:TotalLen4(b)]
		var ip layers.IPv4
		if err := ip.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback); err != nil {
			require.Greater(t, hl, 20, "only options trouble gopacket: %v", err)
		} else {
			require.Equal(t, hl, int(ip.IHL)*4)
			require.Equal(t, len(pkt), int(ip.Length))
			require.Equal(t, ip4(Src4(pkt)), ip.SrcIP)
			require.Equal(t, ip4(Dst4(pkt)), ip.DstIP)
			require.Equal(t, uint8(ip.Protocol), Proto4(pkt))
			require.Equal(t, ip.TTL, TTL4(pkt))
			require.Equal(t, ip.Flags&layers.IPv4DontFragment != 0, DF4(pkt))
			require.Equal(t, ip.Flags&layers.IPv4MoreFragments != 0, MF4(pkt))
			require.Equal(t, int(ip.FragOffset)*8, FragOffset4(pkt))
		}

		h := FlowHash4(pkt, hl)
		require.NotZero(t, h)
		require.Equal(t, h, FlowHash4(append([]byte(nil), pkt...), hl))
		ICMP4ErrorAllowed(pkt)
		if ttl := TTL4(pkt); ttl > 1 {
			c := append([]byte(nil), pkt...)
			DecTTL4(c)
			_, r := Check4(c)
			require.Equal(t, OK, r)
			require.Equal(t, ttl-1, TTL4(c))
		}
		if Proto4(pkt) == ProtoICMP && CheckICMP4(pkt, hl) == OK && ICMP4Type(pkt, hl) == ICMP4Echo {
			c := append([]byte(nil), pkt...)
			Echo4ReplyInPlace(c)
			_, r := Check4(c)
			require.Equal(t, OK, r)
			require.Equal(t, OK, CheckICMP4(c, hl))
			require.Equal(t, ICMP4EchoReply, ICMP4Type(c, hl))
			require.Equal(t, Src4(pkt), Dst4(c))
		}
	})
}

// refCheck6 is Check6 written plainly.
func refCheck6(b []byte) Reason {
	switch {
	case len(b) < 40:
		return Runt
	case b[0]>>4 != 6:
		return BadVersion
	case 40+(int(b[4])<<8|int(b[5])) > len(b):
		return BadLength
	}
	return OK
}

func FuzzCheck6(f *testing.F) {
	f.Add(udp6(f, "2001:db8::1", "2001:db8::2", 1, 2, 10), false)
	f.Add(echo6(f, "2001:db8::1", "2001:db8::2", 10), false)
	f.Add(echo6(f, "2001:db8::1", "2001:db8::2", 10), true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix && len(b) >= 44 && b[6] == ProtoICMPv6 && 40+int(binary.BigEndian.Uint16(b[4:])) <= len(b) &&
			binary.BigEndian.Uint16(b[4:]) >= 4 {
			fixICMP6(b)
		}
		r := Check6(b)
		require.Equal(t, refCheck6(b), r)
		if r != OK {
			return
		}
		pkt := b[:40+PayloadLen6(b)]
		var ip layers.IPv6
		err := ip.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback)
		if NextHeader6(pkt) != ProtoHopByHop && PayloadLen6(pkt) != 0 {
			require.NoError(t, err)
		}
		if err == nil {
			sh, sl := Src6(pkt)
			dh, dl := Dst6(pkt)
			require.Equal(t, addr6{sh, sl}.ip(), ip.SrcIP)
			require.Equal(t, addr6{dh, dl}.ip(), ip.DstIP)
			require.Equal(t, uint8(ip.NextHeader), NextHeader6(pkt))
			require.Equal(t, ip.HopLimit, HopLimit6(pkt))
		}

		h := FlowHash6(pkt)
		require.NotZero(t, h)
		require.Equal(t, h, FlowHash6(append([]byte(nil), pkt...)))
		ICMP6ErrorAllowed(pkt, ICMP6TimeExceeded, 0)
		ICMP6ErrorAllowed(pkt, ICMP6PacketTooBig, 0)
		if CheckICMP6(pkt) == OK {
			require.Equal(t, uint16(0xFFFF), refICMP6Sum(pkt))
			if ICMP6Type(pkt) == ICMP6EchoRequest {
				c := append([]byte(nil), pkt...)
				Echo6ReplyInPlace(c, 0xFE80<<48, 1)
				require.Equal(t, OK, CheckICMP6(c))
				require.Equal(t, ICMP6EchoReply, ICMP6Type(c))
				require.Equal(t, pkt[8:24], c[24:40])
			}
		}
	})
}

// refCheckARP is CheckARP written plainly.
func refCheckARP(b []byte) Reason {
	switch {
	case len(b) < 28:
		return Runt
	case b[0] != 0 || b[1] != 1 || b[4] != 6:
		return BadHardware
	case b[2] != 8 || b[3] != 0 || b[5] != 4:
		return BadProtocol
	case b[6] != 0 || (b[7] != 1 && b[7] != 2):
		return BadOp
	}
	return OK
}

func FuzzARP(f *testing.F) {
	f.Add(arpPkt(f, ARPRequest, macA, 0x0A000001, [6]byte{}, 0x0A000002))
	f.Add(arpPkt(f, ARPReply, macA, 0x0A000001, macB, 0x0A000002))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := CheckARP(b)
		require.Equal(t, refCheckARP(b), r)
		if r != OK {
			return
		}
		var a layers.ARP
		require.NoError(t, a.DecodeFromBytes(b, gopacket.NilDecodeFeedback))
		require.Equal(t, a.Operation, ARPOp(b))
		sha, tha := ARPSenderMAC(b), ARPTargetMAC(b)
		require.Equal(t, net.HardwareAddr(a.SourceHwAddress), net.HardwareAddr(sha[:]))
		require.Equal(t, net.HardwareAddr(a.DstHwAddress), net.HardwareAddr(tha[:]))
		require.Equal(t, ip4(ARPSenderIP(b)), net.IP(a.SourceProtAddress))
		require.Equal(t, ip4(ARPTargetIP(b)), net.IP(a.DstProtAddress))
		require.Equal(t, bytes.Equal(a.SourceProtAddress, a.DstProtAddress), IsGratuitousARP(b))

		c := append([]byte(nil), b...)
		ARPReplyInPlace(c, macB)
		require.Equal(t, OK, CheckARP(c))
		require.Equal(t, uint16(ARPReply), ARPOp(c))
		require.Equal(t, macB, ARPSenderMAC(c))
		require.Equal(t, ARPTargetIP(b), ARPSenderIP(c))
		require.Equal(t, ARPSenderMAC(b), ARPTargetMAC(c))
		require.Equal(t, ARPSenderIP(b), ARPTargetIP(c))
	})
}

func FuzzND(f *testing.F) {
	buf := make([]byte, 128)
	me := a6("2001:db8::1")
	f.Add(ndPkt(f, ICMP6NeighborSolicit, "2001:db8::9", "ff02::1:ff00:1", "2001:db8::1", 0, llOpt(NDOptSourceLL, macA)), false)
	f.Add(ndPkt(f, ICMP6NeighborSolicit, "::", "ff02::1:ff00:1", "2001:db8::1", 0, nil), false)
	f.Add(ndPkt(f, ICMP6NeighborAdvert, "2001:db8::9", "2001:db8::1", "2001:db8::9", NASolicited, llOpt(NDOptTargetLL, macB)), false)
	f.Add(buf[EthHeaderLen:BuildNS(buf, macA, me.hi, me.lo, 1, 2)], true)
	f.Add(buf[EthHeaderLen:BuildNA(buf, macA, macB, me.hi, me.lo, 1, 2, NAOverride)], true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix && len(b) >= 44 && b[6] == ProtoICMPv6 && 40+int(binary.BigEndian.Uint16(b[4:])) <= len(b) &&
			binary.BigEndian.Uint16(b[4:]) >= 4 {
			fixICMP6(b)
		}
		var nd ND
		if ParseND(b, &nd) != OK {
			return
		}
		pkt := b[:40+PayloadLen6(b)]
		require.Equal(t, uint8(255), HopLimit6(pkt))
		require.Equal(t, uint16(0xFFFF), refICMP6Sum(pkt))
		require.GreaterOrEqual(t, len(pkt), 64)
		require.Equal(t, uint8(0), pkt[41])
		require.False(t, IsMulticast6(nd.TargetHi, nd.TargetLo))

		p := decode(t, pkt, layers.LayerTypeIPv6)
		var target net.IP
		var opts layers.ICMPv6Options
		want := layers.ICMPv6OptSourceAddress
		if nd.Type == ICMP6NeighborSolicit {
			m := p.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
			target, opts = m.TargetAddress, m.Options
		} else {
			m := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
			target, opts, want = m.TargetAddress, m.Options, layers.ICMPv6OptTargetAddress
			require.Equal(t, m.Flags&0xE0, nd.Flags)
		}
		require.Equal(t, addr6{nd.TargetHi, nd.TargetLo}.ip(), target)
		found := false
		for _, o := range opts {
			if o.Type == want {
				require.Equal(t, nd.LLAddr[:], o.Data)
				found = true
				break
			}
		}
		require.Equal(t, found, nd.HasLLAddr)

		if nd.Type == ICMP6NeighborSolicit {
			n := BuildNAReply(buf, pkt, macA, macB, NAOverride)
			require.Equal(t, NAFrameLen, n)
			var na ND
			require.Equal(t, OK, ParseND(buf[EthHeaderLen:n], &na))
			require.Equal(t, nd.TargetHi, na.TargetHi)
			require.Equal(t, nd.TargetLo, na.TargetLo)
		}
	})
}

func FuzzICMPError(f *testing.F) {
	f.Add(udp4(f, "10.0.0.1", "10.0.0.2", 1, 2, 10), ICMP4TimeExceeded, uint8(0), uint32(0), uint16(600), uint8(28))
	f.Add(udp6(f, "2001:db8::1", "2001:db8::2", 1, 2, 10), ICMP6PacketTooBig, uint8(0), uint32(1280), uint16(1500), uint8(48))
	f.Add([]byte{0x45}, uint8(3), uint8(4), uint32(1400), uint16(10), uint8(0))
	f.Fuzz(func(t *testing.T, orig []byte, typ, code uint8, aux uint32, room uint16, at uint8) {
		ICMP4ErrorAllowed(orig)
		ICMP6ErrorAllowed(orig, typ, code)
		size := int(room) % 2048

		dst := make([]byte, size)
		n := BuildICMP4Error(dst, orig, typ, code, aux, 0x0A000001)
		if len(orig) < 20 || size < 28 {
			require.Zero(t, n)
		} else {
			require.GreaterOrEqual(t, n, 28)
			require.LessOrEqual(t, n, min(size, MaxICMP4ErrorLen))
			e := dst[:n]
			hl, r := Check4(e)
			require.Equal(t, OK, r)
			require.Equal(t, OK, CheckICMP4(e, hl))
			require.Equal(t, Src4(orig), Dst4(e))
			require.Equal(t, orig[:n-28], e[28:])
			require.Equal(t, aux, binary.BigEndian.Uint32(e[24:]))
			checkOverlap(t, orig, int(at), e, func(d, o []byte) int {
				return BuildICMP4Error(d, o, typ, code, aux, 0x0A000001)
			})
		}

		dst = make([]byte, size)
		n = BuildICMP6Error(dst, orig, typ, code, aux, 0xFE80<<48, 1)
		if len(orig) < 40 || size < 48 {
			require.Zero(t, n)
		} else {
			require.GreaterOrEqual(t, n, 48)
			require.LessOrEqual(t, n, min(size, MaxICMP6ErrorLen))
			e := dst[:n]
			require.Equal(t, OK, Check6(e))
			require.Equal(t, OK, CheckICMP6(e))
			require.Equal(t, orig[8:24], e[24:40])
			require.Equal(t, orig[:n-48], e[48:])
			checkOverlap(t, orig, int(at), e, func(d, o []byte) int {
				return BuildICMP6Error(d, o, typ, code, aux, 0xFE80<<48, 1)
			})
		}
	})
}

// checkOverlap builds again with orig copied at offset at of the output
// buffer, the size of the first output, and wants the same bytes.
func checkOverlap(t *testing.T, orig []byte, at int, want []byte, build func(dst, orig []byte) int) {
	buf := make([]byte, max(len(want), at+len(orig)))
	copy(buf[at:], orig)
	n := build(buf[:len(want)], buf[at:at+len(orig)])
	require.Equal(t, want, buf[:n])
}
