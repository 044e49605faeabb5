package proto

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

func TestFlowHash4(t *testing.T) {
	p := udp4(t, "10.0.0.1", "10.0.0.2", 1000, 2000, 10)
	h := FlowHash4(p, 20)
	require.NotZero(t, h)

	// Fields outside the flow do not count.
	q := append([]byte(nil), p...)
	q[8], q[4], q[len(q)-1] = 3, 0x77, 0xEE // TTL, ID, payload
	setChecksum4(q)
	require.Equal(t, h, FlowHash4(q, 20))

	// Each flow field counts.
	require.NotEqual(t, h, FlowHash4(udp4(t, "10.0.0.1", "10.0.0.2", 1001, 2000, 10), 20), "source port")
	require.NotEqual(t, h, FlowHash4(udp4(t, "10.0.0.1", "10.0.0.2", 1000, 2001, 10), 20), "destination port")
	require.NotEqual(t, h, FlowHash4(udp4(t, "10.0.0.3", "10.0.0.2", 1000, 2000, 10), 20), "source")
	require.NotEqual(t, h, FlowHash4(udp4(t, "10.0.0.1", "10.0.0.3", 1000, 2000, 10), 20), "destination")
	q = append([]byte(nil), p...)
	q[9] = ProtoTCP
	require.NotEqual(t, h, FlowHash4(q, 20), "protocol")

	// Without ports, the bytes after the header do not count.
	q[9] = ProtoICMP
	hi := FlowHash4(q, 20)
	q[20], q[21] = 0xAB, 0xCD
	require.Equal(t, hi, FlowHash4(q, 20))

	// Every fragment of a datagram hashes alike, without its ports.
	frag := func(flags layers.IPv4Flag, off uint16, payload []byte) []byte {
		ip := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
		ip.Flags, ip.FragOffset = flags, off
		return serialize(t, ip, gopacket.Payload(payload))
	}
	first := FlowHash4(frag(layers.IPv4MoreFragments, 0, []byte{3, 232, 7, 208, 0, 0, 0, 0}), 20)
	require.Equal(t, first, FlowHash4(frag(0, 100, []byte{9, 9, 9, 9, 9, 9, 9, 9}), 20))
	require.NotEqual(t, h, first)

	// Options move the ports.
	oip := &layers.IPv4{Version: 4, TTL: 9, Protocol: layers.IPProtocolUDP,
		SrcIP: ip4(a4("10.0.0.1")), DstIP: ip4(a4("10.0.0.2")),
		Options: []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}},
	}
	u := &layers.UDP{SrcPort: 1000, DstPort: 2000}
	require.NoError(t, u.SetNetworkLayerForChecksum(oip))
	opt := serialize(t, oip, u, gopacket.Payload(make([]byte, 10)))
	require.Equal(t, h, FlowHash4(opt, 24))

	// A header with no room for ports hashes without them.
	require.Equal(t, FlowHash4(q[:20], 20), FlowHash4(q[:22], 20))
}

func TestFlowHash6(t *testing.T) {
	p := udp6(t, "2001:db8::1", "2001:db8::2", 0x1111, 0x2222, 4)
	h := FlowHash6(p)
	require.NotZero(t, h)
	require.NotEqual(t, h, FlowHash6(udp6(t, "2001:db8::1", "2001:db8::2", 0x1112, 0x2222, 4)))
	require.NotEqual(t, h, FlowHash6(udp6(t, "2001:db8::1", "2001:db8::2", 0x1111, 0x2223, 4)))
	require.NotEqual(t, h, FlowHash6(udp6(t, "2001:db9::1", "2001:db8::2", 0x1111, 0x2222, 4)))
	require.NotEqual(t, h, FlowHash6(udp6(t, "2001:db8::1", "3001:db8::2", 0x1111, 0x2222, 4)))
	require.NotEqual(t, h, FlowHash6(udp6(t, "2001:db8::1:1", "2001:db8::2", 0x1111, 0x2222, 4)))

	// Extension headers are skipped: the same flow hashes the same.
	hbh := []byte{ProtoUDP, 0, 1, 4, 0, 0, 0, 0}
	require.Equal(t, h, FlowHash6(extPacket6(t, layers.IPProtocolIPv6HopByHop, hbh)))

	// Fragments hash without ports, first and later alike.
	frag0 := []byte{ProtoUDP, 0, 0, 1, 0, 0, 0, 1}
	fragN := []byte{ProtoUDP, 0, 0, 8, 0, 0, 0, 1}
	f0 := FlowHash6(extPacket6(t, layers.IPProtocolIPv6Fragment, frag0))
	fn := FlowHash6(extPacket6(t, layers.IPProtocolIPv6Fragment, fragN))
	require.Equal(t, f0, fn)
	require.NotEqual(t, h, f0)
}

