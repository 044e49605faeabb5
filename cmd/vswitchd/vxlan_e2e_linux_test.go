package main_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestTwoHostOverlay: two vswitchd, each in a namespace of its own acting
// as a host, joined by an underlay veth; each host has a container on VNI
// 100 and one on VNI 200, all in one IP subnet. Containers on the same VNI
// reach each other across the hosts; on different VNIs they do not.
func TestTwoHostOverlay(t *testing.T) {
	build(t)
	hostA, hostB := nettest.NewNS(t), nettest.NewNS(t)
	// The underlay: a veth pair, one end in each host.
	sfx := nettest.Suffix()
	ua, ub := "ua"+sfx, "ub"+sfx
	la := netlink.NewLinkAttrs()
	la.Name = ua
	require.NoError(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: ub}))
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(ua); err == nil {
			netlink.LinkDel(l)
		}
	})
	for name, ns := range map[string]*nettest.NS{ua: hostA, ub: hostB} {
		l, err := netlink.LinkByName(name)
		require.NoError(t, err)
		require.NoError(t, netlink.LinkSetNsFd(l, int(ns.Handle)))
		nh := ns.Netlink(t)
		l, err = nh.LinkByName(name)
		require.NoError(t, err)
		require.NoError(t, nh.LinkSetUp(l))
	}

	type host struct {
		d          *daemon
		ns         *nettest.NS
		uplink     string
		addr, peer string
		c100, c200 *nettest.NS
	}
	hosts := []*host{
		{ns: hostA, uplink: ua, addr: "192.168.88.1", peer: "192.168.88.2"},
		{ns: hostB, uplink: ub, addr: "192.168.88.2", peer: "192.168.88.1"},
	}
	for i, h := range hosts {
		h.d = newDaemonIn(t, h.ns.Name)
		h.c100, h.c200 = nettest.NewNS(t), nettest.NewNS(t)
		h.d.must("add-br", "under")
		h.d.must("add-port", "under", "uplink", "type=afxdp", "dev="+h.uplink)
		h.d.must("rif/add", "up", "bridge=under", "addr="+h.addr+"/24")
		h.d.must("vtep/set", h.addr)
		for _, vni := range []string{"100", "200"} {
			h.d.must("add-br", "ov"+vni)
			h.d.must("vni/add", "ov"+vni, vni, "remotes="+h.peer)
		}
		h.d.must("add-port", "ov100", "v1"+sfx[:4]+string(rune('a'+i)), "type=veth", "netns="+h.c100.Path(), "ip=10.220.0."+[]string{"1", "2"}[i]+"/24")
		h.d.must("add-port", "ov200", "v2"+sfx[:4]+string(rune('a'+i)), "type=veth", "netns="+h.c200.Path(), "ip=10.220.0."+[]string{"3", "4"}[i]+"/24")
	}
	a, b := hosts[0], hosts[1]
	require.Eventually(t, func() bool { return ping(a.c100, "10.220.0.2") == nil }, 10e9, 2e8, "VNI 100 across hosts")
	require.NoError(t, ping(b.c100, "10.220.0.1"))
	require.NoError(t, ping(a.c200, "10.220.0.4"), "VNI 200 across hosts")
	require.Error(t, ping(a.c100, "10.220.0.4"), "VNI 100 reached VNI 200")
	require.Error(t, ping(b.c200, "10.220.0.1"), "VNI 200 reached VNI 100")
	require.Contains(t, a.d.must("fdb/show", "ov100"), "vtep 192.168.88.2")
	require.Contains(t, a.d.must("vni/show"), "192.168.88.2")
	// The overlay ports got the overlay MTU.
	mtu, err := a.c100.Command("cat", "/sys/class/net/eth0/mtu").Output()
	require.NoError(t, err)
	require.Equal(t, "1450\n", string(mtu))
}
