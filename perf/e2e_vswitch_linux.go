package perf

import (
	"errors"
	"fmt"

	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Ring and pool sizes of the e2e switch: 8192-entry rings keep 8192 empty
// buffers on the fill ring, which rides out the worker being descheduled
// for up to ~25 ms at 0.3 Mpps (this VM sees such stalls as CPU steal);
// with the default 4096 a few percent were lost at 0.3 Mpps. The pool holds
// both sockets' fill rings plus traffic in flight.
const (
	e2eRing = 8192
	e2ePool = 32768
)

// Vecswitch port names in the e2e switch.
const (
	vsSndPort = "snd"
	vsRcvPort = "rcv"
)

// startVecswitch runs a switch with one worker pinned to cpu and the two
// host ends as AF_XDP ports of one bridge. The receiver's MAC is static,
// as on the Linux bridge: the sink never answers, so it is never learned.
func startVecswitch(t *topo, cpu int) (r *rig, err error) {
	sw, err := vswitch.New(vswitch.Options{Workers: 1, CPUs: []int{cpu}, PoolFrames: e2ePool})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, sw.Close())
		}
	}()
	var ports []*afxdp.Port
	for _, p := range []struct {
		name string
		e    *endpoint
	}{{vsSndPort, &t.snd}, {vsRcvPort, &t.rcv}} {
		port, err := afxdp.New(afxdp.Config{Name: p.name, Ifname: p.e.host, RingSize: e2eRing})
		if err != nil {
			return nil, err
		}
		if err := sw.AddPort(port); err != nil {
			return nil, errors.Join(err, port.Close())
		}
		ports = append(ports, port)
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
			for _, p := range ports {
				c, _ := sw.PortCounters(p.Name())
				res.Switch.Ports = append(res.Switch.Ports, SwitchPort{Name: p.Name(), Counters: c, AFXDP: p.Stats()})
			}
		},
	}, nil
}

// forwardedBy is how many frames the switch sent out of port name.
func forwardedBy(res *E2EResult, name string) uint64 {
	if res.Switch == nil {
		return 0
	}
	for _, p := range res.Switch.Ports {
		if p.Name == name {
			return p.Counters.TxPackets
		}
	}
	return 0
}
