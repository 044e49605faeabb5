package perf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vecswitch/vecswitch/ports/tap"
	"github.com/vecswitch/vecswitch/vswitch"
)

// startVecswitchTap runs a switch with one worker pinned to cpu whose two
// ports are tap devices with virtio-net headers, each moved into its
// namespace as eth0 with the namespace's address (as vsctl's type=tap
// netns=... offload=on does): the namespaces keep TSO and checksum
// offload. The receiver's MAC is static, as on the other paths.
func startVecswitchTap(t *topo, cpu int) (r *rig, err error) {
	sw, err := vswitch.New(vswitch.Options{Workers: 1, CPUs: []int{cpu}, PoolFrames: e2ePool})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, sw.Close())
		}
	}()
	var ps []*tap.Port
	for i, p := range []struct {
		name string
		e    *endpoint
	}{{vsSndPort, &t.snd}, {vsRcvPort, &t.rcv}} {
		mac := net.HardwareAddr{0x02, 0x76, 0x73, 0x62, 0x74, byte(1 + i)}
		ip, _ := netip.AddrFromSlice(p.e.ip.To4())
		port, err := tap.New(tap.Config{
			Name: p.name, Ifname: innerIfname, Netns: p.e.nsPath(), Offload: true,
			MAC: mac, Addrs: []netip.Prefix{netip.PrefixFrom(ip, 24)},
		})
		if err != nil {
			return nil, fmt.Errorf("perf: tap in %s: %w", p.e.nsName, err)
		}
		if err := sw.AddPort(port); err != nil {
			return nil, errors.Join(err, port.Close())
		}
		p.e.mac = mac
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
				res.Switch.Ports = append(res.Switch.Ports, SwitchPort{Name: p.Name(), Counters: c})
			}
		},
	}, nil
}
