package sriov

import "github.com/vishvananda/netlink"

var _ Netlink = (*netlink.Handle)(nil)

// kernelNetlink is the kernel's rtnetlink in the caller's namespace: the
// zero Handle opens a socket per request, so nothing needs closing.
func kernelNetlink() Netlink { return &netlink.Handle{} }
