//go:build !linux

package sriov

import (
	"net"

	"github.com/vishvananda/netlink"
)

// unsupported is the Netlink of systems without rtnetlink.
type unsupported struct{}

func kernelNetlink() Netlink { return unsupported{} }

func (unsupported) LinkByName(string) (netlink.Link, error) { return nil, ErrNotSupported }
func (unsupported) LinkSetVfHardwareAddr(netlink.Link, int, net.HardwareAddr) error {
	return ErrNotSupported
}
func (unsupported) LinkSetVfVlanQosProto(netlink.Link, int, int, int, int) error {
	return ErrNotSupported
}
func (unsupported) LinkSetVfSpoofchk(netlink.Link, int, bool) error { return ErrNotSupported }
func (unsupported) LinkSetVfTrust(netlink.Link, int, bool) error    { return ErrNotSupported }
func (unsupported) LinkSetVfState(netlink.Link, int, uint32) error  { return ErrNotSupported }
func (unsupported) LinkSetVfRate(netlink.Link, int, int, int) error { return ErrNotSupported }
