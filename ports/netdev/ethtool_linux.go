package netdev

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// SetTxChecksum switches TX checksum offload (ethtool's tx-checksumming,
// all NETIF_F_CSUM_MASK features) of ifname in the caller's namespace on or
// off. The kernel also drops features that depend on it (TSO) when off.
func SetTxChecksum(ifname string, on bool) error { return SetTxChecksumAt("", ifname, on) }

// SetTxChecksumAt is SetTxChecksum for an interface in the namespace at
// netnsPath.
func SetTxChecksumAt(netnsPath, ifname string, on bool) error {
	return atNetns("set tx checksum", netnsPath, ifname, func(ns *Netns) error { return setTxChecksum(ns, ifname, on) })
}

// TxChecksum reports whether TX checksum offload of ifname in the caller's
// namespace is on.
func TxChecksum(ifname string) (bool, error) { return TxChecksumAt("", ifname) }

// TxChecksumAt is TxChecksum for an interface in the namespace at netnsPath.
func TxChecksumAt(netnsPath, ifname string) (bool, error) {
	return getValue("get tx checksum", netnsPath, ifname, unix.ETHTOOL_GTXCSUM)
}

func setTxChecksum(ns *Netns, ifname string, on bool) error {
	_, err := ns.ethtoolValue(ifname, unix.ETHTOOL_STXCSUM, boolValue(on))
	if errors.Is(err, unix.EOPNOTSUPP) && !on {
		// The device cannot offload checksums at all: off already.
		if v, gerr := ns.ethtoolValue(ifname, unix.ETHTOOL_GTXCSUM, 0); gerr == nil && v == 0 {
			return nil
		}
	}
	if err != nil {
		return ethtoolErr(fmt.Sprintf("set tx checksum %v", onOff(on)), ifname, ns.path, err)
	}
	return nil
}

// GROAt reports whether generic receive offload of ifname in the namespace
// at netnsPath ("" for the caller's) is on.
func GROAt(netnsPath, ifname string) (bool, error) {
	return getValue("get gro", netnsPath, ifname, unix.ETHTOOL_GGRO)
}

// SetGROAt switches generic receive offload of ifname in the namespace at
// netnsPath on or off. A veth delivers frames that native XDP redirects
// into it only while its peer has GRO on or an XDP program of its own
// (ports/afxdp's fast path needs it on the container end).
func SetGROAt(netnsPath, ifname string, on bool) error {
	return atNetns("set gro", netnsPath, ifname, func(ns *Netns) error { return setGRO(ns, ifname, on) })
}

func setGRO(ns *Netns, ifname string, on bool) error {
	if _, err := ns.ethtoolValue(ifname, unix.ETHTOOL_SGRO, boolValue(on)); err != nil {
		return ethtoolErr("set gro "+onOff(on), ifname, ns.path, err)
	}
	return nil
}

// getValue runs one ethtool_value get command on ifname.
func getValue(op, netnsPath, ifname string, cmd uint32) (on bool, err error) {
	err = atNetns(op, netnsPath, ifname, func(ns *Netns) error {
		v, err := ns.ethtoolValue(ifname, cmd, 0)
		if err != nil {
			return ethtoolErr(op, ifname, ns.path, err)
		}
		on = v != 0
		return nil
	})
	return on, err
}

// atNetns checks ifname and calls fn with the namespace at netnsPath open.
func atNetns(op, netnsPath, ifname string, fn func(*Netns) error) error {
	if err := ValidateName(ifname); err != nil {
		return &Error{Op: op, Link: ifname, Netns: netnsPath, Err: err}
	}
	ns, err := OpenNetns(netnsPath)
	if err != nil {
		return err
	}
	defer ns.Close()
	return fn(ns)
}

// ethtoolValue runs one ethtool_value command (cmd, data) on ifname in the
// namespace and returns the value the kernel wrote back; the error is the
// kernel's, for the caller to wrap.
func (n *Netns) ethtoolValue(ifname string, cmd, data uint32) (uint32, error) {
	fd, err := n.ioctlSocket()
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return ethtoolValueIoctl(fd, ifname, cmd, data)
}

func boolValue(on bool) uint32 {
	if on {
		return 1
	}
	return 0
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// ioctlSocket opens a datagram socket inside the namespace; ethtool ioctls
// on it address the namespace's interfaces.
func (n *Netns) ioctlSocket() (int, error) {
	fd := -1
	err := n.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, linkErr("open ioctl socket", "", n.path, err)
	}
	return fd, nil
}

func ethtoolErr(op, ifname, netns string, err error) error {
	if errors.Is(err, unix.ENODEV) {
		err = wrapKind(ErrNotFound, err)
	}
	return &Error{Op: op, Link: ifname, Netns: netns, Err: err}
}
