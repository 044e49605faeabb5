package vswitch

import (
	"fmt"
	"net"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// TestMartianSource: routed packets from a source that never sends one
// (this network, loopback, multicast, class E, limited broadcast, the
// ingress interface's own address or its subnet's broadcast; IPv6: the
// unspecified and loopback addresses, multicast, the interface's own)
// are dropped as martian-source, by the fast loop and the general nodes
// alike, and get no ICMP error even when their TTL is spent. Before,
// they were routed (and masqueraded, with NAT).
func TestMartianSource(t *testing.T) {
	for _, unfused := range []bool{false, true} {
		t.Run(fmt.Sprintf("unfused=%v", unfused), func(t *testing.T) {
			r := newL3Rig(t, testL3Config())
			r.s.lrn.unfused.Store(unfused)
			for _, src := range []string{"0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.5", "240.0.0.1",
				"255.255.255.255", "10.1.0.1", "10.1.0.255"} {
				for _, ttl := range []uint8{64, 1} {
					before := allDrops(r.s)
					r.send("a", pkt4(macRA, macA, src, "10.2.0.2", ttl, 1, 18, false))
					require.Empty(t, r.recv(), "%s routed", src)
					require.Equal(t, map[string]uint64{nodeIP4Forward + "/martian-source": 1}, dropsSince(r.s, before), src)
				}
			}
			for _, src := range []string{"::", "::1", "ff02::1", "ff0e::5", "fd01::1"} {
				before := allDrops(r.s)
				r.send("a", pkt6(macRA, macA, src, "fd02::2", 64, 1, 18))
				require.Empty(t, r.recv(), "%s routed", src)
				require.Equal(t, map[string]uint64{nodeIP6Forward + "/martian-source": 1}, dropsSince(r.s, before), src)
			}
			// Other sources are routed; the ingress subnet's network
			// address and another subnet's addresses are not martian.
			for _, src := range []string{"10.1.0.2", "10.1.0.0", "10.2.0.255", "203.0.113.5"} {
				r.send("a", pkt4(macRA, macA, src, "10.2.0.2", 64, 1, 18, false))
				only(t, r.recv(), "b", 1)
			}
			r.send("a", pkt6(macRA, macA, "fd01::2", "fd02::2", 64, 1, 18))
			only(t, r.recv(), "b", 1)
			// The switch's own packets from its addresses still go
			// (an echo reply routed back to B).
			echo := serialize(&layers.Ethernet{DstMAC: mustMAC(macRB), SrcMAC: mustMAC(macB), EthernetType: layers.EthernetTypeIPv4},
				&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP("10.2.0.2"), DstIP: net.ParseIP("10.1.0.1")},
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 7, Seq: 3})
			r.send("b", echo)
			only(t, r.recv(), "b", 1)
			requireNoLeak(t, r.s)
		})
	}
}

// TestMartianSourceAllocations: the martian-source drops allocate
// nothing per packet.
func TestMartianSourceAllocations(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	w := r.s.Workers()[0]
	for _, f := range [][]byte{
		pkt4(macRA, macA, "10.1.0.255", "10.2.0.2", 64, 1, 18, false),
		pkt6(macRA, macA, "fd01::1", "fd02::2", 64, 1, 18),
	} {
		frames := repeatFrame(64, f)
		before := allDrops(r.s)
		allocs := testing.AllocsPerRun(50, func() {
			r.ports["a"].Inject(0, frames...)
			w.Poll()
		})
		require.Zero(t, allocs, "allocations per poll")
		require.Len(t, dropsSince(r.s, before), 1)
		require.Empty(t, r.recv())
		requireNoLeak(t, r.s)
	}
}
