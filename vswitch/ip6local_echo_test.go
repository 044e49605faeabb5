package vswitch

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// echo6 is an Ethernet/IPv6/ICMPv6 echo request from srcMAC to dstMAC.
func echo6(dstMAC, srcMAC, src, dst string, seq uint16) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	must(ic.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv6},
		ip, ic, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: seq}, gopacket.Payload("hello"))
}

// requireEcho6Reply checks that frame is the echo reply of echo6(..., src,
// dst, seq) sent to dstMAC: addresses swapped, type 129, same identifier,
// sequence and payload, and a checksum that verifies.
func requireEcho6Reply(t *testing.T, frame []byte, dstMAC, src, dst string, seq uint16) {
	t.Helper()
	p := decodePkt(t, frame)
	require.Equal(t, dstMAC, p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).DstMAC.String())
	ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	require.Equal(t, dst, ip.SrcIP.String(), "reply source")
	require.Equal(t, src, ip.DstIP.String(), "reply destination")
	ic := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	require.EqualValues(t, layers.ICMPv6TypeEchoReply, ic.TypeCode.Type())
	echo := p.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo)
	require.EqualValues(t, 7, echo.Identifier)
	require.Equal(t, seq, echo.SeqNumber)
	require.Equal(t, "hello", string(ip.Payload[8:]), "echo data") // after type, code, checksum, identifier, sequence
	// The checksum: the sum over pseudo-header and message is all ones.
	msg := ip.Payload
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip.SrcIP.To16())
	add(ip.DstIP.To16())
	sum += uint32(len(msg)) + uint32(layers.IPProtocolICMPv6)
	add(msg)
	for sum > 0xFFFF {
		sum = sum&0xFFFF + sum>>16
	}
	require.EqualValues(t, 0xFFFF, sum, "ICMPv6 checksum")
}

// TestIP6LocalEchoAnyInterface: an echo request to a router interface
// address of the VRF is answered whichever interface it came in by, as
// IPv4's is (ping6 fd02::1 from a host on ra's bridge was dropped as
// not-for-us); neighbor discovery stays per interface.
func TestIP6LocalEchoAnyInterface(t *testing.T) {
	r := newL3Rig(t, testL3Config())

	// IPv4 for comparison: 10.2.0.1 (rb's) answers a host behind ra.
	r.send("a", serialize(&layers.Ethernet{DstMAC: mustMAC(macRA), SrcMAC: mustMAC(macA), EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP("10.1.0.2"), DstIP: net.ParseIP("10.2.0.1")},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 7, Seq: 1}))
	only(t, r.recv(), "a", 1)

	for _, tc := range []struct {
		name, port, mac, gwMAC, src, dst string
	}{
		{"own interface", "a", macA, macRA, "fd01::2", "fd01::1"},
		{"other interface", "a", macA, macRA, "fd01::2", "fd02::1"},
		{"other interface, from b", "b", macB, macRB, "fd02::2", "fd01::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := allDrops(r.s)
			r.send(tc.port, echo6(tc.gwMAC, tc.mac, tc.src, tc.dst, 5))
			requireEcho6Reply(t, only(t, r.recv(), tc.port, 1)[0], tc.mac, tc.src, tc.dst, 5)
			require.Empty(t, dropsSince(r.s, before))
		})
	}

	t.Run("neighbor solicitation stays per interface", func(t *testing.T) {
		// A solicitation on ra for rb's address is not answered: the
		// address is not on that link.
		ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: net.ParseIP("fd02::1"),
			Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: mustMAC(macA)}}}
		ip6 := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP("fd01::2"), DstIP: net.ParseIP("ff02::1:ff00:1")}
		ic6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)}
		must(ic6.SetNetworkLayerForChecksum(ip6))
		before := allDrops(r.s)
		r.send("a", serialize(&layers.Ethernet{DstMAC: mustMAC("33:33:ff:00:00:01"), SrcMAC: mustMAC(macA), EthernetType: layers.EthernetTypeIPv6}, ip6, ic6, ns))
		require.Empty(t, r.recv())
		require.Equal(t, map[string]uint64{nodeIP6Local + "/not-for-us": 1}, dropsSince(r.s, before))
	})

	t.Run("multicast and other link-local not answered", func(t *testing.T) {
		before := allDrops(r.s)
		r.send("a", echo6("33:33:00:00:00:01", macA, "fd01::2", "ff02::1", 6))
		require.Empty(t, r.recv())
		require.Equal(t, map[string]uint64{nodeIP6Local + "/not-for-us": 1}, dropsSince(r.s, before))
	})
}

// TestIP6LocalEchoOtherVRF: an address of another VRF is not the ingress
// VRF's: the request is routed (here: no route, an ICMPv6 unreachable),
// never answered as an echo.
func TestIP6LocalEchoOtherVRF(t *testing.T) {
	cfg := testL3Config()
	cfg.VRFs = []VRF{{Name: "red"}}
	cfg.Interfaces[1].VRF = "red"
	cfg.Neighbors = []Neighbor{{Interface: "ra", Addr: "fd01::2", MAC: macA}}
	r := newL3Rig(t, cfg)
	r.send("a", echo6(macRA, macA, "fd01::2", "fd02::1", 1))
	p := decodePkt(t, only(t, r.recv(), "a", 1)[0])
	require.EqualValues(t, layers.ICMPv6TypeDestinationUnreachable, p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6).TypeCode.Type())
}

// TestIP6LocalEchoAllocations: answering an echo to another interface's
// address (a FIB lookup in ip6-local) allocates nothing.
func TestIP6LocalEchoAllocations(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	frame := echo6(macRA, macA, "fd01::2", "fd02::1", 1)
	r.send("a", frame)
	only(t, r.recv(), "a", 1)
	for _, q := range r.ports {
		q.SetSink(true)
	}
	t.Cleanup(func() {
		for _, q := range r.ports {
			q.SetSink(false)
		}
	})
	frames := repeatFrame(64, frame)
	p, w := r.ports["a"], r.s.Workers()[0]
	allocs := testing.AllocsPerRun(50, func() {
		p.Inject(0, frames...)
		w.Poll()
	})
	require.Zero(t, allocs, "allocations per poll")
	requireNoLeak(t, r.s)
}
