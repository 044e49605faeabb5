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
	}
	return switchRig(sw, pairBridge(t), sw.Close, []string{vsSndPort, vsRcvPort}, nil)
}
