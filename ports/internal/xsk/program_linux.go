package xsk

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// AttachMode selects how the XDP program is attached.
type AttachMode int

// Attach modes.
const (
	// AttachAuto uses the driver's native XDP and falls back to generic.
	AttachAuto AttachMode = iota
	// AttachNative requires native (driver) XDP.
	AttachNative
	// AttachGeneric forces generic (SKB) XDP.
	AttachGeneric
)

// Program is an XDP program attached to one device that redirects each rx
// queue's frames to the socket registered for that queue.
type Program struct {
	prog   *ebpf.Program
	xsks   *ebpf.Map
	link   link.Link
	native bool
	// staged: link is an adopted one still running the giver's program
	// (StageProgram), until Swap.
	staged bool
}

// xdpPass is XDP_PASS, the action for frames of queues with no socket.
const xdpPass = 2

// NewProgram loads the program with an XSKMAP of queues entries and attaches
// it to the device.
func NewProgram(ifindex, queues int, mode AttachMode) (*Program, error) {
	if queues < 1 {
		return nil, fmt.Errorf("%w: %d queues", ErrBadConfig, queues)
	}
	prog, xsks, err := loadProgram(queues)
	if err != nil {
		return nil, err
	}
	p := &Program{prog: prog, xsks: xsks}
	tries := []link.XDPAttachFlags{link.XDPDriverMode, link.XDPGenericMode}
	switch mode {
	case AttachNative:
		tries = tries[:1]
	case AttachGeneric:
		tries = tries[1:]
	}
	for _, fl := range tries {
		if p.link, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifindex, Flags: fl}); err == nil {
			p.native = fl == link.XDPDriverMode
			return p, nil
		}
	}
	p.Close()
	return nil, fmt.Errorf("xsk: attach XDP program to ifindex %d: %w", ifindex, err)
}

// loadProgram creates an XSKMAP of queues entries and loads the redirect
// program against it.
func loadProgram(queues int) (*ebpf.Program, *ebpf.Map, error) {
	xsks, err := ebpf.NewMap(&ebpf.MapSpec{Name: "vs_xsks", Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: uint32(queues)})
	if err != nil {
		return nil, nil, fmt.Errorf("xsk: create XSKMAP: %w", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "vs_xsk_redirect",
		Type: ebpf.XDP,
		Instructions: asm.Instructions{
			// r2 = ctx->rx_queue_index
			asm.LoadMem(asm.R2, asm.R1, 16, asm.Word),
			asm.LoadMapPtr(asm.R1, xsks.FD()),
			// The low bits of the flags are the action when the queue
			// has no socket.
			asm.Mov.Imm(asm.R3, xdpPass),
			asm.FnRedirectMap.Call(),
			asm.Return(),
		},
		License: "Dual MIT/GPL",
	})
	if err != nil {
		xsks.Close()
		return nil, nil, fmt.Errorf("xsk: load XDP program: %w", err)
	}
	return prog, xsks, nil
}

// Native reports whether the program runs in the driver (not generic XDP).
func (p *Program) Native() bool { return p.native }

// Register steers queue's frames to s.
func (p *Program) Register(queue int, s *Socket) error {
	if err := p.xsks.Put(uint32(queue), uint32(s.fd)); err != nil {
		return fmt.Errorf("xsk: register socket for queue %d: %w", queue, err)
	}
	return nil
}

// Unregister lets queue's frames pass to the kernel stack again.
func (p *Program) Unregister(queue int) error {
	if err := p.xsks.Delete(uint32(queue)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("xsk: unregister queue %d: %w", queue, err)
	}
	return nil
}

// Close detaches and unloads the program: it closes this process's
// descriptor of the link, which detaches the program once no other
// process holds the link (the giver of a staged one, or the taker of a
// handed-over one, keeps it attached).
func (p *Program) Close() error {
	var errs []error
	if p.link != nil {
		errs = append(errs, p.link.Close())
	}
	if p.prog != nil {
		errs = append(errs, p.prog.Close())
	}
	if p.xsks != nil {
		errs = append(errs, p.xsks.Close())
	}
	return errors.Join(errs...)
}
