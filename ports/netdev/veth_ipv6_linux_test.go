package netdev_test

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestVethHostEndNoIPv6: the host end of a pair gets no IPv6 address, and
// the host's stack sends nothing from it into the container (no MLD, DAD
// or router solicitations), while the container end keeps IPv6; packet
// and AF_XDP sockets on the host ends still carry the containers' IPv6:
// two containers, one on an AF_PACKET port and one on an AF_XDP port of
// one bridge, ping each other over IPv6 (neighbour discovery included).
func TestVethHostEndNoIPv6(t *testing.T) {
	netdevtest.RequireRoot(t)
	type end struct {
		ns   string
		v    *netdev.Veth
		addr string
		fd   int
	}
	var ends []end
	for i, addr := range []string{"fd00:79::1", "fd00:79::2"} {
		ns := netdevtest.NewNetns(t)
		v := createVeth(t, netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns,
			Addrs: []netip.Prefix{netip.MustParsePrefix(addr + "/64")}, GRO: i == 1})
		// Everything the container end receives from the host end's MAC
		// (the switch's frames come from the other container's).
		fd, closeFd := netdevtest.Socket(t, ns, unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK, int(htons(unix.ETH_P_ALL)))
		t.Cleanup(closeFd)
		require.NoError(t, unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: v.PeerIndex}))
		ends = append(ends, end{ns, v, addr, fd})
	}
	s, err := vswitch.New(vswitch.Options{Workers: 1, PoolFrames: 8192, Idle: pipeline.IdleSleep})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	pa, err := afpacket.New(afpacket.Config{Name: "a", Ifname: ends[0].v.HostName})
	require.NoError(t, err)
	require.NoError(t, s.AddPort(pa))
	pb, err := afxdp.New(afxdp.Config{Name: "b", Ifname: ends[1].v.HostName, RingSize: 1024})
	require.NoError(t, err)
	require.NoError(t, s.AddPort(pb))
	require.NoError(t, s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
		{Name: "br0", Ports: []vswitch.Port{{Name: "a"}, {Name: "b"}}},
	}}))
	require.NoError(t, s.Start())

	for i, e := range ends {
		peer := ends[1-i]
		out, err := exec.Command("ip", "netns", "exec", filepath.Base(e.ns),
			"ping", "-6", "-c", "2", "-i", "0.2", "-W", "3", peer.addr).CombinedOutput()
		require.NoError(t, err, "ping %s: %s", peer.addr, out)
	}
	for _, e := range ends {
		buf := make([]byte, 2048)
		for {
			n, _, err := unix.Recvfrom(e.fd, buf, 0)
			if err == unix.EAGAIN {
				break
			}
			require.NoError(t, err)
			require.NotEqual(t, []byte(e.v.HostMAC), buf[6:12], "the host sent % x into the container", buf[:min(n, 64)])
		}
		// The container end has its link-local address.
		h := nsHandle(t, e.ns)
		l, err := h.LinkByName("eth0")
		require.NoError(t, err)
		require.Condition(t, func() bool {
			for _, a := range addrsOf(t, h, l) {
				if strings.HasPrefix(a, "fe80:") {
					return true
				}
			}
			return false
		}, "container end without a link-local address: %v", addrsOf(t, h, l))
		// The host end has none, and never will.
		hl, err := netlink.LinkByName(e.v.HostName)
		require.NoError(t, err)
		as, err := netlink.AddrList(hl, netlink.FAMILY_V6)
		require.NoError(t, err)
		require.Empty(t, as, "host end %s", e.v.HostName)
		mode, err := os.ReadFile(filepath.Join("/proc/sys/net/ipv6/conf", e.v.HostName, "addr_gen_mode"))
		require.NoError(t, err)
		require.Equal(t, "1", strings.TrimSpace(string(mode)), "addr_gen_mode none")
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// TestVethLowMTUNoIPv6: below 1280 bytes the host end has no IPv6 at all
// (the kernel refuses to set its address generation mode): the pair is
// made all the same.
func TestVethLowMTUNoIPv6(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	v := createVeth(t, netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns, MTU: 1000})
	hl, err := netlink.LinkByName(v.HostName)
	require.NoError(t, err)
	as, err := netlink.AddrList(hl, netlink.FAMILY_V6)
	require.NoError(t, err)
	require.Empty(t, as)
}
