package sriov

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

// handleIn opens a netlink socket inside the namespace at path.
func handleIn(path string) (*netlink.Handle, error) {
	var h *netlink.Handle
	err := netdev.Do(path, func() error {
		var err error
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	return h, err
}

func linkNameByIndex(path string, index int) (string, error) {
	h, err := handleIn(path)
	if err != nil {
		return "", err
	}
	defer h.Close()
	l, err := h.LinkByIndex(index)
	if err != nil {
		return "", err
	}
	return l.Attrs().Name, nil
}

// callerNetns opens the namespace of the calling thread.
func callerNetns() (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
}

// moveBack moves the netdev from the container to the caller's namespace
// and returns its name there. In the container it is set down and renamed
// to its original name first (or to a temporary one if that is taken
// there), so that a container name like eth0 never clashes in the host.
func (m *Moved) moveBack() (string, error) {
	h, err := handleIn(m.Netns)
	if errors.Is(err, netdev.ErrNetns) {
		return m.findReturned()
	}
	if err != nil {
		return "", err
	}
	defer h.Close()
	l, err := h.LinkByIndex(m.Index)
	if err != nil {
		return "", fmt.Errorf("ifindex %d: %w", m.Index, err)
	}
	if l.Attrs().Name != m.Name {
		return "", fmt.Errorf("ifindex %d is now %q, not %q: %w", m.Index, l.Attrs().Name, m.Name, netdev.ErrChanged)
	}
	if err := h.LinkSetDown(l); err != nil {
		return "", fmt.Errorf("set down: %w", err)
	}
	name := m.OrigName
	if name != m.Name {
		if _, err := h.LinkByName(name); err == nil {
			name = netdev.RandomName("vfmv")
		}
		if err := h.LinkSetName(l, name); err != nil {
			return "", fmt.Errorf("rename to %s: %w", name, err)
		}
	}
	host, err := callerNetns()
	if err != nil {
		return "", fmt.Errorf("open own netns: %w", err)
	}
	defer unix.Close(host)
	if err := h.LinkSetNsFd(l, host); err != nil {
		return "", fmt.Errorf("move: %w", err)
	}
	return name, nil
}

// findReturned finds the VF's netdev in the host after its namespace died.
func (m *Moved) findReturned() (string, error) {
	v, err := m.host.Lookup(m.PF, m.VF)
	if err != nil {
		return "", err
	}
	if v.Netdev == "" {
		return "", fmt.Errorf("namespace gone and VF has no netdev in the host: %w", ErrNoNetdev)
	}
	return v.Netdev, nil
}
