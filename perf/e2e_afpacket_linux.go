package perf

import (
	"fmt"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/vswitch"
)

// startVecswitchAFPacket runs a switch with one worker pinned to cpu and
// the two host ends as AF_PACKET ports (virtio-net headers) of one bridge,
// the receiver's MAC static as in startVecswitch. The namespace ends keep
// their offloads (TSO, checksum), as vsctl's io=afpacket leaves them.
func startVecswitchAFPacket(t *topo, cpu int) (*rig, error) {
	stats := map[string]*afpacket.Port{}
	return startPairSwitch(t, cpu, func(_ int, p pairEnd) (ports.Port, error) {
		port, err := afpacket.New(afpacket.Config{Name: p.name, Ifname: p.e.host})
		if err != nil {
			return nil, fmt.Errorf("perf: %w", err)
		}
		stats[p.name] = port
		return port, nil
	}, func(sp *SwitchPort, _ vswitch.PortInfo) {
		st := stats[sp.Name].Stats()
		sp.AFPacket = &st
	})
}
