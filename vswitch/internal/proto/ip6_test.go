package proto

import (
	"encoding/binary"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

func TestCheck6(t *testing.T) {
	good := udp6(t, "2001:db8::1", "2001:db8::2", 1, 2, 20)
	bad := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	for _, tc := range []struct {
		name string
		pkt  []byte
		want Reason
	}{
		{"ok", good, OK},
		{"ok with padding", append(append([]byte(nil), good...), 0, 0), OK},
		{"ok empty payload", bad(func(b []byte) { binary.BigEndian.PutUint16(b[4:], 0) })[:40], OK},
		{"empty", nil, Runt},
		{"runt", good[:39], Runt},
		{"bad version", bad(func(b []byte) { b[0] = 0x45 }), BadVersion},
		{"payload past the packet", good[:len(good)-1], BadLength},
		{"payload length huge", bad(func(b []byte) { binary.BigEndian.PutUint16(b[4:], 0xFFFF) }), BadLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Check6(tc.pkt)
			require.Equal(t, tc.want, r, r.String())
		})
	}
}

func TestIPv6Accessors(t *testing.T) {
	p := udp6(t, "2001:db8:1:2:3:4:5:6", "fe80::1234", 7, 8, 12)
	require.Equal(t, OK, Check6(p))
	hi, lo := Src6(p)
	require.Equal(t, a6("2001:db8:1:2:3:4:5:6"), addr6{hi, lo})
	hi, lo = Dst6(p)
	require.Equal(t, a6("fe80::1234"), addr6{hi, lo})
	require.Equal(t, ProtoUDP, NextHeader6(p))
	require.Equal(t, uint8(64), HopLimit6(p))
	require.Equal(t, 20, PayloadLen6(p))
}

// extPacket6 returns a UDP/IPv6 packet behind the given extension headers,
// each written as raw bytes after the fixed header.
func extPacket6(t *testing.T, first layers.IPProtocol, exts ...[]byte) []byte {
	udp := udp6(t, "2001:db8::1", "2001:db8::2", 0x1111, 0x2222, 4)
	p := append([]byte(nil), udp[:40]...)
	for _, e := range exts {
		p = append(p, e...)
	}
	p = append(p, udp[40:]...)
	p[6] = uint8(first)
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-40))
	return p
}

