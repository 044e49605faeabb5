package netdev

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// CreateVeth creates a veth pair whose host end stays in the caller's
// namespace and whose peer is created inside the container namespace
// opts.Netns under its final name, then configures the container end
// (MAC, MTU, addresses, up, routes, TX checksum offload off) and brings the
// host end up without IPv6 addresses. On failure everything created is
// removed again.
func CreateVeth(opts VethOptions) (*Veth, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, &Error{Op: "create veth", Link: opts.HostName, Netns: opts.Netns, Err: err}
	}
	ns, ch, err := openWithHandle(opts.Netns)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	defer ch.Close()
	hh, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, &Error{Op: "open netlink socket", Err: err}
	}
	defer hh.Close()

	// Name clashes are checked first so the error names the right side.
	if _, err := hh.LinkByName(opts.HostName); err == nil {
		return nil, &Error{Op: "create veth", Link: opts.HostName, Err: wrapKind(ErrExists, errors.New("host interface exists"))}
	}
	if _, err := ch.LinkByName(opts.PeerName); err == nil {
		return nil, &Error{Op: "create veth peer", Link: opts.PeerName, Netns: opts.Netns, Err: wrapKind(ErrExists, errors.New("container interface exists"))}
	}

	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = opts.HostName, opts.MTU
	la.NumTxQueues, la.NumRxQueues = opts.Queues, opts.Queues
	v := netlink.NewVeth(la)
	v.PeerName = opts.PeerName
	if !opts.PeerHere {
		v.PeerNamespace = netlink.NsFd(ns.fd)
	}
	v.PeerHardwareAddr = opts.MAC
	if err := hh.LinkAdd(v); err != nil {
		return nil, linkErr("create veth", opts.HostName, "", err)
	}
	host, err := hh.LinkByName(opts.HostName)
	if err != nil {
		return nil, linkErr("find new veth", opts.HostName, "", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = hh.LinkDel(host) // removes the peer too
		}
	}()
	if opts.Alias != "" {
		if err := hh.LinkSetAlias(host, opts.Alias); err != nil {
			return nil, linkErr("set alias of", opts.HostName, "", err)
		}
	}
	// The host's IPv6 stack stays off the host end (see the package doc):
	// no link-local address, so nothing sent from it into the container.
	// EAFNOSUPPORT: the end has no IPv6 at all (MTU below 1280, or a
	// kernel without IPv6).
	if err := hh.LinkSetIP6AddrGenMode(host, nl.IN6_ADDR_GEN_MODE_NONE); err != nil && !errors.Is(err, unix.EAFNOSUPPORT) {
		return nil, linkErr("turn IPv6 address generation off on", opts.HostName, "", err)
	}
	if err := hh.LinkSetUp(host); err != nil {
		return nil, linkErr("set up", opts.HostName, "", err)
	}
	peer, err := ch.LinkByName(opts.PeerName)
	if err != nil {
		return nil, linkErr("find veth peer", opts.PeerName, opts.Netns, err)
	}
	if err := configure(ns, ch, peer, opts.peerConfig()); err != nil {
		return nil, err
	}
	if peer, err = ch.LinkByIndex(peer.Attrs().Index); err != nil {
		return nil, linkErr("find veth peer", opts.PeerName, opts.Netns, err)
	}
	ok = true
	return &Veth{
		HostName: opts.HostName, HostIndex: host.Attrs().Index, HostMAC: host.Attrs().HardwareAddr,
		PeerName: opts.PeerName, PeerIndex: peer.Attrs().Index, PeerMAC: peer.Attrs().HardwareAddr,
		Netns: opts.Netns, MTU: opts.MTU, Queues: opts.Queues,
	}, nil
}

// Delete removes the pair by deleting its host end, found by the recorded
// ifindex in the caller's namespace. It succeeds when the pair is already
// gone (deleted before, or its container namespace died), and touches
// nothing (ErrChanged) if that ifindex now names another interface. The
// container namespace itself is never touched.
func (v *Veth) Delete() error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return &Error{Op: "open netlink socket", Err: err}
	}
	defer h.Close()
	l, err := h.LinkByIndex(v.HostIndex)
	if err != nil {
		if errors.Is(linkErr("", "", "", err), ErrNotFound) {
			return nil
		}
		return linkErr("delete veth", v.HostName, "", err)
	}
	if l.Attrs().Name != v.HostName || l.Type() != "veth" {
		return &Error{Op: "delete veth", Link: v.HostName, Err: wrapKind(ErrChanged,
			fmt.Errorf("ifindex %d is now %s %q", v.HostIndex, l.Type(), l.Attrs().Name))}
	}
	if err := h.LinkDel(l); err != nil && !errors.Is(linkErr("", "", "", err), ErrNotFound) {
		return linkErr("delete veth", v.HostName, "", err)
	}
	return nil
}
