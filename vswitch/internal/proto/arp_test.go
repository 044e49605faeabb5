package proto

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// arpPkt returns an ARP packet (no Ethernet) encoded by gopacket.
func arpPkt(t testing.TB, op uint16, sha [6]byte, spa uint32, tha [6]byte, tpa uint32) []byte {
	return serialize(t, &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: sha[:], SourceProtAddress: ip4(spa),
		DstHwAddress: tha[:], DstProtAddress: ip4(tpa),
	})
}

func TestCheckARP(t *testing.T) {
	req := arpPkt(t, ARPRequest, macA, a4("10.0.0.1"), [6]byte{}, a4("10.0.0.254"))
	edit := func(f func(b []byte)) []byte {
		b := append([]byte(nil), req...)
		f(b)
		return b
	}
	for _, tc := range []struct {
		name string
		pkt  []byte
		want Reason
	}{
		{"request", req, OK},
		{"reply", arpPkt(t, ARPReply, macA, a4("10.0.0.1"), macB, a4("10.0.0.2")), OK},
		{"padded", append(append([]byte(nil), req...), make([]byte, 18)...), OK},
		{"runt", req[:27], Runt},
		{"empty", nil, Runt},
		{"htype 6", edit(func(b []byte) { b[1] = 6 }), BadHardware},
		{"hlen 8", edit(func(b []byte) { b[4] = 8 }), BadHardware},
		{"ptype ipv6", edit(func(b []byte) { binary.BigEndian.PutUint16(b[2:], EtherTypeIPv6) }), BadProtocol},
		{"plen 16", edit(func(b []byte) { b[5] = 16 }), BadProtocol},
		{"op 0", edit(func(b []byte) { b[7] = 0 }), BadOp},
		{"rarp", edit(func(b []byte) { b[7] = 3 }), BadOp},
		{"op 257", edit(func(b []byte) { b[6] = 1 }), BadOp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckARP(tc.pkt)
			require.Equal(t, tc.want, r, r.String())
		})
	}
}

func TestARPAccessors(t *testing.T) {
	p := arpPkt(t, ARPReply, macA, a4("192.0.2.1"), macB, a4("192.0.2.2"))
	require.Equal(t, uint16(ARPReply), ARPOp(p))
	require.Equal(t, macA, ARPSenderMAC(p))
	require.Equal(t, a4("192.0.2.1"), ARPSenderIP(p))
	require.Equal(t, macB, ARPTargetMAC(p))
	require.Equal(t, a4("192.0.2.2"), ARPTargetIP(p))
	require.False(t, IsGratuitousARP(p))
	require.False(t, IsARPProbe(p))

	g := arpPkt(t, ARPRequest, macA, a4("192.0.2.1"), [6]byte{}, a4("192.0.2.1"))
	require.True(t, IsGratuitousARP(g))
	require.False(t, IsARPProbe(g))
	probe := arpPkt(t, ARPRequest, macA, 0, [6]byte{}, a4("192.0.2.1"))
	require.True(t, IsARPProbe(probe))
	require.False(t, IsGratuitousARP(probe))
}

func TestARPReplyInPlace(t *testing.T) {
	p := arpPkt(t, ARPRequest, macA, a4("10.1.1.1"), [6]byte{}, a4("10.1.1.254"))
	ARPReplyInPlace(p, macB)
	require.Equal(t, OK, CheckARP(p))
	a := decode(t, p, layers.LayerTypeARP).Layer(layers.LayerTypeARP).(*layers.ARP)
	require.Equal(t, uint16(ARPReply), a.Operation)
	require.Equal(t, net.HardwareAddr(macB[:]), net.HardwareAddr(a.SourceHwAddress))
	require.Equal(t, ip4(a4("10.1.1.254")), net.IP(a.SourceProtAddress))
	require.Equal(t, net.HardwareAddr(macA[:]), net.HardwareAddr(a.DstHwAddress))
	require.Equal(t, ip4(a4("10.1.1.1")), net.IP(a.DstProtAddress))
}

func TestBuildARPRequest(t *testing.T) {
	require.Equal(t, 0, BuildARPRequest(make([]byte, 59), macA, 1, 2))

	buf := make([]byte, 100)
	for i := range buf {
		buf[i] = 0xEE // garbage the builder must overwrite
	}
	n := BuildARPRequest(buf, macA, a4("172.16.0.1"), a4("172.16.0.99"))
	require.Equal(t, 60, n)
	f := buf[:n]
	p := decode(t, f, layers.LayerTypeEthernet)
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	require.Equal(t, net.HardwareAddr{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, eth.DstMAC)
	require.Equal(t, net.HardwareAddr(macA[:]), eth.SrcMAC)
	require.Equal(t, layers.EthernetTypeARP, eth.EthernetType)
	a := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	require.Equal(t, layers.LinkTypeEthernet, a.AddrType)
	require.Equal(t, layers.EthernetTypeIPv4, a.Protocol)
	require.Equal(t, uint16(ARPRequest), a.Operation)
	require.Equal(t, net.HardwareAddr(macA[:]), net.HardwareAddr(a.SourceHwAddress))
	require.Equal(t, ip4(a4("172.16.0.1")), net.IP(a.SourceProtAddress))
	require.Equal(t, make(net.HardwareAddr, 6), net.HardwareAddr(a.DstHwAddress))
	require.Equal(t, ip4(a4("172.16.0.99")), net.IP(a.DstProtAddress))
	require.Equal(t, make([]byte, 60-42), f[42:], "padding is zero")
	require.Equal(t, OK, CheckARP(f[14:]))
}
