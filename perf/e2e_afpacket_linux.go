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
	cfg := vswitch.Config{Bridges: []vswitch.Bridge{{
		Name:       "br0",
		Ports:      []vswitch.Port{{Name: vsSndPort}, {Name: vsRcvPort}},
		StaticMACs: []vswitch.StaticMAC{{MAC: t.rcv.mac.String(), Port: vsRcvPort}},
	}}}
	if err := sw.Reconfigure(cfg); err != nil {
		return nil, err
	}
	if err := sw.Start(); err != nil {
		return nil, fmt.Errorf("perf: start switch: %w", err)
	}
	return &rig{
		close:   sw.Close,
		runtime: sw.Runtime,
		report: func(res *E2EResult) {
			if res.Switch == nil {
				res.Switch = &SwitchReport{Runtime: sw.Runtime()}
			}
			for _, p := range ps {
				c, _ := sw.PortCounters(p.Name())
				st := p.Stats()
				res.Switch.Ports = append(res.Switch.Ports, SwitchPort{Name: p.Name(), Counters: c, AFPacket: &st})
			}
		},
	}, nil
}
