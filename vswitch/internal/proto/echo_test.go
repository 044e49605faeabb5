package proto

import (
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

func TestCheckICMP4(t *testing.T) {
	p := echo4(t, "10.0.0.1", "10.0.0.2", 5)
	require.Equal(t, OK, CheckICMP4(p, 20))
	require.Equal(t, ICMP4Echo, ICMP4Type(p, 20))
	padded := append(append([]byte(nil), p...), 0xAB, 0xCD)
	require.Equal(t, OK, CheckICMP4(padded, 20), "padding is not summed")

	bad := append([]byte(nil), p...)
	bad[len(bad)-1] ^= 1
	require.Equal(t, BadChecksum, CheckICMP4(bad, 20))

	short := append([]byte(nil), p[:27]...)
	binary.BigEndian.PutUint16(short[2:], 27)
	setChecksum4(short)
	require.Equal(t, Runt, CheckICMP4(short, 20))
	require.Equal(t, Runt, CheckICMP4(p[:len(p)-1], 20), "total length past the slice")
}

func TestCheckICMP6(t *testing.T) {
	p := echo6(t, "2001:db8::1", "2001:db8::2", 3)
	require.Equal(t, OK, CheckICMP6(p))
	require.Equal(t, ICMP6EchoRequest, ICMP6Type(p))
	require.Equal(t, OK, CheckICMP6(append(append([]byte(nil), p...), 1, 2, 3)))

	bad := append([]byte(nil), p...)
	bad[len(bad)-1] ^= 1
	require.Equal(t, BadChecksum, CheckICMP6(bad))
	bad = append([]byte(nil), p...)
	bad[9] ^= 1 // source address: covered by the pseudo-header
	require.Equal(t, BadChecksum, CheckICMP6(bad))

	require.Equal(t, BadType, CheckICMP6(udp6(t, "::1", "::2", 1, 2, 8)))
	require.Equal(t, BadType, CheckICMP6(p[:20]))
	short := append([]byte(nil), p[:47]...)
	binary.BigEndian.PutUint16(short[4:], 7)
	require.Equal(t, Runt, CheckICMP6(short))
	require.Equal(t, Runt, CheckICMP6(p[:len(p)-1]))
}

func TestEcho4ReplyInPlace(t *testing.T) {
	withOpts := serialize(t, &layers.IPv4{Version: 4, TTL: 3, Protocol: layers.IPProtocolICMPv4, Id: 77,
		Flags: layers.IPv4DontFragment, SrcIP: ip4(a4("192.0.2.10")), DstIP: ip4(a4("198.51.100.1")),
		Options: []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}},
	}, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(ICMP4Echo, 0), Id: 1, Seq: 2}, gopacket.Payload("hello"))

	for name, p := range map[string][]byte{
		"small":        echo4(t, "192.0.2.10", "198.51.100.1", 0),
		"odd data":     echo4(t, "192.0.2.10", "198.51.100.1", 57),
		"large":        echo4(t, "192.0.2.10", "198.51.100.1", 1472),
		"with options": withOpts,
	} {
		t.Run(name, func(t *testing.T) {
			hl, r := Check4(p)
			require.Equal(t, OK, r)
			require.Equal(t, OK, CheckICMP4(p, hl))
			req := decode(t, append([]byte(nil), p...), layers.LayerTypeIPv4)

			Echo4ReplyInPlace(p)
			_, r = Check4(p)
			require.Equal(t, OK, r, "IPv4 checksum")
			require.Equal(t, OK, CheckICMP4(p, hl), "ICMP checksum")

			rep := decode(t, p, layers.LayerTypeIPv4)
			ip, rip := rep.Layer(layers.LayerTypeIPv4).(*layers.IPv4), req.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			require.Equal(t, rip.DstIP, ip.SrcIP)
			require.Equal(t, rip.SrcIP, ip.DstIP)
			require.Equal(t, uint8(ReplyTTL), ip.TTL)
			require.Equal(t, rip.Id, ip.Id)
			require.Equal(t, rip.Options, ip.Options)
			ic, ric := rep.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4), req.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			require.Equal(t, layers.CreateICMPv4TypeCode(ICMP4EchoReply, 0), ic.TypeCode)
			require.Equal(t, ric.Id, ic.Id)
			require.Equal(t, ric.Seq, ic.Seq)
			require.Equal(t, ric.Payload, ic.Payload)
			require.Equal(t, ^refSum(p[hl+4:], refSum(p[hl:hl+2], 0)), binary.BigEndian.Uint16(p[hl+2:]))
		})
	}
}

func TestEcho6ReplyInPlace(t *testing.T) {
	for _, n := range []int{0, 1, 56, 1400} {
		p := echo6(t, "2001:db8::99", "ff02::1", n)
		require.Equal(t, OK, CheckICMP6(p))
		me := a6("fe80::1")
		Echo6ReplyInPlace(p, me.hi, me.lo)
		require.Equal(t, OK, CheckICMP6(p))
		require.Equal(t, uint16(0xFFFF), refICMP6Sum(p))

		d := decode(t, p, layers.LayerTypeIPv6)
		ip := d.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		require.Equal(t, me.ip(), ip.SrcIP)
		require.Equal(t, a6("2001:db8::99").ip(), ip.DstIP)
		require.Equal(t, uint8(ReplyTTL), ip.HopLimit)
		ic := d.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		require.Equal(t, layers.CreateICMPv6TypeCode(ICMP6EchoReply, 0), ic.TypeCode)
		e := d.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo)
		require.Equal(t, uint16(0x4242), e.Identifier)
		require.Equal(t, uint16(9), e.SeqNumber)
		want := make([]byte, n)
		for i := range want {
			want[i] = byte(i * 5)
		}
		require.Equal(t, want, p[48:], "data kept")
	}
}
