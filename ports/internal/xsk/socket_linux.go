package xsk

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// CopyMode says whether a socket moves frames by copy or zero-copy.
type CopyMode int

// Copy modes.
const (
	// Auto tries zero-copy and falls back to copy mode when the driver does
	// not support it.
	Auto CopyMode = iota
	// Copy forces copy mode.
	Copy
	// ZeroCopy requires zero-copy; binding fails without driver support.
	ZeroCopy
)

// Config describes one socket, bound to one queue of one device.
type Config struct {
	Ifindex int
	Queue   int
	// RingSize is the size of each of the four rings, a power of two.
	RingSize uint32
	Mode     CopyMode
	// Share, if not nil, is a socket whose UMEM this one shares
	// (XDP_SHARED_UMEM); this socket gets fill and completion rings of its
	// own, and the copy mode of the UMEM's first socket (Mode is ignored).
	// If nil, the socket registers Mem as a new UMEM.
	Share *Socket
	// Mem is the UMEM: FrameSize-byte chunks, page aligned. A frame size
	// that is not a power of two selects unaligned-chunk mode.
	Mem       []byte
	FrameSize uint32
	// TxBudget, if not zero, asks the kernel (XDP_MAX_TX_SKB_BUDGET, where
	// it has it) to send up to this many frames per kick in copy mode
	// instead of 32.
	TxBudget int
}

// Socket is one AF_XDP socket with its rings. It is not safe for concurrent
// use.
type Socket struct {
	fd       int
	cfg      Config
	zeroCopy bool
	// Fill and Comp are the socket's UMEM rings, Rx and Tx its packet rings.
	Fill, Comp AddrRing
	Rx, Tx     DescRing
	closed     bool
}

// ErrBadConfig is wrapped by configuration errors.
var ErrBadConfig = errors.New("xsk: bad socket configuration")

