package netdev_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
)

func TestCreateVeth(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	host := netdevtest.Name("vsh")
	mac := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0x00, 0x07}
	v := createVeth(t, netdev.VethOptions{
		HostName: host, Netns: ns, MAC: mac, MTU: 1400, Queues: 2,
		Addrs:    []netip.Prefix{netip.MustParsePrefix("10.77.1.2/24"), netip.MustParsePrefix("fd00:77::2/64")},
		Gateways: []netip.Addr{netip.MustParseAddr("10.77.1.1"), netip.MustParseAddr("fd00:77::1")},
		Routes:   []netdev.Route{{Dst: netip.MustParsePrefix("198.51.100.0/24"), Gw: netip.MustParseAddr("10.77.1.254")}},
	})
	require.Equal(t, host, v.HostName)
	require.Equal(t, "eth0", v.PeerName)
	require.Equal(t, ns, v.Netns)
	require.Equal(t, mac, v.PeerMAC)
	require.NotZero(t, v.HostIndex)

	// Inside the namespace.
	h := nsHandle(t, ns)
	l, err := h.LinkByName("eth0")
	require.NoError(t, err)
	require.Equal(t, "veth", l.Type())
	require.Equal(t, 1400, l.Attrs().MTU)
	require.Equal(t, mac, l.Attrs().HardwareAddr)
	require.NotZero(t, l.Attrs().Flags&net.FlagUp, "container end up")
	require.Equal(t, 2, l.Attrs().NumRxQueues)
	addrs := addrsOf(t, h, l)
	require.Contains(t, addrs, "10.77.1.2/24")
	require.Contains(t, addrs, "fd00:77::2/64")
	require.ElementsMatch(t, []string{"10.77.1.1", "fd00:77::1"}, defaultGateways(t, h, l))
	rs, err := h.RouteGet(net.ParseIP("198.51.100.9"))
	require.NoError(t, err)
	require.Equal(t, "10.77.1.254", rs[0].Gw.String())
	on, err := netdev.TxChecksumAt(ns, "eth0")
	require.NoError(t, err)
	require.False(t, on, "TX checksum offload off in the container")

	// The host end.
	hl, err := netdev.LinkByName("", host)
	require.NoError(t, err)
	require.Equal(t, v.HostIndex, hl.Index)
	require.Equal(t, "veth", hl.Kind)
	require.Equal(t, 1400, hl.MTU)
	require.True(t, hl.Up)
	rx, tx, err := netdev.Queues("", host)
	require.NoError(t, err)
	require.Equal(t, [2]int{2, 2}, [2]int{rx, tx})
	rx, tx, err = netdev.Queues(ns, "eth0")
	require.NoError(t, err)
	require.Equal(t, [2]int{2, 2}, [2]int{rx, tx})
	on, err = netdev.TxChecksum(host)
	require.NoError(t, err)
	require.True(t, on, "host end keeps its offloads")

	// Delete removes the pair and leaves the namespace.
	require.NoError(t, v.Delete())
	_, err = netdev.LinkByName("", host)
	require.ErrorIs(t, err, netdev.ErrNotFound)
	_, err = h.LinkByName("eth0")
	require.Error(t, err, "peer gone with the pair")
	_, err = h.LinkByName("lo")
	require.NoError(t, err, "namespace intact")
	_, err = os.Stat(ns)
	require.NoError(t, err)
	require.NoError(t, v.Delete(), "second delete is a no-op")
}

