package xsk

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/link"
)

// A program moves to another process by its link alone. The giver sends
// the link's descriptor (LinkFD); the taker loads a program of its own
// with its own XSKMAP, registers the sockets it adopted in that map, and
// swaps its program into the link (bpf_link_update: atomic, so every
// frame meets one program or the other, both steering to the same
// sockets). The giver's program and map go away with the giver. The link
// itself keeps the device's XDP attachment while either process holds it.

// LinkFD returns the descriptor of the link that attaches the program,
// still the program's: the caller sends a duplicate (SCM_RIGHTS makes
// it) to the process that takes the port over (AdoptLink).
func (p *Program) LinkFD() (int, error) { return LinkFD(p.link) }

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

// ReplaceProgram loads this process's redirect program with an XSKMAP of
// queues entries, registers socks (by queue) in it and swaps it into l, an
// adopted link (AdoptLink) whose attach mode native reports. On success
// the Program owns l; on failure l is left to the caller.
func ReplaceProgram(l link.Link, queues int, native bool, socks map[int]*Socket) (*Program, error) {
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
	if err := l.Update(prog); err != nil {
		p.Close()
		return nil, fmt.Errorf("xsk: swap the program into the inherited XDP link: %w", err)
	}
	p.link = l
	return p, nil
}

// Reinstate swaps the program back into its link: a takeover that was
// abandoned after the taker swapped its own in (ReplaceProgram) leaves the
// giver's own program and map in charge again.
func (p *Program) Reinstate() error {
	if p.link == nil {
		return fmt.Errorf("%w: program not attached", ErrBadConfig)
	}
	return p.link.Update(p.prog)
}