// Open creates, maps and binds a socket.
func Open(cfg Config) (*Socket, error) {
	if cfg.RingSize == 0 || cfg.RingSize&(cfg.RingSize-1) != 0 {
		return nil, fmt.Errorf("%w: ring size %d is not a power of two", ErrBadConfig, cfg.RingSize)
	}
	if cfg.Share == nil && (len(cfg.Mem) == 0 || cfg.FrameSize < 2048) {
		return nil, fmt.Errorf("%w: UMEM of %d bytes with %d-byte frames", ErrBadConfig, len(cfg.Mem), cfg.FrameSize)
	}
	if cfg.Share != nil && cfg.Share.closed {
		return nil, fmt.Errorf("%w: shared socket is closed", ErrBadConfig)
	}
	modes := []CopyMode{cfg.Mode}
	if cfg.Mode == Auto && cfg.Share == nil {
		modes = []CopyMode{ZeroCopy, Copy}
	}
	var err error
	for _, m := range modes {
		// A socket just closed on the same queue may still hold it for a
		// moment (its last reference goes after an RCU grace period, for
		// example from an XSKMAP), so EBUSY is retried for up to a second.
		for try := 0; ; try++ {
			var s *Socket
			if s, err = open(cfg, m); err == nil {
				return s, nil
			}
			if !errors.Is(err, unix.EBUSY) || try == 100 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil, err
}

func open(cfg Config, mode CopyMode) (*Socket, error) {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("xsk: socket: %w", err)
	}
	s := &Socket{fd: fd, cfg: cfg}
	if err := s.setup(mode); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Socket) setup(mode CopyMode) error {
	fd, cfg := s.fd, s.cfg
	if cfg.Share == nil {
		unaligned := cfg.FrameSize&(cfg.FrameSize-1) != 0
		if err := registerUmem(fd, cfg.Mem, cfg.FrameSize, 0, unaligned); err != nil {
			return fmt.Errorf("xsk: register UMEM of %d bytes: %w", len(cfg.Mem), err)
		}
	}
	n := int(cfg.RingSize)
	for _, o := range []struct {
		opt  int
		name string
	}{{unix.XDP_UMEM_FILL_RING, "fill"}, {unix.XDP_UMEM_COMPLETION_RING, "completion"}, {unix.XDP_RX_RING, "rx"}, {unix.XDP_TX_RING, "tx"}} {
		if err := unix.SetsockoptInt(fd, unix.SOL_XDP, o.opt, n); err != nil {
			return fmt.Errorf("xsk: %s ring of %d: %w", o.name, n, err)
		}
	}
	off, err := mmapOffsets(fd)
	if err != nil {
		return fmt.Errorf("xsk: mmap offsets: %w", err)
	}
	if err := mapAddrRing(fd, unix.XDP_UMEM_PGOFF_FILL_RING, off.Fr, cfg.RingSize, &s.Fill); err != nil {
		return err
	}
	if err := mapAddrRing(fd, unix.XDP_UMEM_PGOFF_COMPLETION_RING, off.Cr, cfg.RingSize, &s.Comp); err != nil {
		return err
	}
	if err := mapDescRing(fd, unix.XDP_PGOFF_RX_RING, off.Rx, cfg.RingSize, &s.Rx); err != nil {
		return err
	}
	if err := mapDescRing(fd, unix.XDP_PGOFF_TX_RING, off.Tx, cfg.RingSize, &s.Tx); err != nil {
		return err
	}
	if cfg.TxBudget > 0 {
		// Not every kernel has it; without it copy mode sends 32 a kick.
		_ = unix.SetsockoptInt(fd, unix.SOL_XDP, unix.XDP_MAX_TX_SKB_BUDGET, cfg.TxBudget)
	}
	sa := &unix.SockaddrXDP{Flags: unix.XDP_USE_NEED_WAKEUP, Ifindex: uint32(cfg.Ifindex), QueueID: uint32(cfg.Queue)}
	switch mode {
	case ZeroCopy:
		sa.Flags |= unix.XDP_ZEROCOPY
	case Copy:
		sa.Flags |= unix.XDP_COPY
	}
	if cfg.Share != nil {
		// A socket sharing a UMEM may give no other flag: it inherits
		// copy mode and need_wakeup from the UMEM's first socket.
		sa.Flags = unix.XDP_SHARED_UMEM
		sa.SharedUmemFD = uint32(cfg.Share.fd)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("xsk: bind to ifindex %d queue %d (%s): %w", cfg.Ifindex, cfg.Queue, modeName(mode), err)
	}
	if o, err := xdpOptions(fd); err == nil {
		s.zeroCopy = o&unix.XDP_OPTIONS_ZEROCOPY != 0
	}
	return nil
}

func modeName(m CopyMode) string {
	switch m {
	case Copy:
		return "copy mode"
	case ZeroCopy:
		return "zero-copy"
	}
	return "auto"
}

// FD is the socket's file descriptor (for the XSKMAP).
func (s *Socket) FD() int { return s.fd }

// ZeroCopy reports whether the socket runs in zero-copy mode.
func (s *Socket) ZeroCopy() bool { return s.zeroCopy }

// Queue is the queue the socket is bound to.
func (s *Socket) Queue() int { return s.cfg.Queue }

// Kick makes the kernel send what the tx ring holds. In copy mode one kick
// sends at most the kernel's budget (32 frames by default), so Kick repeats
// while the kernel makes progress, up to rounds times. It returns the errno
// of the last kick that failed for a reason other than a busy ring (the
// device is gone: ENXIO, ENETDOWN...), or 0.
func (s *Socket) Kick(rounds int) unix.Errno {
	for range rounds {
		if s.Tx.Pending() == 0 {
			return 0
		}
		before := s.Tx.cached
		switch e := kick(s.fd); e {
		case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS:
			if e != 0 {
				return 0 // the kernel is busy: the next call retries
			}
		default:
			return e
		}
		if s.Tx.Pending() != 0 && s.Tx.cached == before {
			return 0 // no progress
		}
	}
	return 0
}

// Wake lets the kernel use the fill ring when it asked to be woken.
func (s *Socket) Wake() unix.Errno {
	switch e := wake(s.fd); e {
	case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS:
		return 0
	default:
		return e
	}
}

// Stats returns the kernel's counters for the socket.
func (s *Socket) Stats() (unix.XDPStatistics, error) { return statistics(s.fd) }

// Close unmaps the rings and closes the socket. The kernel gives no UMEM
// frame back: the caller reclaims frames it had posted to the fill and tx
// rings itself.
func (s *Socket) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	errs := []error{unmapRing(&s.Fill.ring), unmapRing(&s.Comp.ring), unmapRing(&s.Rx.ring), unmapRing(&s.Tx.ring)}
	errs = append(errs, unix.Close(s.fd))
	return errors.Join(errs...)
}
