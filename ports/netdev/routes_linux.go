package netdev

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// HasRoute reports whether the main routing table of the namespace at
// netnsPath ("" for the caller's) has a route to r.Dst through any
// interface: via r.Gw when it is valid, via anything when it is not.
func HasRoute(netnsPath string, r Route) (bool, error) {
	ns, h, err := openWithHandle(netnsPath)
	if err != nil {
		return false, err
	}
	defer ns.Close()
	defer h.Close()
	family := netlink.FAMILY_V4
	if r.Dst.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	routes, err := h.RouteListFiltered(family, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return false, &Error{Op: "list routes", Netns: netnsPath, Err: err}
	}
	want := r.Dst.Masked()
	for _, x := range routes {
		if routeDst(x, family) != want {
			continue
		}
		if !r.Gw.IsValid() {
			return true, nil
		}
		gws := []net.IP{x.Gw}
		for _, nh := range x.MultiPath {
			gws = append(gws, nh.Gw)
		}
		for _, g := range gws {
			if a, ok := netip.AddrFromSlice(g); ok && a.Unmap() == r.Gw.Unmap() {
				return true, nil
			}
		}
	}
	return false, nil
}
