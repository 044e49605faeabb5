package netdev_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
)

func TestSetTxChecksum(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	v := createVeth(t, netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns, KeepTxChecksum: true})
	require.Len(t, v.PeerMAC, 6)
	require.Equal(t, byte(0x02), v.PeerMAC[0]&0x03, "random MAC: unicast, locally administered")
	on, err := netdev.TxChecksumAt(ns, "eth0")
	require.NoError(t, err)
	require.True(t, on, "KeepTxChecksum leaves it on")
	require.NoError(t, netdev.SetTxChecksumAt(ns, "eth0", false))
	on, err = netdev.TxChecksumAt(ns, "eth0")
	require.NoError(t, err)
	require.False(t, on)
	require.NoError(t, netdev.SetTxChecksum(v.HostName, false))
	on, err = netdev.TxChecksum(v.HostName)
	require.NoError(t, err)
	require.False(t, on)
	require.NoError(t, netdev.SetTxChecksum(v.HostName, true))
	on, err = netdev.TxChecksum(v.HostName)
	require.NoError(t, err)
	require.True(t, on)
	err = netdev.SetTxChecksumAt(ns, "nosuch0", false)
	require.ErrorIs(t, err, netdev.ErrNotFound)
	require.Contains(t, err.Error(), "nosuch0")
	require.Contains(t, err.Error(), ns)
}

func TestConfigure(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	createVeth(t, netdev.VethOptions{HostName: netdevtest.Name("vsh"), Netns: ns})
	cfg := netdev.LinkConfig{
		Name: "c0", MTU: 1300, Up: true,
		MAC:      net.HardwareAddr{0x02, 0, 0, 0, 0x77, 0x01},
		Addrs:    []netip.Prefix{netip.MustParsePrefix("10.77.3.2/24")},
		Routes:   []netdev.Route{{Dst: netip.MustParsePrefix("10.99.0.0/16"), Gw: netip.MustParseAddr("10.77.3.1")}, {Dst: netip.MustParsePrefix("169.254.1.1/32")}},
		Gateways: []netip.Addr{netip.MustParseAddr("169.254.1.1")},
	}
	require.NoError(t, netdev.Configure(ns, "eth0", cfg))
	li, err := netdev.LinkByName(ns, "c0")
	require.NoError(t, err)
	require.Equal(t, 1300, li.MTU)
	require.Equal(t, cfg.MAC, li.MAC)
	require.True(t, li.Up)
	h := nsHandle(t, ns)
	l, err := h.LinkByName("c0")
	require.NoError(t, err)
	require.Contains(t, addrsOf(t, h, l), "10.77.3.2/24")
	require.Equal(t, []string{"169.254.1.1"}, defaultGateways(t, h, l))

	cfg.Name = ""
	require.NoError(t, netdev.Configure(ns, "c0", cfg), "applying the same configuration again is fine")

	err = netdev.Configure(ns, "nosuch0", netdev.LinkConfig{Up: true})
	require.ErrorIs(t, err, netdev.ErrNotFound)
	require.Contains(t, err.Error(), "nosuch0")
	err = netdev.Configure(ns, "c0", netdev.LinkConfig{Routes: []netdev.Route{{Dst: netip.MustParsePrefix("10.0.0.0/8"), Gw: netip.MustParseAddr("fd00::1")}}})
	require.ErrorIs(t, err, netdev.ErrInvalid)
}

func TestDo(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	ino := func(path string) uint64 {
		var st unix.Stat_t
		require.NoError(t, unix.Stat(path, &st))
		return st.Ino
	}
	own := ino("/proc/thread-self/ns/net")
	var inside uint64
	require.NoError(t, netdev.Do(ns, func() error {
		var st unix.Stat_t
		if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
			return err
		}
		inside = st.Ino
		return nil
	}))
	require.Equal(t, ino(ns), inside)
	require.Equal(t, own, ino("/proc/thread-self/ns/net"))
	require.PanicsWithValue(t, "boom", func() { netdev.Do(ns, func() error { panic("boom") }) })
	require.Equal(t, own, ino("/proc/thread-self/ns/net"))
	want := errors.New("from fn")
	require.Equal(t, want, netdev.Do(ns, func() error { return want }))
	err := netdev.Do("/nonexistent/netns", func() error { return nil })
	require.ErrorIs(t, err, netdev.ErrNetns)
	require.True(t, strings.Contains(err.Error(), "/nonexistent/netns"))
}

func TestMoveAndDeleteLink(t *testing.T) {
	netdevtest.RequireRoot(t)
	ns := netdevtest.NewNetns(t)
	name, peer := netdevtest.Name("vsd"), netdevtest.Name("vsp")
	la := netlink.NewLinkAttrs()
	la.Name = name
	v := netlink.NewVeth(la)
	v.PeerName = peer
	require.NoError(t, netlink.LinkAdd(v))
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(peer); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	l, err := netlink.LinkByName(name)
	require.NoError(t, err)
	idx, err := netdev.MoveLink(l.Attrs().Index, ns)
	require.NoError(t, err)
	li, err := netdev.LinkByName(ns, name)
	require.NoError(t, err)
	require.Equal(t, idx, li.Index)
	require.ErrorIs(t, netdev.DeleteLink(ns, "other0", idx), netdev.ErrChanged)
	require.NoError(t, netdev.DeleteLink(ns, name, idx))
	_, err = netdev.LinkByName(ns, name)
	require.ErrorIs(t, err, netdev.ErrNotFound)
	require.NoError(t, netdev.DeleteLink(ns, name, idx), "already gone")
	require.NoError(t, netdev.DeleteLink("/nonexistent/netns", name, idx), "namespace gone")
}
