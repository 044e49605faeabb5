package xsk

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Handing a socket to another process (vswitchd --takeover).
//
// An AF_XDP socket's state is in the kernel (the bind, the UMEM
// registration, the rings) and in two userspace mappings: the rings, which
// the socket's descriptor maps again in any process, and the UMEM, which
// is the caller's memory (a memfd-backed pipeline pool the adopter maps
// itself). The ring indices live in the ring mappings, so an adopter
// continues exactly where the giver stopped, provided the giver stopped
// touching the rings first: the rings have one producer and one consumer
// each, and this package has no way to tell two processes apart.

// Dup returns a duplicate (close-on-exec) of the socket's descriptor, to
// send to another process. The socket stays usable here.
func (s *Socket) Dup() (int, error) {
	if s.closed {
		return -1, fmt.Errorf("%w: socket is closed", ErrBadConfig)
	}
	return unix.FcntlInt(uintptr(s.fd), unix.F_DUPFD_CLOEXEC, 0)
}

// ErrNotXSK is returned by Adopt for a descriptor that is not an AF_XDP
// socket with rings of the described size.
var ErrNotXSK = errors.New("xsk: not a bound AF_XDP socket of the described shape")

// Adopt makes a Socket of fd, a bound AF_XDP socket another process
// created with the rings of cfg.RingSize (cfg.Ifindex and cfg.Queue as it
// was bound; Mem, Share and Mode are ignored). It maps the four rings and
// takes their indices where the other process left them. The Socket owns
// fd from then on, also when Adopt fails.
func Adopt(fd int, cfg Config) (*Socket, error) {
	s := &Socket{fd: fd, cfg: cfg}
	if err := s.adopt(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Socket) adopt() error {
	n := s.cfg.RingSize
	if n == 0 || n&(n-1) != 0 {
		return fmt.Errorf("%w: ring size %d is not a power of two", ErrBadConfig, n)
	}
	dom, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil || dom != unix.AF_XDP {
		return fmt.Errorf("%w: socket domain %d (%v)", ErrNotXSK, dom, err)
	}
	opts, err := xdpOptions(s.fd)
	if err != nil {
		return fmt.Errorf("%w: XDP_OPTIONS: %w", ErrNotXSK, err)
	}
	s.zeroCopy = opts&unix.XDP_OPTIONS_ZEROCOPY != 0
	off, err := mmapOffsets(s.fd)
	if err != nil {
		return fmt.Errorf("%w: mmap offsets: %w", ErrNotXSK, err)
	}
	if err := mapAddrRing(s.fd, unix.XDP_UMEM_PGOFF_FILL_RING, off.Fr, n, &s.Fill); err != nil {
		return fmt.Errorf("%w: fill ring: %w", ErrNotXSK, err)
	}
	if err := mapAddrRing(s.fd, unix.XDP_UMEM_PGOFF_COMPLETION_RING, off.Cr, n, &s.Comp); err != nil {
		return fmt.Errorf("%w: completion ring: %w", ErrNotXSK, err)
	}
	if err := mapDescRing(s.fd, unix.XDP_PGOFF_RX_RING, off.Rx, n, &s.Rx); err != nil {
		return fmt.Errorf("%w: rx ring: %w", ErrNotXSK, err)
	}
	if err := mapDescRing(s.fd, unix.XDP_PGOFF_TX_RING, off.Tx, n, &s.Tx); err != nil {
		return fmt.Errorf("%w: tx ring: %w", ErrNotXSK, err)
	}
	s.Resync()
	for _, r := range []*ring{&s.Fill.ring, &s.Tx.ring, &s.Comp.ring, &s.Rx.ring} {
		if d := r.producer.Load() - r.consumer.Load(); d > n {
			return fmt.Errorf("%w: a ring holds %d entries, more than its size %d", ErrNotXSK, d, n)
		}
	}
	return nil
}

// Resync takes every ring's indices from the shared ones: ours to
// produce on fill and tx, ours to consume on completion and rx. An adopter
// calls it again once the giver has stopped touching the rings: Adopt
// read them while the giver may still have been producing and consuming.
func (s *Socket) Resync() {
	for _, r := range []*ring{&s.Fill.ring, &s.Tx.ring} {
		r.local, r.cached = r.producer.Load(), r.consumer.Load()
	}
	for _, r := range []*ring{&s.Comp.ring, &s.Rx.ring} {
		r.local, r.cached = r.consumer.Load(), r.producer.Load()
	}
}
