package perf

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// TestUDPFrame checks the generator's frame against gopacket: length,
// addresses and both checksums.
func TestUDPFrame(t *testing.T) {
	dst := net.HardwareAddr{2, 0, 0, 0, 0, 2}
	src := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	sip, dip := net.IP{198, 18, 0, 1}, net.IP{198, 18, 0, 2}
	f := udpFrame(dst, src, sip, dip, genUDPPort, sinkUDPPort)
	require.Len(t, f, FrameLen)

	p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	require.Nil(t, p.ErrorLayer())
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	require.Equal(t, sip.String(), ip.SrcIP.String())
	require.Equal(t, dip.String(), ip.DstIP.String())
	require.EqualValues(t, sinkUDPPort, udp.DstPort)

	// Recompute both checksums with gopacket and compare.
	wantIP, wantUDP := ip.Checksum, udp.Checksum
	require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
		p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet), ip, udp, gopacket.Payload(udp.Payload)))
	q := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeEthernet, gopacket.Default)
	require.Equal(t, wantIP, q.Layer(layers.LayerTypeIPv4).(*layers.IPv4).Checksum)
	require.Equal(t, wantUDP, q.Layer(layers.LayerTypeUDP).(*layers.UDP).Checksum)
}
