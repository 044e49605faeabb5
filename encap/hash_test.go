package encap

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// udp4Flow is an Ethernet/IPv4/UDP frame of the given flow.
func udp4Flow(t testing.TB, src, dst byte, sport, dport uint16, ttl uint8, n int) []byte {
	ip := &layers.IPv4{Version: 4, TTL: ttl, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IPv4(10, 0, 0, src), DstIP: net.IPv4(10, 0, 1, dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
	return serialize(t, &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4},
		ip, udp, payload(rand.New(rand.NewPCG(uint64(n), 0)), n))
}

func TestInnerFlowHashFields(t *testing.T) {
	base := udp4Flow(t, 1, 2, 1000, 53, 64, 10)
	h := InnerFlowHash(base)
	require.NotZero(t, h)
	require.Equal(t, h, InnerFlowHash(bytes.Clone(base)), "deterministic")

	// What a flow is made of changes the hash...
	for name, f := range map[string][]byte{
		"source":      udp4Flow(t, 9, 2, 1000, 53, 64, 10),
		"destination": udp4Flow(t, 1, 9, 1000, 53, 64, 10),
		"source port": udp4Flow(t, 1, 2, 1001, 53, 64, 10),
		"dest port":   udp4Flow(t, 1, 2, 1000, 54, 64, 10),
	} {
		require.NotEqual(t, h, InnerFlowHash(f), name)
	}
	// ...and what is not does not.
	same := udp4Flow(t, 1, 2, 1000, 53, 3, 500)
	copy(same[0:12], []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	require.Equal(t, h, InnerFlowHash(same), "TTL, length, payload and MACs")

	// An inner VLAN tag is skipped.
	tagged := append(append(bytes.Clone(base[:12]), 0x81, 0x00, 0x00, 0x07), base[12:]...)
	require.Equal(t, h, InnerFlowHash(tagged))
	qinq := append(append(bytes.Clone(base[:12]), 0x88, 0xA8, 0x00, 0x07, 0x81, 0x00, 0x00, 0x08), base[12:]...)
	require.Equal(t, h, InnerFlowHash(qinq))

	// Fragments hash without ports, so all fragments of a datagram agree.
	frag := func(sport uint16, offset uint16) []byte {
		f := udp4Flow(t, 1, 2, sport, 53, 64, 10)
		binary.BigEndian.PutUint16(f[EthLen+6:], 0x2000|offset)
		return f
	}
	require.Equal(t, InnerFlowHash(frag(1000, 0)), InnerFlowHash(frag(2000, 100)))
	require.NotEqual(t, h, InnerFlowHash(frag(1000, 0)))

	// IPv6: ports count for TCP; addresses count.
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := innerTCP6(t, rng, 10), innerTCP6(t, rng, 10)
	require.NotEqual(t, InnerFlowHash(a), InnerFlowHash(b))
	a2 := bytes.Clone(a)
	a2[EthLen+7] = 1 // hop limit
	require.Equal(t, InnerFlowHash(a), InnerFlowHash(a2))
	a2[EthLen+IPv6Len+1]++ // source port
	require.NotEqual(t, InnerFlowHash(a), InnerFlowHash(a2))

	// Non-IP frames hash on MACs and EtherType.
	arp := innerARP(t, rng)
	arp2 := bytes.Clone(arp)
	arp2[6]++
	require.NotEqual(t, InnerFlowHash(arp), InnerFlowHash(arp2))
	arp2 = bytes.Clone(arp)
	arp2[30]++ // sender IP: not hashed
	require.Equal(t, InnerFlowHash(arp), InnerFlowHash(arp2))
}

// TestInnerFlowHashTruncated hashes every prefix of several frames: never a
// panic, never 0.
func TestInnerFlowHashTruncated(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range [][]byte{innerUDP4(t, rng, 20), innerTCP6(t, rng, 20), innerARP(t, rng),
		append([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0, 0, 1, 0x81, 0, 0, 2, 0x81, 0}, make([]byte, 40)...)} {
		for n := range len(f) + 1 {
			require.NotZero(t, InnerFlowHash(f[:n]))
		}
	}
}

// TestInnerFlowHashSpread checks that the source ports of many flows fill
// the port range evenly: ECMP in the underlay depends on it.
func TestInnerFlowHashSpread(t *testing.T) {
	tpl := mustTemplate(t, config4())
	const flows, buckets = 64 * 1024, 64
	var count [buckets]int
	f := udp4Flow(t, 1, 2, 0, 80, 64, 0)
	for i := range flows {
		binary.BigEndian.PutUint16(f[EthLen+IPv4Len:], uint16(i)) // source port
		f[EthLen+15] = byte(i >> 16)                              // and source address
		p := tpl.SrcPort(InnerFlowHash(f))
		count[int(p-DefaultSrcPortMin)*buckets/(DefaultSrcPortMax-DefaultSrcPortMin+1)]++
	}
	for i, n := range count {
		require.InDelta(t, flows/buckets, n, flows/buckets/5, "bucket %d", i)
	}
}