func TestCreateVethErrors(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	long := "this-name-is-too-long"
	_, err := netdev.CreateVeth(netdev.VethOptions{HostName: long, Netns: ns})
	require.ErrorIs(t, err, netdev.ErrInvalid)
	require.Contains(t, err.Error(), long)

	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns, PeerName: long})
	require.ErrorIs(t, err, netdev.ErrInvalid)

	missing := filepath.Join(netdevtest.NetnsDir, "vst-no-such-netns")
	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: missing})
	require.ErrorIs(t, err, netdev.ErrNetns)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Contains(t, err.Error(), missing)

	notNs := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notNs, nil, 0o600))
	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: notNs})
	require.ErrorIs(t, err, netdev.ErrNetns)
	require.Contains(t, err.Error(), "not a network namespace")

	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: netdevtest.Name("vsh")})
	require.ErrorIs(t, err, netdev.ErrInvalid, "netns required")
	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns, MAC: net.HardwareAddr{1, 0, 0, 0, 0, 1}})
	require.ErrorIs(t, err, netdev.ErrInvalid, "multicast MAC")
	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns, MTU: 20})
	require.ErrorIs(t, err, netdev.ErrInvalid)

	// Clashes, on either side, name the side.
	v := createVeth(t, netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns})
	other := netdevtest.Name("vsh")
	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: other, Netns: ns})
	require.ErrorIs(t, err, netdev.ErrExists)
	require.Contains(t, err.Error(), "eth0")
	_, err = netdev.LinkByName("", other)
	require.ErrorIs(t, err, netdev.ErrNotFound, "nothing left behind")
	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: v.HostName, Netns: ns, PeerName: "eth1"})
	require.ErrorIs(t, err, netdev.ErrExists)
	require.Contains(t, err.Error(), v.HostName)

	// A failure after creation (unreachable gateway) removes the pair.
	bad := netdevtest.Name("vsh")
	_, err = netdev.CreateVeth(netdev.VethOptions{
		HostName: bad, Netns: ns, PeerName: "eth2",
		Addrs:    []netip.Prefix{netip.MustParsePrefix("10.77.2.2/24")},
		Gateways: []netip.Addr{netip.MustParseAddr("192.0.2.1")},
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "192.0.2.1")
	_, err = netdev.LinkByName("", bad)
	require.ErrorIs(t, err, netdev.ErrNotFound, "rolled back")
	_, err = netdev.LinkByName(ns, "eth2")
	require.ErrorIs(t, err, netdev.ErrNotFound, "rolled back")
}

func TestVethNamespaceGone(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	v := createVeth(t, netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns})
	require.NoError(t, netdevtest.DeleteNetns(ns))
	require.Eventually(t, func() bool {
		_, err := netdev.LinkByName("", v.HostName)
		return errors.Is(err, netdev.ErrNotFound)
	}, 10*time.Second, 10*time.Millisecond, "the pair dies with the namespace")
	require.NoError(t, v.Delete())
}

func TestVethDeleteLeavesOthers(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	v := createVeth(t, netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns})
	// A stale record whose ifindex now names another link is refused.
	w := createVeth(t, netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns, PeerName: "eth1"})
	stale := *v
	stale.HostIndex = w.HostIndex
	require.ErrorIs(t, stale.Delete(), netdev.ErrChanged)
	_, err := netdev.LinkByName("", w.HostName)
	require.NoError(t, err, "the other pair is untouched")
	require.NoError(t, v.Delete())
	_, err = netdev.LinkByName("", w.HostName)
	require.NoError(t, err)
}

// TestCreateVethPeerHere: the container end stays in this namespace, with
// its MAC and MTU and TX checksum offload off, for a runtime (Docker) to
// move; deleting the host end removes it too. Addresses or a namespace
// with PeerHere are refused.
func TestCreateVethPeerHere(t *testing.T) {
	host, peer := netdevtest.Name("vsh"), netdevtest.Name("vsp")
	mac := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0x00, 0x09}
	v, err := netdev.CreateVeth(netdev.VethOptions{HostName: host, PeerName: peer, PeerHere: true, MAC: mac, MTU: 1400})
	require.NoError(t, err)
	t.Cleanup(func() { v.Delete() })
	l, err := netlink.LinkByName(peer)
	require.NoError(t, err, "the container end is in this namespace")
	require.Equal(t, mac, l.Attrs().HardwareAddr)
	require.Equal(t, 1400, l.Attrs().MTU)
	require.Equal(t, l.Attrs().Index, v.PeerIndex)
	on, err := netdev.TxChecksumAt("", peer)
	require.NoError(t, err)
	require.False(t, on, "TX checksum offload off, as in a container")
	require.NoError(t, v.Delete())
	_, err = netlink.LinkByName(peer)
	require.Error(t, err, "deleting the host end removed the container end")

	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: netdevtest.Name("vsh"), PeerName: netdevtest.Name("vsp"), PeerHere: true,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.77.1.2/24")}})
	require.ErrorIs(t, err, netdev.ErrInvalid)
	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: netdevtest.Name("vsh"), PeerName: netdevtest.Name("vsp"), PeerHere: true,
		Netns: netdevtest.NewNetns(t)})
	require.ErrorIs(t, err, netdev.ErrInvalid)
}
