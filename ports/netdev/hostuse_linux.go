package netdev

import (
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// HostUseOf reports what the namespace at netnsPath ("" for the caller's)
// uses ifname for: default routes through it and global addresses on it,
// or on the bridge or bond it is enslaved to (up to a few levels). A
// missing interface is an error wrapping ErrNotFound.
func HostUseOf(netnsPath, ifname string) (HostUse, error) {
	if err := ValidateName(ifname); err != nil {
		return HostUse{}, &Error{Op: "find", Link: ifname, Netns: netnsPath, Err: err}
	}
	ns, h, err := openWithHandle(netnsPath)
	if err != nil {
		return HostUse{}, err
	}
	defer ns.Close()
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		return HostUse{}, linkErr("find", ifname, netnsPath, err)
	}
	for depth := 0; depth < 4; depth++ {
		u, err := hostUseOfLink(h, l)
		if err != nil {
			return HostUse{}, linkErr("inspect", l.Attrs().Name, netnsPath, err)
		}
		if u.InUse() {
			return u, nil
		}
		m := l.Attrs().MasterIndex
		if m == 0 {
			break
		}
		if l, err = h.LinkByIndex(m); err != nil {
			break
		}
	}
	return HostUse{Link: ifname}, nil
}

func hostUseOfLink(h *netlink.Handle, l netlink.Link) (HostUse, error) {
	u := HostUse{Link: l.Attrs().Name}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rs, err := h.RouteListFiltered(fam, &netlink.Route{LinkIndex: l.Attrs().Index, Table: unix.RT_TABLE_UNSPEC},
			netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
		if err != nil {
			return u, err
		}
		for _, r := range rs {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				if ones, _ := maskOnes(r); ones == 0 {
					u.DefaultRoutes = append(u.DefaultRoutes, routeString(r))
				}
			}
		}
		as, err := h.AddrList(l, fam)
		if err != nil {
			return u, err
		}
		for _, a := range as {
			if a.Scope != unix.RT_SCOPE_UNIVERSE || a.IP.IsLinkLocalUnicast() {
				continue
			}
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok {
				continue
			}
			ones, _ := a.Mask.Size()
			u.Addrs = append(u.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
		}
	}
	return u, nil
}

func maskOnes(r netlink.Route) (int, int) {
	if r.Dst == nil {
		return 0, 0
	}
	return r.Dst.Mask.Size()
}

func routeString(r netlink.Route) string {
	dst := "default"
	if r.Gw != nil {
		return dst + " via " + r.Gw.String()
	}
	return dst
}
