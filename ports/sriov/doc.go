// Package sriov discovers and configures SR-IOV virtual functions (VFs) and
// hands traffic to them, the way the SR-IOV CNI and OVS/VPP deployments do.
//
// # Kernel access
//
// All kernel access goes through a Host: a Netlink interface (the PF's VF
// attributes, the VF setters of rtnetlink; *netlink.Handle from
// github.com/vishvananda/netlink satisfies it and is the default) and a
// sysfs root directory (default "/sys") where the PF's
// class/net/PF/device/{sriov_numvfs,sriov_totalvfs,virtfnN} and each VF's
// net/ directory are read. Tests swap both: sriovtest.Recorder records every
// netlink call and can fail any of them, and sriovtest.Sysfs builds a fake
// sysfs tree in a temp dir.
//
// # What is done
//
//   - Discover lists a PF's VFs: index and PCI address and netdev name from
//     sysfs, MAC, VLAN, QoS, VLAN protocol, spoof check, trust, link state
//     and rates from netlink. Either source alone is enough.
//   - Apply sends a VFConfig's set settings through the PF, each with its
//     VF index. A setting the driver refuses comes back as an *Error naming
//     the setting ("sriov: pf ens1f0 vf 3: set trust on: operation not
//     supported") that matches ErrRefused and the kernel's errno. Apply
//     tries every setting and joins the failures, so one refused setting
//     does not keep the others from being applied at start-up replay.
//   - NewPort applies a VFConfig and returns an AF_XDP port on the VF's
//     netdev (or on an explicitly named switchdev representor). Closing the
//     port closes the AF_XDP port only: the VF settings are part of the
//     durable configuration, so a daemon restart must not undo them. Port.
//     Restore puts back the settings the VF had before NewPort (for
//     del-port).
//   - MoveToNetns moves a VF's netdev into a container namespace (rename,
//     MAC, MTU, addresses, routes through ports/netdev); Moved.Restore moves
//     it back under its original name with its original MAC and MTU.
//
// # Tested with stand-ins, and what needs hardware
//
// Without SR-IOV hardware the tests prove the logic with a fake sysfs tree
// and a recording netlink fake: discovery (bound and unbound VFs, sysfs
// only, netlink only), that every setting is sent once with the right VF
// index and values and unset ones not at all, that refusals name the
// setting, and that replaying a stored configuration sends the same calls.
// Root-only tests use a veth as the VF's netdev: traffic crosses the AF_XDP
// port in both directions, and the container hand-off moves the veth into a
// namespace and back with its name, MAC and MTU restored.
//
// What only real hardware can show: that a given driver accepts each
// setting (many refuse trust, rates or 802.1ad; the error then names the
// setting), that the VF's traffic is really tagged, rate limited and
// spoof-checked by the NIC, the driver's AF_XDP support (native or generic
// XDP, zero-copy) on the VF netdev or representor, the switchdev
// representor naming, and VF netdevs bound to vfio-pci (they have no
// netdev: such a VF can be configured but not attached as a port).
//
// # Takeover
//
// A hand-off port moves to a new vswitchd (--takeover) as the AF_XDP port
// it wraps does (Handover, Host.Adopt, Swap; afxdp's rules hold). The VF's
// settings live in the kernel and stay: neither process applies anything,
// and the adopter keeps what Restore would put back. Adopt refuses
// another VF, or a VF whose netdev is not the one the port ran on.
package sriov
