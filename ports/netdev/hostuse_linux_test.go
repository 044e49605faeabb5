package netdev

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestHostUseOf builds, in a namespace of the test's, an uplink (a veth
// end with an address and the default route), a management interface (an
// address only), an interface enslaved to an addressed bridge, and a bare
// one: only the bare one is free.
func TestHostUseOf(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	h := ns.Netlink(t)
	mk := func(name string) netlink.Link {
		la := netlink.NewLinkAttrs()
		la.Name = name
		require.NoError(t, h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: name + "p"}))
		l, err := h.LinkByName(name)
		require.NoError(t, err)
		require.NoError(t, h.LinkSetUp(l))
		return l
	}
	up, mgmt, free, port := mk("up0"), mk("mgmt0"), mk("free0"), mk("port0")
	addr := func(l netlink.Link, cidr string) {
		a, err := netlink.ParseAddr(cidr)
		require.NoError(t, err)
		require.NoError(t, h.AddrAdd(l, a))
	}
	addr(up, "192.0.2.10/24")
	require.NoError(t, h.RouteAdd(&netlink.Route{LinkIndex: up.Attrs().Index, Gw: net.ParseIP("192.0.2.1")}))
	addr(mgmt, "198.51.100.5/24")
	addr(mgmt, "fd00:1::5/64")
	la := netlink.NewLinkAttrs()
	la.Name = "br9"
	require.NoError(t, h.LinkAdd(&netlink.Bridge{LinkAttrs: la}))
	br, err := h.LinkByName("br9")
	require.NoError(t, err)
	require.NoError(t, h.LinkSetMaster(port, br))
	addr(br, "203.0.113.1/24")

	u, err := HostUseOf(ns.Path(), "up0")
	require.NoError(t, err)
	require.True(t, u.InUse())
	require.Equal(t, []string{"default via 192.0.2.1"}, u.DefaultRoutes)
	require.Contains(t, u.String(), "default route")

	u, err = HostUseOf(ns.Path(), "mgmt0")
	require.NoError(t, err)
	require.True(t, u.InUse())
	require.Len(t, u.Addrs, 2, "%v", u.Addrs) // the IPv6 link-local address does not count
	require.Contains(t, u.String(), "198.51.100.5/24")

	u, err = HostUseOf(ns.Path(), "port0")
	require.NoError(t, err)
	require.True(t, u.InUse(), "an interface enslaved to an addressed bridge is in use")
	require.Equal(t, "br9", u.Link)

	u, err = HostUseOf(ns.Path(), "free0")
	require.NoError(t, err)
	require.False(t, u.InUse(), "%v", u)
	_ = free

	_, err = HostUseOf(ns.Path(), "nosuch0")
	require.ErrorIs(t, err, ErrNotFound)
}
