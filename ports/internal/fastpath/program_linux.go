package fastpath

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

// Steering is the XDP program of an AF_XDP port as the port uses it:
// register a socket per rx queue, report the attach mode, detach. The
// plain redirect program (*xsk.Program) and the fast-path program
// (*Program) both implement it, so the afxdp port can hold either.
type Steering interface {
	Register(queue int, s *xsk.Socket) error
	Unregister(queue int) error
	Native() bool
	Close() error
	// LinkFD is the BPF link attaching the program, for a takeover.
	LinkFD() (int, error)
	// Reinstate swaps the program back into its link after a takeover
	// was abandoned (the taker had swapped its own in).
	Reinstate() error
	// Swap puts a program staged for an adopted link into it; for one
	// already there it does nothing.
	Swap() error
}

var (
	_ Steering = (*xsk.Program)(nil)
	_ Steering = (*Program)(nil)
)

// Program is the fast-path XDP program attached to one port. It owns the
// port's XSKMAP (rx queue -> AF_XDP socket) and uses the switch's Maps.
// Register and Unregister may run concurrently with each other, not with
// Close.
type Program struct {
	ifindex int
	prog    *ebpf.Program
	xsks    *ebpf.Map
	link    link.Link
	native  bool
	// staged: link is an adopted one still running the giver's program
	// (Stage), until Swap.
	staged bool
}

// Attach loads the fast-path program for the device at ifindex, with an
// XSKMAP of queues entries, and attaches it in the given mode (auto tries
// native, then generic) through a BPF link, so that it is detached when
// closed or when the process dies. The device must have no XDP program
// (EBUSY otherwise). The port takes part in the fast path once SetPort is
// called for it; until then, and after DelPort, the program behaves like
// the plain one: every frame to the queue's socket, or to the kernel stack
// when none is registered.
func Attach(ifindex, queues int, mode xsk.AttachMode, m *Maps) (*Program, error) {
	if queues < 1 || queues > 1<<16 {
		return nil, fmt.Errorf("%w: %d queues", ErrBadConfig, queues)
	}
	if ifindex <= 0 {
		return nil, fmt.Errorf("%w: ifindex %d", ErrBadConfig, ifindex)
	}
	p := &Program{ifindex: ifindex}
	var err error
	if p.prog, p.xsks, err = load(m, queues); err != nil {
		return nil, err
	}
	tries := []link.XDPAttachFlags{link.XDPDriverMode, link.XDPGenericMode}
	switch mode {
	case xsk.AttachNative:
		tries = tries[:1]
	case xsk.AttachGeneric:
		tries = tries[1:]
	}
	for _, fl := range tries {
		if p.link, err = link.AttachXDP(link.XDPOptions{Program: p.prog, Interface: ifindex, Flags: fl}); err == nil {
			p.native = fl == link.XDPDriverMode
			return p, nil
		}
	}
	p.Close()
	return nil, fmt.Errorf("fastpath: attach XDP program to ifindex %d: %w", ifindex, err)
}

// Stage loads the fast-path program against m for the device at ifindex
// and registers socks (by queue) in its new XSKMAP, for l, a link another
// process attached and handed over (xsk.AdoptLink), whose attach mode
// native reports. The link keeps running the giver's program until Swap:
// the caller fills m first (the learned MACs), so that no frame the
// giver's program switched in the kernel misses this one's tables. On
// success the Program owns l; on failure l is left to the caller.
func Stage(l link.Link, ifindex, queues int, native bool, m *Maps, socks map[int]*xsk.Socket) (*Program, error) {
	if queues < 1 || queues > 1<<16 {
		return nil, fmt.Errorf("%w: %d queues", ErrBadConfig, queues)
	}
	p := &Program{ifindex: ifindex, native: native}
	var err error
	if p.prog, p.xsks, err = load(m, queues); err != nil {
		return nil, err
	}
	for q, s := range socks {
		if err := p.Register(q, s); err != nil {
			p.Close()
			return nil, err
		}
	}
	p.link, p.staged = l, true
	return p, nil
}

// Swap puts a staged program (Stage) into its link. The swap is atomic:
// each frame meets the giver's program or this one, and both steer to the
// same sockets. Once it has, and for a program Attach attached, it does
// nothing. Not concurrently with Reinstate or Close.
func (p *Program) Swap() error {
	if !p.staged {
		return nil
	}
	if p.link == nil || p.prog == nil {
		return ErrClosed
	}
	if err := p.link.Update(p.prog); err != nil {
		return fmt.Errorf("fastpath: swap the program into the inherited XDP link: %w", err)
	}
	p.staged = false
	return nil
}