func TestUpperLayer6(t *testing.T) {
	hbh := []byte{ProtoDstOpts, 0, 1, 4, 0, 0, 0, 0}                          // PadN
	dst := []byte{ProtoRouting, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // 16 bytes
	rt := []byte{ProtoUDP, 0, 0, 0, 0, 0, 0, 0}
	frag0 := []byte{ProtoUDP, 0, 0, 1, 0, 0, 0, 1}          // offset 0, M
	fragN := []byte{ProtoUDP, 0, 0, 8, 0, 0, 0, 1}          // offset 1 (8 bytes)
	ah := []byte{ProtoUDP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // (1+2)*4 = 12 bytes

	for _, tc := range []struct {
		name string
		pkt  []byte
		nh   uint8
		off  int
		frag fragKind
	}{
		{"none", udp6(t, "::1", "::2", 1, 2, 0), ProtoUDP, 40, notFragment},
		{"hbh dst routing", extPacket6(t, layers.IPProtocolIPv6HopByHop, hbh, dst, rt), ProtoUDP, 72, notFragment},
		{"first fragment", extPacket6(t, layers.IPProtocolIPv6Fragment, frag0), ProtoUDP, 48, firstFragment},
		{"later fragment", extPacket6(t, layers.IPProtocolIPv6Fragment, fragN), ProtoUDP, 48, laterFragment},
		{"ah", extPacket6(t, layers.IPProtocolAH, ah), ProtoUDP, 52, notFragment},
		{"truncated", extPacket6(t, layers.IPProtocolIPv6HopByHop, hbh, dst)[:50], ProtoDstOpts, 48, notFragment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nh, off, frag := upperLayer6(tc.pkt)
			require.Equal(t, tc.nh, nh)
			require.Equal(t, tc.off, off)
			require.Equal(t, tc.frag, frag)
		})
	}

	// A chain longer than maxExtHeaders stops at an extension header.
	var loop [][]byte
	for range maxExtHeaders + 1 {
		loop = append(loop, []byte{ProtoDstOpts, 0, 1, 4, 0, 0, 0, 0})
	}
	nh, _, _ := upperLayer6(extPacket6(t, layers.IPProtocolIPv6Destination, loop...))
	require.Equal(t, ProtoDstOpts, nh)
}

func TestAddressClasses(t *testing.T) {
	require.True(t, IsMulticast4(a4("224.0.0.1")))
	require.True(t, IsMulticast4(a4("239.255.255.255")))
	require.False(t, IsMulticast4(a4("240.0.0.0")))
	require.False(t, IsMulticast4(a4("223.255.255.255")))
	require.True(t, IsBroadcast4(a4("255.255.255.255")))
	require.False(t, IsBroadcast4(a4("10.255.255.255")))
	require.True(t, IsLoopback4(a4("127.1.2.3")))
	require.False(t, IsLoopback4(a4("128.0.0.1")))
	require.True(t, IsThisNetwork4(0))
	require.True(t, IsThisNetwork4(a4("0.1.2.3")))
	require.False(t, IsThisNetwork4(a4("1.0.0.0")))
	require.True(t, IsReserved4(a4("240.0.0.1")))
	require.True(t, IsReserved4(a4("255.255.255.255")))
	require.False(t, IsReserved4(a4("239.0.0.1")))
	require.Equal(t, [6]byte{0x01, 0x00, 0x5E, 0x7F, 0x01, 0x02}, MulticastMAC4(a4("239.255.1.2")))
	require.Equal(t, [6]byte{0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB}, MulticastMAC4(a4("224.128.0.251")))

	for _, tc := range []struct {
		addr                               string
		multicast, linkLocal, unspec, loop bool
	}{
		{"ff02::1", true, false, false, false},
		{"ff0e::1234", true, false, false, false},
		{"fe80::1", false, true, false, false},
		{"febf:ffff::1", false, true, false, false},
		{"fec0::1", false, false, false, false},
		{"::", false, false, true, false},
		{"::1", false, false, false, true},
		{"2001:db8::1", false, false, false, false},
	} {
		a := a6(tc.addr)
		require.Equal(t, tc.multicast, IsMulticast6(a.hi, a.lo), tc.addr)
		require.Equal(t, tc.linkLocal, IsLinkLocal6(a.hi, a.lo), tc.addr)
		require.Equal(t, tc.unspec, IsUnspecified6(a.hi, a.lo), tc.addr)
		require.Equal(t, tc.loop, IsLoopback6(a.hi, a.lo), tc.addr)
	}

	a := a6("2001:db8::aabb:ccdd:eeff")
	hi, lo := SolicitedNode6(a.hi, a.lo)
	require.Equal(t, a6("ff02::1:ffdd:eeff"), addr6{hi, lo})
	require.True(t, IsSolicitedNode6(hi, lo))
	require.False(t, IsSolicitedNode6(AllNodesHi, AllNodesLo))
	require.False(t, IsSolicitedNode6(a6("ff02::2:ffdd:eeff").hi, a6("ff02::2:ffdd:eeff").lo))
	require.Equal(t, [6]byte{0x33, 0x33, 0xFF, 0xDD, 0xEE, 0xFF}, MulticastMAC6(hi, lo))
	require.Equal(t, [6]byte{0x33, 0x33, 0, 0, 0, 1}, MulticastMAC6(AllNodesHi, AllNodesLo))
	require.Equal(t, a6("ff02::1"), addr6{AllNodesHi, AllNodesLo})
	require.Equal(t, a6("ff02::2"), addr6{AllRoutersHi, AllRoutersLo})
}

func TestReasonString(t *testing.T) {
	seen := map[string]bool{}
	for r := range NumReasons {
		s := r.String()
		require.NotEmpty(t, s)
		require.False(t, seen[s], s)
		seen[s] = true
	}
	require.Equal(t, "bad-checksum", BadChecksum.String())
	require.Equal(t, "reason-200", Reason(200).String())
}
