package netdev

import (
	"errors"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Configure applies cfg to the existing interface ifname in the namespace
// at netnsPath ("" for the caller's), in this order: rename, MAC, MTU, TX
// checksum offload, addresses, up, on-link routes, default gateways, routes
// via gateways. It stops at the first failure and undoes nothing.
func Configure(netnsPath, ifname string, cfg LinkConfig) error {
	if err := ValidateName(ifname); err != nil {
		return &Error{Op: "configure", Link: ifname, Netns: netnsPath, Err: err}
	}
	if err := cfg.validate(); err != nil {
		return &Error{Op: "configure", Link: ifname, Netns: netnsPath, Err: err}
	}
	ns, h, err := openWithHandle(netnsPath)
	if err != nil {
		return err
	}
	defer ns.Close()
	defer h.Close()
	link, err := h.LinkByName(ifname)
	if err != nil {
		return linkErr("configure", ifname, netnsPath, err)
	}
	return configure(ns, h, link, cfg)
}

func configure(ns *Netns, h *netlink.Handle, link netlink.Link, c LinkConfig) error {
	name := link.Attrs().Name
	fail := func(op string, err error) error { return linkErr(op, name, ns.path, err) }
	if c.Name != "" && c.Name != name {
		if link.Attrs().Flags&net.FlagUp != 0 {
			if err := h.LinkSetDown(link); err != nil {
				return fail("set down to rename", err)
			}
		}
		if err := h.LinkSetName(link, c.Name); err != nil {
			return fail("rename to "+c.Name, err)
		}
		name = c.Name
	}
	if c.MAC != nil {
		if err := h.LinkSetHardwareAddr(link, c.MAC); err != nil {
			return fail("set mac "+c.MAC.String(), err)
		}
	}
	if c.MTU != 0 {
		if err := h.LinkSetMTU(link, c.MTU); err != nil {
			return fail("set mtu", err)
		}
	}
	if c.TxChecksumOff {
		if err := setTxChecksum(ns, name, false); err != nil {
			return err
		}
	}
	for _, a := range c.Addrs {
		addr := &netlink.Addr{IPNet: ipNet(a)}
		if a.Addr().Is6() && !c.DAD {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrReplace(link, addr); err != nil {
			return fail("add address "+a.String(), err)
		}
	}
	if c.Up {
		if err := h.LinkSetUp(link); err != nil {
			return fail("set up", err)
		}
	}
	// GRO goes on once the link is up: a veth switched on while down
	// (measured on Linux 6.18) came up without delivering the frames that
	// XDP redirected into its peer.
	if c.GROOn {
		if err := setGRO(ns, name, true); err != nil {
			return err
		}
	}
	// On-link routes first: gateways may need them (169.254.1.1 style).
	for _, r := range c.Routes {
		if !r.Gw.IsValid() {
			if err := addRoute(h, link, r); err != nil {
				return fail("add route "+r.String(), err)
			}
		}
	}
	for _, g := range c.Gateways {
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if g.Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		if err := addRoute(h, link, Route{Dst: dst, Gw: g}); err != nil {
			return fail("add default route via "+g.String(), err)
		}
	}
	for _, r := range c.Routes {
		if r.Gw.IsValid() {
			if err := addRoute(h, link, r); err != nil {
				return fail("add route "+r.String(), err)
			}
		}
	}
	return nil
}

// addRoute adds r through link; an equal route already present is success.
func addRoute(h *netlink.Handle, link netlink.Link, r Route) error {
	nr := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(r.Dst.Masked())}
	if r.Gw.IsValid() {
		nr.Gw = net.IP(r.Gw.Unmap().AsSlice())
	} else {
		nr.Scope = netlink.SCOPE_LINK
	}
	if r.OnLink {
		nr.Flags = int(netlink.FLAG_ONLINK)
	}
	err := h.RouteAdd(nr)
	if errors.Is(err, unix.EEXIST) && routePresent(h, link, r) {
		return nil
	}
	return err
}

func routePresent(h *netlink.Handle, link netlink.Link, r Route) bool {
	family := netlink.FAMILY_V4
	if r.Dst.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	routes, err := h.RouteList(link, family)
	if err != nil {
		return false
	}
	want := r.Dst.Masked()
	for _, x := range routes {
		gw, _ := netip.AddrFromSlice(x.Gw)
		if routeDst(x, family) == want && gw.Unmap() == r.Gw.Unmap() {
			return true
		}
	}
	return false
}

// routeDst is a listed route's destination; the kernel lists a default
// route with none (family: netlink.FAMILY_V4 or FAMILY_V6).
func routeDst(x netlink.Route, family int) netip.Prefix {
	if x.Dst != nil {
		if p, ok := prefixOf(x.Dst); ok {
			return p
		}
	}
	if family == netlink.FAMILY_V6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

func ipNet(p netip.Prefix) *net.IPNet {
	a := p.Addr().Unmap()
	return &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if bits != a.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

// linkErr wraps a netlink failure, classifying it where it has a kind.
func linkErr(op, link, netns string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf), errors.Is(err, unix.ENODEV):
		err = wrapKind(ErrNotFound, err)
	case errors.Is(err, unix.EEXIST):
		err = wrapKind(ErrExists, err)
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ERANGE):
		err = wrapKind(ErrInvalid, err)
	}
	return &Error{Op: op, Link: link, Netns: netns, Err: err}
}
