package vhostuser

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
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

func TestCompleteChecksumBounds(t *testing.T) {
	p := make([]byte, 64)
	require.False(t, completeChecksum(p, 64, 0))
	require.False(t, completeChecksum(p, 60, 3))
	require.False(t, completeChecksum(p, 0xffff, 0xffff))
	require.True(t, completeChecksum(p, 0, 62))
	require.Equal(t, []byte{0xff, 0xff}, p[62:], "a zero sum is sent as 0xffff")
}
