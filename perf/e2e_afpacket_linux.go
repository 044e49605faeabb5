package perf

import (
	"errors"
	"fmt"

	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/vswitch"
)

// startVecswitchAFPacket runs a switch with one worker pinned to cpu and
// the two host ends as AF_PACKET ports (virtio-net headers) of one bridge,
// the receiver's MAC static as in startVecswitch. The namespace ends keep
// their offloads (TSO, checksum), as vsctl's io=afpacket leaves them.
func startVecswitchAFPacket(t *topo, cpu int) (r *rig, err error) {
	sw, err := vswitch.New(vswitch.Options{Workers: 1, CPUs: []int{cpu}, PoolFrames: e2ePool})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, sw.Close())
		}
	}()
	var ps []*afpacket.Port
	for _, p := range []struct {
		name string
		e    *endpoint
	}{{vsSndPort, &t.snd}, {vsRcvPort, &t.rcv}} {
		port, err := afpacket.New(afpacket.Config{Name: p.name, Ifname: p.e.host})
		if err != nil {
			return nil, fmt.Errorf("perf: %w", err)
		}
		if err := sw.AddPort(port); err != nil {
			return nil, errors.Join(err, port.Close())
		}
		ps = append(ps, port)
	}
	stats := map[string]*afpacket.Port{}
	for _, p := range ps {
		stats[p.Name()] = p
	}
	return switchRig(sw, pairBridge(t), sw.Close, []string{vsSndPort, vsRcvPort}, func(sp *SwitchPort, _ vswitch.PortInfo) {
		st := stats[sp.Name].Stats()
		sp.AFPacket = &st
	})
}
