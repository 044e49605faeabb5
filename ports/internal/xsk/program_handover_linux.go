package xsk

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/link"
)

// A program moves to another process by its link alone. The giver sends
// the link's descriptor (LinkFD); the taker loads a program of its own
// with its own XSKMAP and registers the sockets it adopted in that map
// (StageProgram), then, once it is ready for the program to run (the
// fast path's tables filled), swaps it into the link (Swap;
// bpf_link_update: atomic, so every frame meets one program or the other,
// both steering to the same sockets). Until then the giver's program
// runs. The giver's program and map go away with the giver. The link
// itself keeps the device's XDP attachment while either process holds it.

// ErrNotSwapped is returned for a staged program (StageProgram) that is
// not in its link yet: it cannot be handed on or taken back.
var ErrNotSwapped = errors.New("xsk: the program is not swapped into its link yet")

// LinkFD returns the descriptor of the link that attaches the program,
// still the program's: the caller sends a duplicate (SCM_RIGHTS makes
// it) to the process that takes the port over (AdoptLink). A staged
// program not swapped in yet has none to give (ErrNotSwapped).
func (p *Program) LinkFD() (int, error) {
	if p.staged {
		return -1, ErrNotSwapped
	}
	return LinkFD(p.link)
}

// LinkFD is the descriptor of an XDP attachment that is a BPF link (the
// fast-path program's too).
func LinkFD(l link.Link) (int, error) {
	raw, ok := l.(interface{ FD() int })
	if l == nil || !ok {
		return -1, fmt.Errorf("%w: the XDP attachment is not a BPF link", ErrBadConfig)
	}
	return raw.FD(), nil
}

// ErrNotLink is returned for a descriptor that is not an XDP link on the
// described device.
var ErrNotLink = errors.New("xsk: not an XDP link on the described device")

// AdoptLink wraps a received link descriptor (now the link's: it is
// closed on failure too) after checking that it attaches an XDP program
// to ifindex.
func AdoptLink(fd, ifindex int) (link.Link, error) {
	l, err := link.NewFromFD(fd)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotLink, err)
	}
	info, err := l.Info()
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("%w: link info: %w", ErrNotLink, err)
	}
	if x := info.XDP(); x == nil || int(x.Ifindex) != ifindex {
		l.Close()
		return nil, fmt.Errorf("%w: ifindex %d", ErrNotLink, ifindex)
	}
	return l, nil
}

// StageProgram loads this process's redirect program with an XSKMAP of
// queues entries and registers socks (by queue) in it, for l, an adopted
// link (AdoptLink) whose attach mode native reports. The link keeps
// running the giver's program until Swap. On success the Program owns l
// (Close closes this process's descriptor of it, which detaches nothing
// while the giver holds its own); on failure l is left to the caller.
func StageProgram(l link.Link, queues int, native bool, socks map[int]*Socket) (*Program, error) {
	prog, xsks, err := loadProgram(queues)
	if err != nil {
		return nil, err
	}
	p := &Program{prog: prog, xsks: xsks, native: native}
	for q, s := range socks {
		if err := p.Register(q, s); err != nil {
			p.Close()
			return nil, err
		}
	}
	p.link, p.staged = l, true
	return p, nil
}

// Swap puts a staged program (StageProgram) into its link, atomically.
// Once it has, and for a program NewProgram attached, it does nothing.
// Not concurrently with Reinstate or Close.
func (p *Program) Swap() error {
	if !p.staged {
		return nil
	}
	if p.link == nil || p.prog == nil {
		return fmt.Errorf("%w: program closed", ErrBadConfig)
	}
	if err := p.link.Update(p.prog); err != nil {
		return fmt.Errorf("xsk: swap the program into the inherited XDP link: %w", err)
	}
	p.staged = false
	return nil
}

// Reinstate swaps the program back into its link: a takeover that was
// abandoned after the taker swapped its own in (Swap) leaves the giver's
// own program and map in charge again. A staged program that never went
// in has nothing to take back (ErrNotSwapped).
func (p *Program) Reinstate() error {
	if p.link == nil {
		return fmt.Errorf("%w: program not attached", ErrBadConfig)
	}
	if p.staged {
		return ErrNotSwapped
	}
	return p.link.Update(p.prog)
}
