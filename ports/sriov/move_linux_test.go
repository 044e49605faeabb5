package sriov_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/ports/sriov/sriovtest"
)

// TestMoveToNetns: one end of a veth pair stands in for VF 1's netdev. It
// is handed to a fresh namespace as eth0 with an address, MAC and MTU of
// its own, then restored to the host under its old name, MAC and MTU.
func TestMoveToNetns(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	vfdev, other := "vsm"+nettest.Suffix(), "vsn"+nettest.Suffix()
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = vfdev, 1400
	la.HardwareAddr = net.HardwareAddr{2, 0, 0, 0x92, 0, 1}
	require.NoError(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: other}))
	t.Cleanup(func() {
		for _, n := range []string{vfdev, other} {
			if l, err := netlink.LinkByName(n); err == nil {
				netlink.LinkDel(l)
			}
		}
	})
	l, err := netlink.LinkByName(vfdev)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkSetUp(l))

	sys := sriovtest.NewSysfs(t)
	sys.AddPF(pf, "0000:03:00.0", 4)
	sys.AddVF(pf, 1, "0000:03:02.1", vfdev)
	rec := sriovtest.NewRecorder()
	rec.AddPF(pf, 7, netlink.VfInfo{ID: 1})
	h := &sriov.Host{Netlink: rec, Sysfs: sys.Root}

	cmac := net.HardwareAddr{2, 0, 0, 0x92, 0, 2}
	m, err := h.MoveToNetns(pf, 1, sriov.MoveOptions{
		Netns: ns.Path(),
		Link: netdev.LinkConfig{Name: "eth0", MAC: cmac, MTU: 1300, Up: true,
			Addrs:  []netip.Prefix{netip.MustParsePrefix("10.92.0.2/24")},
			Routes: []netdev.Route{{Dst: netip.MustParsePrefix("10.93.0.0/24"), Gw: netip.MustParseAddr("10.92.0.1")}}},
		VF: sriov.VFConfig{VLAN: &sriov.VLAN{ID: 20}, SpoofCheck: ptr(true)},
	})
	require.NoError(t, err)
	t.Cleanup(func() { m.Restore() })
	require.Equal(t, []string{
		"LinkSetVfVlanQosProto ens1f0 vf=1 20 0 0x8100",
		"LinkSetVfSpoofchk ens1f0 vf=1 true",
	}, rec.Sets())
	require.Equal(t, "eth0", m.Name)
	require.Equal(t, vfdev, m.OrigName)

	_, err = netlink.LinkByName(vfdev)
	require.Error(t, err, "the netdev left the host")
	nh := ns.Netlink(t)
	c, err := nh.LinkByName("eth0")
	require.NoError(t, err)
	require.Equal(t, m.Index, c.Attrs().Index)
	require.Equal(t, 1300, c.Attrs().MTU)
	require.Equal(t, cmac, c.Attrs().HardwareAddr)
	require.NotZero(t, c.Attrs().Flags&net.FlagUp)
	addrs, err := nh.AddrList(c, netlink.FAMILY_V4)
	require.NoError(t, err)
	require.Len(t, addrs, 1)
	require.Equal(t, "10.92.0.2/24", addrs[0].IPNet.String())
	routes, err := nh.RouteList(c, netlink.FAMILY_V4)
	require.NoError(t, err)
	var via []string
	for _, r := range routes {
		if r.Gw != nil {
			via = append(via, r.Dst.String()+" via "+r.Gw.String())
		}
	}
	require.Equal(t, []string{"10.93.0.0/24 via 10.92.0.1"}, via)

	require.NoError(t, m.Restore())
	require.NoError(t, m.Restore(), "a second Restore does nothing")
	_, err = nh.LinkByName("eth0")
	require.Error(t, err, "the netdev left the namespace")
	l, err = netlink.LinkByName(vfdev)
	require.NoError(t, err)
	require.Equal(t, 1400, l.Attrs().MTU)
	require.Equal(t, la.HardwareAddr, l.Attrs().HardwareAddr)
	require.NotZero(t, l.Attrs().Flags&net.FlagUp, "up again, as it was")
	require.Equal(t, []string{
		"LinkSetVfVlanQosProto ens1f0 vf=1 20 0 0x8100",
		"LinkSetVfSpoofchk ens1f0 vf=1 true",
	}, rec.Sets(), "the VF's own settings stay as the hand-off set them")
}

// TestMoveToNetnsConfigureFails: a bad address in the container makes the
// hand-off fail, and the netdev is back in the host under its name.
func TestMoveToNetnsConfigureFails(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	vfdev := "vsf" + nettest.Suffix()
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = vfdev, 1450
	require.NoError(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: vfdev + "p"}))
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(vfdev); err == nil {
			netlink.LinkDel(l)
		}
	})
	sys := sriovtest.NewSysfs(t)
	sys.AddPF(pf, "0000:03:00.0", 4)
	sys.AddVF(pf, 0, "0000:03:02.0", vfdev)
	rec := sriovtest.NewRecorder()
	rec.AddPF(pf, 7)
	h := &sriov.Host{Netlink: rec, Sysfs: sys.Root}
	// A gateway route through an unreachable gateway fails after the
	// rename and the MTU change.
	_, err := h.MoveToNetns(pf, 0, sriov.MoveOptions{Netns: ns.Path(), Link: netdev.LinkConfig{Name: "eth0", MTU: 1280, Up: true,
		Routes: []netdev.Route{{Dst: netip.MustParsePrefix("10.94.0.0/24"), Gw: netip.MustParseAddr("10.95.0.1")}}}})
	require.Error(t, err)
	require.Contains(t, err.Error(), "sriov: pf ens1f0 vf 0: configure "+vfdev)
	l, err := netlink.LinkByName(vfdev)
	require.NoError(t, err, "moved back after the failure: %v", err)
	require.Equal(t, 1450, l.Attrs().MTU)
	_, err = ns.Netlink(t).LinkByName("eth0")
	require.Error(t, err)
}
