package xsk

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// ProgramFiles are a Program's three kernel objects as descriptors, in the
// order they travel: the XDP link (which keeps the program attached while
// any process holds it), the program and the XSKMAP.
type ProgramFiles struct {
	Link, Prog, Map int
}

// Files returns the program's link, program and map descriptors, still
// the program's: the caller sends duplicates (SCM_RIGHTS makes them) to
// another process, which adopts them with AdoptProgram. The program stays
// attached as long as either process holds the link.
func (p *Program) Files() (ProgramFiles, error) {
	if p.link == nil {
		return ProgramFiles{}, fmt.Errorf("%w: program not attached", ErrBadConfig)
	}
	raw, ok := p.link.(interface{ FD() int })
	if !ok {
		return ProgramFiles{}, fmt.Errorf("%w: the XDP attachment is not a BPF link", ErrBadConfig)
	}
	return ProgramFiles{Link: raw.FD(), Prog: p.prog.FD(), Map: p.xsks.FD()}, nil
}

// ErrNotProgram is returned by AdoptProgram for descriptors that are not
// an XDP link on the described device, an XDP program and an XSKMAP.
var ErrNotProgram = errors.New("xsk: not the described XDP program")

// AdoptProgram makes a Program of another process's (ProgramFiles, now
// the Program's: Close closes them, and Adopt closes them if it fails).
// The link must attach an XDP program to ifindex, the map must be an
// XSKMAP of at least queues entries. native is the attach mode the other
// process reported.
func AdoptProgram(f ProgramFiles, ifindex, queues int, native bool) (*Program, error) {
	p := &Program{native: native}
	fail := func(format string, a ...any) (*Program, error) {
		p.Close()
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrNotProgram}, a...)...)
	}
	var err error
	if p.xsks, err = ebpf.NewMapFromFD(f.Map); err != nil {
		unix.Close(f.Prog)
		unix.Close(f.Link)
		return nil, fmt.Errorf("%w: map: %w", ErrNotProgram, err)
	}
	if p.prog, err = ebpf.NewProgramFromFD(f.Prog); err != nil {
		unix.Close(f.Link)
		return fail("program: %w", err)
	}
	if p.link, err = link.NewFromFD(f.Link); err != nil {
		return fail("link: %w", err)
	}
	if t := p.xsks.Type(); t != ebpf.XSKMap || int(p.xsks.MaxEntries()) < queues {
		return fail("map of type %v with %d entries, want an XSKMAP of %d", t, p.xsks.MaxEntries(), queues)
	}
	if t := p.prog.Type(); t != ebpf.XDP {
		return fail("program of type %v", t)
	}
	info, err := p.link.Info()
	if err != nil {
		return fail("link info: %w", err)
	}
	if x := info.XDP(); x == nil || int(x.Ifindex) != ifindex {
		return fail("link is not an XDP attachment to ifindex %d", ifindex)
	}
	return p, nil
}
