package netdev

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LinkByName looks ifname up in the namespace at netnsPath ("" for the
// caller's).
func LinkByName(netnsPath, ifname string) (*LinkInfo, error) {
	if err := ValidateName(ifname); err != nil {
		return nil, &Error{Op: "find", Link: ifname, Netns: netnsPath, Err: err}
	}
	ns, h, err := openWithHandle(netnsPath)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		return nil, linkErr("find", ifname, netnsPath, err)
	}
	a := l.Attrs()
	info := &LinkInfo{
		Name: a.Name, Index: a.Index, Kind: l.Type(), MAC: a.HardwareAddr, MTU: a.MTU,
		Up: a.Flags&net.FlagUp != 0, RxQueues: a.NumRxQueues, TxQueues: a.NumTxQueues,
		Netns: netnsPath, Alias: a.Alias,
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, linkErr("list addresses of", ifname, netnsPath, err)
	}
	for _, ad := range addrs {
		if p, ok := prefixOf(ad.IPNet); ok && !p.Addr().IsLinkLocalUnicast() {
			info.Addrs = append(info.Addrs, p)
		}
	}
	return info, nil
}

// Queues returns the number of rx and tx queues of ifname. In the caller's
// namespace it counts /sys/class/net/IFNAME/queues/{rx,tx}-N, which lists
// the queues in use (real_num_rx_queues, what AF_XDP binds to, which
// ethtool -L can lower below the allocated count). Elsewhere, or when sysfs
// does not show the interface, it reports the allocated counts from
// rtnetlink: the same for a veth, but a multi-queue tap always reports 256
// there whatever number of queues is attached.
func Queues(netnsPath, ifname string) (rx, tx int, err error) {
	if netnsPath == "" && ValidateName(ifname) == nil {
		if rx, tx, ok := sysfsQueues(ifname); ok {
			return rx, tx, nil
		}
	}
	l, err := LinkByName(netnsPath, ifname)
	if err != nil {
		return 0, 0, err
	}
	return l.RxQueues, l.TxQueues, nil
}

func sysfsQueues(ifname string) (rx, tx int, ok bool) {
	ents, err := os.ReadDir("/sys/class/net/" + ifname + "/queues")
	if err != nil {
		return 0, 0, false
	}
	for _, e := range ents {
		switch {
		case strings.HasPrefix(e.Name(), "rx-"):
			rx++
		case strings.HasPrefix(e.Name(), "tx-"):
			tx++
		}
	}
	return rx, tx, rx > 0 || tx > 0
}

// MoveLink moves the interface with ifindex index from the caller's
// namespace into the one at netnsPath and returns its ifindex there (the
// kernel assigns a new one if the old one is taken). The interface keeps
// its name, which must be free in the target, and is down afterwards.
func MoveLink(index int, netnsPath string) (int, error) {
	ns, th, err := openWithHandle(netnsPath)
	if err != nil {
		return 0, err
	}
	defer ns.Close()
	defer th.Close()
	if ns.fd < 0 {
		return 0, &Error{Op: "move link", Err: wrapKind(ErrInvalid, errors.New("no target namespace"))}
	}
	hh, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return 0, &Error{Op: "open netlink socket", Err: err}
	}
	defer hh.Close()
	l, err := hh.LinkByIndex(index)
	if err != nil {
		return 0, linkErr("move link", fmt.Sprintf("ifindex %d", index), "", err)
	}
	name := l.Attrs().Name
	if _, err := th.LinkByName(name); err == nil {
		return 0, &Error{Op: "move link", Link: name, Netns: netnsPath, Err: wrapKind(ErrExists, errors.New("name taken in target namespace"))}
	}
	if err := hh.LinkSetNsFd(l, ns.fd); err != nil {
		return 0, linkErr("move link", name, netnsPath, err)
	}
	moved, err := th.LinkByName(name)
	if err != nil {
		return 0, linkErr("find moved link", name, netnsPath, err)
	}
	return moved.Attrs().Index, nil
}

// DeleteLink deletes the interface ifname from the namespace at netnsPath
// if it still has ifindex index (so that a recreated interface of the same
// name is left alone). A missing interface or namespace is success.
func DeleteLink(netnsPath, ifname string, index int) error {
	ns, h, err := openWithHandle(netnsPath)
	if err != nil {
		if errors.Is(err, ErrNetns) {
			return nil
		}
		return err
	}
	defer ns.Close()
	defer h.Close()
	l, err := h.LinkByIndex(index)
	if err != nil {
		if errors.Is(linkErr("", "", "", err), ErrNotFound) {
			return nil
		}
		return linkErr("delete", ifname, netnsPath, err)
	}
	if l.Attrs().Name != ifname {
		return &Error{Op: "delete", Link: ifname, Netns: netnsPath, Err: wrapKind(ErrChanged,
			fmt.Errorf("ifindex %d is now %q", index, l.Attrs().Name))}
	}
	if err := h.LinkDel(l); err != nil && !errors.Is(linkErr("", "", "", err), ErrNotFound) {
		return linkErr("delete", ifname, netnsPath, err)
	}
	return nil
}
