package perf

import (
	"errors"
	"fmt"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
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
//
// fast adds the XDP fast path, set up as vswitchd does it: TX checksum
// offload off and GRO on at the namespace ends (so the ports can join),
// and the worker in adaptive poll mode (it sleeps while the kernel
// switches everything, so the forwarder's CPU shows what the fast path
// leaves to it). The sender's MAC is learned from the first frames.
func startVecswitch(t *topo, cpu int, fast, shared bool) (r *rig, err error) {
	opts := vswitch.Options{Workers: 1, CPUs: []int{cpu}, PoolFrames: e2ePool, SharedPools: shared}
	var fp *afxdp.FastPath
	if fast {
		for _, e := range []*endpoint{&t.snd, &t.rcv} {
			if err := netdev.SetTxChecksumAt(e.nsPath(), innerIfname, false); err != nil {
				return nil, err
			}
			if err := netdev.SetGROAt(e.nsPath(), innerIfname, true); err != nil {
				return nil, err
			}
		}
		if fp, err = afxdp.NewFastPath(afxdp.FastPathConfig{}); err != nil {
			return nil, fmt.Errorf("perf: %w", err)
		}
		opts.FastPath, opts.Idle = fp, pipeline.IdleSleep
	}
	sw, err := vswitch.New(opts)
	if err != nil {
		if fp != nil {
			err = errors.Join(err, fp.Close())
		}
		return nil, err
	}
	closeAll := func() error {
		err := sw.Close()
		if fp != nil {
			err = errors.Join(err, fp.Close())
		}
		return err
	}
	defer closeOnError(&err, closeAll)
	var ps []*afxdp.Port
	for _, p := range t.pairEnds() {
		port, err := afxdp.New(afxdp.Config{Name: p.name, Ifname: p.e.host, RingSize: e2eRing, FastPath: fp})
		if err != nil {
			return nil, err
		}
		if fast {
			if _, err := port.FastPathIfindex(); err != nil {
				return nil, errors.Join(fmt.Errorf("perf: port %s not in the fast path: %w", p.name, err), port.Close())
			}
		}
		if err := addPort(sw, port); err != nil {
			return nil, err
		}
		ps = append(ps, port)
	}
	stats := map[string]*afxdp.Port{}
	for _, p := range ps {
		stats[p.Name()] = p
	}
	return switchRig(sw, pairBridge(t), closeAll, []string{vsSndPort, vsRcvPort}, func(sp *SwitchPort, pi vswitch.PortInfo) {
		sp.AFXDP = stats[sp.Name].Stats()
		if f := pi.FastPath; f != nil {
			sp.FastPath = f.Counters
		}
	})
}

// newE2ESwitch makes the switch of the Vecswitch paths: one worker pinned
// to cpu, e2ePool buffers.
func newE2ESwitch(cpu int) (*vswitch.Switch, error) {
	return vswitch.New(vswitch.Options{Workers: 1, CPUs: []int{cpu}, PoolFrames: e2ePool})
}

// addPort attaches port to sw, or closes it if sw refuses it.
func addPort(sw *vswitch.Switch, port ports.Port) error {
	if err := sw.AddPort(port); err != nil {
		return errors.Join(err, port.Close())
	}
	return nil
}

// pairEnd is one of the two-port switch's ports and the namespace it
// serves.
type pairEnd struct {
	name string
	e    *endpoint
}

// pairEnds are the two-port switch's ports: the sender's, the receiver's.
func (t *topo) pairEnds() []pairEnd { return []pairEnd{{vsSndPort, &t.snd}, {vsRcvPort, &t.rcv}} }

// startPairSwitch runs the two-port switch of the tap and AF_PACKET
// paths: newE2ESwitch on cpu with the port newPort makes for each of
// t.pairEnds (i its index), configured as pairBridge once the ports are
// in (newPort may set an endpoint's MAC) and wrapped by switchRig with
// fill. On failure the switch and the ports are closed.
func startPairSwitch(t *topo, cpu int, newPort func(i int, p pairEnd) (ports.Port, error), fill func(*SwitchPort, vswitch.PortInfo)) (r *rig, err error) {
	sw, err := newE2ESwitch(cpu)
	if err != nil {
		return nil, err
	}
	defer closeOnError(&err, sw.Close)
	for i, p := range t.pairEnds() {
		port, err := newPort(i, p)
		if err != nil {
			return nil, err
		}
		if err := addPort(sw, port); err != nil {
			return nil, err
		}
	}
	return switchRig(sw, pairBridge(t), sw.Close, []string{vsSndPort, vsRcvPort}, fill)
}

// pairBridge is the two-port bridge of the e2e paths: the sender's and the
// receiver's ports, the receiver's MAC static (the sink never answers, so
// it is never learned), and the topology's security groups (t.sg).
func pairBridge(t *topo) vswitch.Config {
	return vswitch.Config{Bridges: []vswitch.Bridge{{
		Name:       "br0",
		Ports:      []vswitch.Port{{Name: vsSndPort}, {Name: vsRcvPort}},
		StaticMACs: []vswitch.StaticMAC{{MAC: t.rcv.mac.String(), Port: vsRcvPort}},
	}}, SecurityGroups: t.sg}
}

// switchRig applies cfg to sw, starts it and wraps it as a rig: close is
// closeAll, and the report lists the counters of the ports names, each
// passed to fill (if not nil) for the driver's own.
func switchRig(sw *vswitch.Switch, cfg vswitch.Config, closeAll func() error, names []string, fill func(*SwitchPort, vswitch.PortInfo)) (*rig, error) {
	if err := sw.Reconfigure(cfg); err != nil {
		return nil, err
	}
	if err := sw.Start(); err != nil {
		return nil, fmt.Errorf("perf: start switch: %w", err)
	}
	return &rig{
		close:   closeAll,
		runtime: sw.Runtime,
		report: func(res *E2EResult) {
			if res.Switch == nil {
				res.Switch = &SwitchReport{Runtime: sw.Runtime()}
			}
			info := map[string]vswitch.PortInfo{}
			for _, pi := range sw.Ports() {
				info[pi.Name] = pi
			}
			for _, n := range names {
				c, _ := sw.PortCounters(n)
				sp := SwitchPort{Name: n, Counters: c}
				if fill != nil {
					fill(&sp, info[n])
				}
				res.Switch.Ports = append(res.Switch.Ports, sp)
			}
		},
	}, nil
}

// forwardedBy is how many frames the switch sent out of port name, by the
// pipeline and the fast path.
func forwardedBy(res *E2EResult, name string) uint64 {
	if res.Switch == nil {
		return 0
	}
	for _, p := range res.Switch.Ports {
		if p.Name == name {
			n := p.Counters.TxPackets
			if p.FastPath != nil {
				n += p.FastPath.TxPackets
			}
			return n
		}
	}
	return 0
}