// TestFlowHashNeverZero finds the input that mixes to 0 by running finish
// backwards, and checks that it is mapped to 1.
func TestFlowHashNeverZero(t *testing.T) {
	inv := func(k uint64) uint64 { // inverse of an odd k modulo 2^64 (Newton)
		x := k
		for range 6 {
			x *= 2 - k*x
		}
		return x
	}
	h := uint64(0x12345678) << 32 // the low 32 bits, what finish returns, are 0
	h ^= h >> 32
	h *= inv(hashK3)
	h ^= h>>29 ^ h>>58
	h *= inv(hashK2)
	h ^= h >> 33
	require.Equal(t, uint32(1), finish(h))
	require.NotEqual(t, uint32(1), finish(h+1))
}

// TestFlowHashSpread checks that flows spread evenly over ECMP paths for
// the usual modulo selection, whether they differ in source port or in
// source address.
func TestFlowHashSpread(t *testing.T) {
	const flows = 60000
	r := rand.New(rand.NewPCG(11, 12))
	p4 := udp4(t, "10.0.0.1", "10.0.0.2", 1, 2, 0)
	p6 := udp6(t, "2001:db8::1", "2001:db8::2", 1, 2, 0)
	for _, tc := range []struct {
		name string
		hash func(i int) uint32
	}{
		{"ipv4 sequential source port", func(i int) uint32 {
			binary.BigEndian.PutUint16(p4[20:], uint16(i))
			return FlowHash4(p4, 20)
		}},
		{"ipv4 sequential source", func(i int) uint32 {
			binary.BigEndian.PutUint32(p4[12:], 0x0A000000+uint32(i))
			return FlowHash4(p4, 20)
		}},
		{"ipv4 random", func(int) uint32 {
			binary.BigEndian.PutUint64(p4[12:], r.Uint64())
			binary.BigEndian.PutUint32(p4[20:], r.Uint32())
			return FlowHash4(p4, 20)
		}},
		{"ipv6 sequential source port", func(i int) uint32 {
			binary.BigEndian.PutUint16(p6[40:], uint16(i))
			return FlowHash6(p6)
		}},
		{"ipv6 sequential interface id", func(i int) uint32 {
			binary.BigEndian.PutUint64(p6[16:], uint64(i))
			return FlowHash6(p6)
		}},
		{"ipv6 sequential prefix", func(i int) uint32 {
			binary.BigEndian.PutUint64(p6[24:], 0x20010db8_00000000+uint64(i)<<16)
			return FlowHash6(p6)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := make([]uint32, flows)
			for i := range hs {
				hs[i] = tc.hash(i)
				require.NotZero(t, hs[i])
			}
			for _, paths := range []uint32{2, 3, 4, 7, 8, 16} {
				count := make([]int, paths)
				for _, h := range hs {
					count[h%paths]++
				}
				want := flows / int(paths)
				for i, c := range count {
					require.InDelta(t, want, c, float64(want)*0.06, "%d paths, path %d", paths, i)
				}
			}
			// The high bits spread too (for selection by h>>n or tables).
			top := make([]int, 16)
			for _, h := range hs {
				top[h>>28]++
			}
			for i, c := range top {
				require.InDelta(t, flows/16, c, float64(flows/16)*0.1, "top nibble %d", i)
			}
		})
	}
}
