package perf

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/tap"
)

// startVecswitchTap runs a switch with one worker pinned to cpu whose two
// ports are tap devices with virtio-net headers, each moved into its
// namespace as eth0 with the namespace's address (as vsctl's type=tap
// netns=... offload=on does): the namespaces keep TSO and checksum
// offload. The receiver's MAC is static, as on the other paths.
func startVecswitchTap(t *topo, cpu int) (*rig, error) {
	return startPairSwitch(t, cpu, func(i int, p pairEnd) (ports.Port, error) {
		mac := net.HardwareAddr{0x02, 0x76, 0x73, 0x62, 0x74, byte(1 + i)}
		ip, _ := netip.AddrFromSlice(p.e.ip.To4())
		port, err := tap.New(tap.Config{
			Name: p.name, Ifname: innerIfname, Netns: p.e.nsPath(), Offload: true,
			MAC: mac, Addrs: []netip.Prefix{netip.PrefixFrom(ip, 24)},
		})
		if err != nil {
			return nil, fmt.Errorf("perf: tap in %s: %w", p.e.nsName, err)
		}
		p.e.mac = mac
		return port, nil
	}, nil)
}
