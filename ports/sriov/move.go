package sriov

import (
	"errors"
	"net"
	"sync"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

// MoveOptions describe a container hand-off.
type MoveOptions struct {
	// Netns is the container's namespace path (/proc/PID/ns/net or
	// /var/run/netns/NAME). Required.
	Netns string
	// Link is applied in the container: Name renames the netdev (e.g.
	// eth0), then MAC, MTU, addresses, Up, gateways and routes, as
	// netdev.Configure does. Set Up to bring the link up.
	Link netdev.LinkConfig
	// VF is applied to the VF through the PF before the move (for example
	// the VLAN and spoof check the container must not change).
	VF VFConfig
}

// Moved is a VF netdev handed to a container namespace and what it was in
// the host before, for Restore.
type Moved struct {
	PF, Netns string
	VF        int
	// Name and Index identify the netdev in the container.
	Name  string
	Index int
	// Orig* are the netdev as it was in the host.
	OrigName string
	OrigMAC  net.HardwareAddr
	OrigMTU  int
	OrigUp   bool
	host     *Host
	mu       sync.Mutex
	restored bool
}

// MoveToNetns hands VF vf of pf on the running system to a container.
func MoveToNetns(pf string, vf int, opts MoveOptions) (*Moved, error) {
	return new(Host).MoveToNetns(pf, vf, opts)
}

// MoveToNetns applies opts.VF, moves the VF's netdev from the caller's
// namespace into opts.Netns and configures it there with opts.Link. If the
// configuration fails the netdev is moved back. The VF's own settings are
// not reverted by Restore.
func (h *Host) MoveToNetns(pf string, vf int, opts MoveOptions) (*Moved, error) {
	if opts.Netns == "" {
		return nil, &Error{PF: pf, VF: vf, Op: "move to netns", Kind: ErrInvalid, Err: errors.New("no namespace path")}
	}
	v, err := h.Lookup(pf, vf)
	if err != nil {
		return nil, err
	}
	if v.Netdev == "" {
		return nil, &Error{PF: pf, VF: vf, Op: "move to netns", Kind: ErrNoNetdev}
	}
	if err := h.Apply(pf, vf, opts.VF); err != nil {
		return nil, err
	}
	fail := func(op string, err error) error { return &Error{PF: pf, VF: vf, Op: op, Err: err} }
	info, err := netdev.LinkByName("", v.Netdev)
	if err != nil {
		return nil, fail("find netdev", err)
	}
	m := &Moved{PF: pf, VF: vf, Netns: opts.Netns, Name: info.Name, OrigName: info.Name,
		OrigMAC: info.MAC, OrigMTU: info.MTU, OrigUp: info.Up, host: h}
	if m.Index, err = netdev.MoveLink(info.Index, opts.Netns); err != nil {
		return nil, fail("move "+info.Name, err)
	}
	if err := netdev.Configure(opts.Netns, info.Name, opts.Link); err != nil {
		// The rename may or may not have happened: find it by index.
		if l, lerr := linkNameByIndex(opts.Netns, m.Index); lerr == nil {
			m.Name = l
		}
		return nil, errors.Join(fail("configure "+info.Name+" in "+opts.Netns, err), m.Restore())
	}
	if opts.Link.Name != "" {
		m.Name = opts.Link.Name
	}
	return m, nil
}

// Restore moves the netdev back to the caller's namespace (which should be
// the one it came from) under its original name, with its original MAC and
// MTU, and up if it was. If the container's namespace is gone the kernel
// has already returned the netdev to the host; Restore then finds it by
// the VF's PCI device in sysfs and renames and configures it. Calling it
// again after success does nothing.
func (m *Moved) Restore() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.restored {
		return nil
	}
	name, err := m.moveBack()
	if err != nil {
		return &Error{PF: m.PF, VF: m.VF, Op: "move " + m.Name + " back from " + m.Netns, Err: err}
	}
	cfg := netdev.LinkConfig{Name: m.OrigName, MTU: m.OrigMTU, Up: m.OrigUp}
	if len(m.OrigMAC) == 6 && m.OrigMAC[0]&1 == 0 && !isZeroMAC(m.OrigMAC) {
		cfg.MAC = m.OrigMAC
	}
	if err := netdev.Configure("", name, cfg); err != nil {
		return &Error{PF: m.PF, VF: m.VF, Op: "restore " + m.OrigName, Err: err}
	}
	m.restored = true
	return nil
}

func isZeroMAC(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return false
		}
	}
	return true
}

// Resume rebuilds a hand-off recorded by an earlier process (from the
// exported fields of its Moved) so that Restore can undo it.
func (h *Host) Resume(pf string, vf int, netns, name string, index int, origName string, origMAC net.HardwareAddr, origMTU int, origUp bool) *Moved {
	return &Moved{PF: pf, VF: vf, Netns: netns, Name: name, Index: index,
		OrigName: origName, OrigMAC: origMAC, OrigMTU: origMTU, OrigUp: origUp, host: h}
}
