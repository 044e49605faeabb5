package perf

import (
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// TestScenariosForward checks that every benchmark scenario really forwards
// what it generates (a benchmark of a switch that drops would measure
// nothing) and allocates nothing per poll.
func TestScenariosForward(t *testing.T) {
	cases := []struct {
		kind string
		macs int
	}{{L2OneFlow, 0}, {L2MACs, 1000}, {Flood8, 0}, {VLANPush, 0}, {VLANPop, 0}}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			sc, err := NewScenario(c.kind, c.macs)
			require.NoError(t, err)
			defer sc.Close()
			var in int
			allocs := testing.AllocsPerRun(50, func() { in += sc.Poll() })
			require.Zero(t, allocs)
			require.Equal(t, 51*256, in)
			var out uint64
			for _, p := range sc.Ports {
				out += p.Sunk()
			}
			require.Equal(t, uint64(in*sc.OutPerIn), out, "every generated frame leaves the switch")
			for _, n := range sc.Runtime() {
				require.Zero(t, n.Dropped(), "node %s dropped %v", n.Name, n.Drops)
			}
		})
	}
}

func TestFrameDecodes(t *testing.T) {
	for _, vlan := range []int{-1, 10} {
		f := Frame(0x020000000002, 0x020000000001, vlan)
		require.Len(t, f, FrameLen)
		p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		require.Nil(t, p.ErrorLayer())
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		require.Equal(t, "10.0.0.2", ip.DstIP.String())
		require.NotNil(t, p.Layer(layers.LayerTypeUDP))
		// The header checksum is valid: recomputing it over the header gives 0.
		var sum uint32
		for i := 0; i < 20; i += 2 {
			sum += uint32(ip.Contents[i])<<8 | uint32(ip.Contents[i+1])
		}
		for sum > 0xFFFF {
			sum = sum&0xFFFF + sum>>16
		}
		require.Equal(t, uint32(0xFFFF), sum)
	}
}
