package vhostuser

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/offload"
)

// udpFrame builds an Ethernet/IPv4/UDP frame with a correct checksum.
func udpFrame(t testing.TB, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	udp := &layers.UDP{SrcPort: 1234, DstPort: 5678}
	require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload(payload)))
	return append([]byte(nil), buf.Bytes()...)
}

// TestReceiveCompletesChecksum sends a UDP frame the way a guest with
// checksum offload would (VIRTIO_NET_HDR_F_NEEDS_CSUM, the checksum field
// holding the pseudo-header sum): the switch receives it with the
// checksum the kernel would have computed.
func TestReceiveCompletesChecksum(t *testing.T) {
	for _, n := range []int{0, 1, 17, 1000} {
		r := newRingRig(t, featModern, 64, 2048)
		want := udpFrame(t, frame(n, 5))
		partial := append([]byte(nil), want...)
		const l4 = 14 + 20
		var sum uint32
		for i := 26; i < 34; i += 2 { // source and destination addresses
			sum += uint32(binary.BigEndian.Uint16(partial[i:]))
		}
		sum += 17 + uint32(binary.BigEndian.Uint16(partial[l4+4:])) // UDP length
		for sum > 0xffff {
			sum = sum>>16 + sum&0xffff
		}
		binary.BigEndian.PutUint16(partial[l4+6:], uint16(sum))
		hdr := make([]byte, 12)
		hdr[0] = netHdrFlagNeedsCsum
		le.PutUint16(hdr[6:], l4)
		le.PutUint16(hdr[8:], 6)
		r.tx.txFrame(t, partial, hdr, true)
		r.tx.publish()
		got := r.rxAll(t)
		require.Len(t, got, 1)
		require.Equal(t, want, got[0], "payload of %d bytes", n)
		require.Zero(t, drops(r.stats()))
	}
}

// TestCompleteChain checks the checksum of a frame in pieces against the
// one of the same frame in one piece, for splits at odd and even offsets.
func TestCompleteChain(t *testing.T) {
	base := udpFrame(t, frame(3001, 9))
	const l4 = 14 + 20
	want := append([]byte(nil), base...)
	binary.BigEndian.PutUint16(want[l4+6:], 0x1234) // any "pseudo-header sum"
	in := append([]byte(nil), want...)
	require.NoError(t, offload.CompleteChecksum(want, l4, 6))
	for _, cuts := range [][]int{{100}, {101}, {101, 102}, {99, 1000, 1001, 2999}, {42, 43, 44, 45, 46}} {
		p := append([]byte(nil), in...)
		var frags [][]byte
		prev := 0
		for _, c := range cuts {
			frags = append(frags, p[prev:c])
			prev = c
		}
		frags = append(frags, p[prev:])
		require.True(t, completeChain(frags, l4, 6))
		require.Equal(t, want, p, "cuts %v", cuts)
	}
	p := append([]byte(nil), in...)
	require.False(t, completeChain([][]byte{p[:l4+7], p[l4+7:]}, l4, 6), "checksum field across two pieces")
	require.False(t, completeChain([][]byte{p[:40], p[40:]}, 60, 6))
}
