package sriov

import (
	"net"

	"github.com/vishvananda/netlink"
)

// Netlink is the part of rtnetlink this package uses: the PF's link (whose
// Attrs().Vfs lists the VFs) and the VF setters, which act through the PF.
// *netlink.Handle satisfies it on Linux; sriovtest.Recorder is a fake.
type Netlink interface {
	LinkByName(name string) (netlink.Link, error)
	LinkSetVfHardwareAddr(pf netlink.Link, vf int, mac net.HardwareAddr) error
	// LinkSetVfVlanQosProto sets VLAN, QoS and the TPID (0x8100 or
	// 0x88a8, host order) at once.
	LinkSetVfVlanQosProto(pf netlink.Link, vf, vlan, qos, proto int) error
	LinkSetVfSpoofchk(pf netlink.Link, vf int, on bool) error
	LinkSetVfTrust(pf netlink.Link, vf int, on bool) error
	// LinkSetVfState sets IFLA_VF_LINK_STATE: 0 auto, 1 enable, 2 disable.
	LinkSetVfState(pf netlink.Link, vf int, state uint32) error
	// LinkSetVfRate sets the minimum and maximum tx rate in Mbit/s.
	LinkSetVfRate(pf netlink.Link, vf, minRate, maxRate int) error
}

// DefaultSysfs is the sysfs root of a real system.
const DefaultSysfs = "/sys"

// Host is where the PFs live: the netlink to reach them and the sysfs root
// to read. The zero Host is the running system (kernel netlink, /sys).
// A Host holds no resources and is safe for concurrent use if its Netlink
// is.
type Host struct {
	// Netlink is nil for the kernel's (a fresh netlink socket per call).
	Netlink Netlink
	// Sysfs is the sysfs root, "" for DefaultSysfs.
	Sysfs string
}

func (h *Host) nl() Netlink {
	if h == nil || h.Netlink == nil {
		return kernelNetlink()
	}
	return h.Netlink
}

func (h *Host) sysfs() string {
	if h == nil || h.Sysfs == "" {
		return DefaultSysfs
	}
	return h.Sysfs
}