// LinkFD returns the descriptor of the link attaching the program, still
// the program's. A staged program not swapped in yet has none to give
// (xsk.ErrNotSwapped).
func (p *Program) LinkFD() (int, error) {
	if p.staged {
		return -1, xsk.ErrNotSwapped
	}
	return xsk.LinkFD(p.link)
}

// Reinstate implements Steering.
func (p *Program) Reinstate() error {
	if p.link == nil {
		return ErrClosed
	}
	if p.staged {
		return xsk.ErrNotSwapped
	}
	return p.link.Update(p.prog)
}

// load creates an XSKMAP and loads the program against it and m.
func load(m *Maps, queues int) (*ebpf.Program, *ebpf.Map, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, nil, ErrClosed
	}
	xsks, err := ebpf.NewMap(&ebpf.MapSpec{Name: "vs_fp_xsks", Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: uint32(queues)})
	if err != nil {
		return nil, nil, fmt.Errorf("fastpath: create XSKMAP: %w", notSupported(err))
	}
	insns := program()
	for ref, mp := range map[string]*ebpf.Map{
		refPorts: m.ports, refVLANs: m.vlans, refFDB: m.fdb, refDevmap: m.devmap, refPortMax: m.portMax,
		refAllow4: m.allow4, refAllow6: m.allow6,
		refEntryCtr: m.entryCtr, refPortCtr: m.portCtr, refMissCtr: m.missCtr, refXSKs: xsks,
	} {
		if err := insns.AssociateMap(ref, mp); err != nil {
			xsks.Close()
			return nil, nil, fmt.Errorf("fastpath: program: map %s: %w", ref, err)
		}
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "vs_fastpath",
		Type:         ebpf.XDP,
		Instructions: insns,
		License:      "Dual MIT/GPL",
	})
	if err != nil {
		xsks.Close()
		return nil, nil, fmt.Errorf("fastpath: load XDP program: %w", notSupported(err))
	}
	return prog, xsks, nil
}

// Probe reports whether this kernel (and these privileges) can run the
// fast path: it creates small maps and loads the program without
// attaching it. A nil error means Attach will load; whether the device
// takes it is Attach's answer.
func Probe() error {
	m, err := NewMaps(MapsConfig{MaxEntries: 1, MaxPorts: 1, MaxVLANs: 1, MaxSources: 1})
	if err != nil {
		return err
	}
	defer m.Close()
	prog, xsks, err := load(m, 1)
	if err != nil {
		return err
	}
	prog.Close()
	xsks.Close()
	return nil
}

// Ifindex returns the device the program is attached to.
func (p *Program) Ifindex() int { return p.ifindex }

// Native reports whether the program runs in the driver (not generic XDP).
func (p *Program) Native() bool { return p.native }

// Register steers queue's slow-path frames to s.
func (p *Program) Register(queue int, s *xsk.Socket) error { return p.RegisterFD(queue, s.FD()) }

// RegisterFD steers queue's slow-path frames to the AF_XDP socket fd.
func (p *Program) RegisterFD(queue, fd int) error {
	if err := p.xsks.Put(uint32(queue), uint32(fd)); err != nil {
		return fmt.Errorf("fastpath: register socket for queue %d: %w", queue, err)
	}
	return nil
}

// Unregister sends queue's slow-path frames to the kernel stack again.
func (p *Program) Unregister(queue int) error {
	if err := p.xsks.Delete(uint32(queue)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("fastpath: unregister queue %d: %w", queue, err)
	}
	return nil
}

// Close detaches and unloads the program and frees its XSKMAP; nothing of
// it is left on the device. Detaching is closing this process's
// descriptor of the link: a link another process holds too (the giver's,
// while this program is staged) stays attached with what runs in it. It does not touch the Maps: call DelPort
// first, so that no frame is redirected to the port once it is gone.
func (p *Program) Close() error {
	var errs []error
	if p.link != nil {
		errs = append(errs, p.link.Close())
		p.link = nil
	}
	if p.prog != nil {
		errs = append(errs, p.prog.Close())
		p.prog = nil
	}
	if p.xsks != nil {
		errs = append(errs, p.xsks.Close())
		p.xsks = nil
	}
	return errors.Join(errs...)
}
