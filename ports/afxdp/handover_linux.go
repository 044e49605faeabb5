package afxdp

import (
	"errors"
	"fmt"
	"log/slog"
	"math/bits"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

// Handing a running port to another process.
//
// An AF_XDP port's state is its XDP program (attached through a BPF link,
// steering each queue to a socket through the XSKMAP), its sockets with
// their rings, and the frames of the worker pools that the sockets hold:
// posted to the fill ring, received and not read yet, on the tx ring or
// completed and not reaped. The pools are the sockets' UMEM, so they move
// too: a worker pool must be shared (pipeline.PoolConfig.Shared) and the
// adopter maps the same arena (pipeline.AdoptPool) with the free list the
// giver had when it stopped.
//
// Unlike a tap queue or an AF_PACKET socket, an AF_XDP ring has exactly
// one producer and one consumer, so the two processes must never poll the
// same socket: the giver stops its workers before it calls Handover, and
// the adopter starts its own only once the giver will not resume. Frames
// arriving meanwhile wait in the rx ring (and in the fill ring's frames),
// so the cost of the handover is latency, not loss, as long as the gap is
// shorter than the fill ring's depth at the arrival rate.

// ErrNoHandover is wrapped when a port cannot be handed over.
var ErrNoHandover = errors.New("afxdp: port cannot be handed over")

// Handover describes the port and returns its descriptors (the link,
// program and XSKMAP, then each socket, in the order of h.Sockets), still
// the port's: the caller sends them (SCM_RIGHTS duplicates them) and must
// not close them. The workers must have stopped polling the port's queues
// and every pool a socket uses must be shared. The port keeps running
// here if the handover is abandoned; once the other process has taken
// over, Release it and close it.
func (p *Port) Handover() (Handover, []int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return Handover{}, nil, fmt.Errorf("afxdp %s: %w: closed", p.cfg.Name, ErrNoHandover)
	}
	prog, ok := p.prog.(*xsk.Program)
	if !ok {
		return Handover{}, nil, fmt.Errorf("afxdp %s: %w: the XDP fast-path program is not handed over yet (run without --fast-path to upgrade without a restart)", p.cfg.Name, ErrNoHandover)
	}
	pf, err := prog.Files()
	if err != nil {
		return Handover{}, nil, fmt.Errorf("afxdp %s: %w: %w", p.cfg.Name, ErrNoHandover, err)
	}
	h := Handover{Ifname: p.cfg.Ifname, Index: p.ifindex, Queues: p.queues, DevQueues: p.devQueues,
		RingSize: p.cfg.RingSize, BatchSize: p.cfg.BatchSize, Native: prog.Native()}
	fds := []int{pf.Link, pf.Prog, pf.Map}
	for q := range p.queues {
		s := p.socks[q]
		if s == nil {
			continue
		}
		if s.pool.ArenaID() == 0 {
			return Handover{}, nil, fmt.Errorf("afxdp %s: %w: queue %d's worker pool is private memory (the frames the kernel holds could not move)", p.cfg.Name, ErrNoHandover, q)
		}
		h.Sockets = append(h.Sockets, SocketHandover{Queue: q, Arena: s.pool.ArenaID(), InFill: s.fill.inFill, TxIn: s.fill.txIn,
			Owned: append([]uint64(nil), s.owned...), Target: s.fill.target, Rx: s.rx, Tx: s.tx})
		fds = append(fds, s.sk.FD())
	}
	return h, fds, nil
}

// Release marks the port as handed over: closing its queues and the port
// then closes this process's descriptors and mappings only. The XSKMAP
// entries, the program's attachment and the frames the kernel holds stay
// with the process that adopted the port.
func (p *Port) Release() { p.released.Store(true) }

// inherited is a socket adopted with its port, until the switch opens its
// queue on the pool adopted from the same arena.
type inherited struct {
	sk *xsk.Socket
	h  SocketHandover
}

// Adopt makes a port of the descriptors another process handed over (see
// Handover for their order). It checks each: the link attaches an XDP
// program to the described device (whose index is unchanged), the map is
// its XSKMAP, each socket an AF_XDP socket whose rings map at the
// described size. On success the descriptors are the port's; on failure
// they are left to the caller. cfg supplies the port's name and logger;
// the shape comes from h. A queue's socket joins a pool when the switch
// opens the queue on it (OpenRx/OpenTx), which must be the pool adopted
// from the socket's arena.
func Adopt(cfg Config, h Handover, fds []int) (_ *Port, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Ifname, cfg.RingSize, cfg.BatchSize, cfg.Queues, cfg.FastPath = h.Ifname, h.RingSize, h.BatchSize, h.Queues, nil
	if cfg.Name == "" {
		cfg.Name = cfg.Ifname
	}
	name := cfg.Name
	if len(fds) != 3+len(h.Sockets) {
		return nil, fmt.Errorf("afxdp %s: adopt: %d descriptors for %d sockets", name, len(fds), len(h.Sockets))
	}
	if h.RingSize < 64 || h.RingSize > 1<<16 || h.RingSize&(h.RingSize-1) != 0 || h.BatchSize < 1 || h.BatchSize > pipeline.VectorSize ||
		h.Queues < 1 || h.DevQueues < h.Queues {
		return nil, fmt.Errorf("afxdp %s: adopt: bad shape: %d queues of %d, rings of %d, batch %d", name, h.Queues, h.DevQueues, h.RingSize, h.BatchSize)
	}
	idx, mtu, err := deviceInfo(h.Ifname)
	if err != nil || idx != h.Index {
		return nil, fmt.Errorf("afxdp %s: adopt: device %s (index %d) is not there any more: index %d, %v", name, h.Ifname, h.Index, idx, err)
	}
	// Work on duplicates, so that a refusal leaves the caller's intact.
	dups := make([]int, 0, len(fds))
	defer func() {
		if err != nil {
			for _, d := range dups {
				unix.Close(d)
			}
		}
	}()
	for _, fd := range fds {
		d, derr := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if derr != nil {
			return nil, fmt.Errorf("afxdp %s: adopt: %w", name, derr)
		}
		dups = append(dups, d)
	}
	p := &Port{cfg: cfg, ifindex: idx, mtu: mtu, queues: h.Queues, devQueues: h.DevQueues, socks: map[int]*sock{}, inherit: map[int]*inherited{}}
	prog, err := xsk.AdoptProgram(xsk.ProgramFiles{Link: dups[0], Prog: dups[1], Map: dups[2]}, idx, h.DevQueues, h.Native)
	dups = dups[3:] // now the program's
	if err != nil {
		return nil, fmt.Errorf("afxdp %s: adopt: %w", name, err)
	}
	p.prog = prog
	defer func() {
		if err != nil {
			for _, in := range p.inherit {
				in.sk.Close()
			}
			prog.Close()
		}
	}()
	for i, sh := range h.Sockets {
		if sh.Queue < 0 || sh.Queue >= h.Queues || p.inherit[sh.Queue] != nil || (!sh.Rx && !sh.Tx) {
			return nil, fmt.Errorf("afxdp %s: adopt: socket %d: queue %d repeated, out of range or with no side open", name, i, sh.Queue)
		}
		held := 0
		for _, w := range sh.Owned {
			held += bits.OnesCount64(w)
		}
		if sh.InFill < 0 || sh.TxIn < 0 || held != sh.InFill+sh.TxIn {
			return nil, fmt.Errorf("afxdp %s: adopt: queue %d: %d frames owned, %d in fill and %d in tx", name, sh.Queue, held, sh.InFill, sh.TxIn)
		}
		fd := dups[0]
		dups = dups[1:]
		sk, aerr := xsk.Adopt(fd, xsk.Config{Ifindex: idx, Queue: sh.Queue, RingSize: uint32(h.RingSize)})
		if aerr != nil {
			return nil, fmt.Errorf("afxdp %s: adopt queue %d: %w", name, sh.Queue, aerr)
		}
		p.inherit[sh.Queue] = &inherited{sk: sk, h: sh}
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	return p, nil
}

// adoptSock makes the inherited socket of queue q a sock of pool, which
// must be the pool adopted from its arena. Caller holds p.mu.
func (p *Port) adoptSock(q int, pool *pipeline.Pool) (*sock, error) {
	in := p.inherit[q]
	if a := pool.ArenaID(); a == 0 || a != in.h.Arena {
		return nil, fmt.Errorf("afxdp %s: queue %d: its socket's UMEM is arena %d, the worker's pool is arena %d (workers and queues must match the old process's)", p.cfg.Name, q, in.h.Arena, a)
	}
	if len(in.h.Owned) != len(newOwned(pool.Size())) {
		return nil, fmt.Errorf("afxdp %s: queue %d: ownership map of %d words for a pool of %d frames", p.cfg.Name, q, len(in.h.Owned), pool.Size())
	}
	share := pool.DriverState(umemKey{}, func() any { return &umemShare{budget: newBudget(pool.Size())} }).(*umemShare)
	share.mu.Lock()
	defer share.mu.Unlock()
	if err := share.budget.admit(p.cfg.Name, q); err != nil {
		return nil, err
	}
	s := &sock{p: p, q: q, pool: pool, share: share, sk: in.sk, owned: owned(in.h.Owned), fill: newFillAcct(share.budget, p.cfg.RingSize)}
	s.fill.setFill(in.h.InFill)
	s.fill.txMoved(in.h.TxIn)
	s.fill.level = int(in.sk.Fill.Pending())
	s.fill.target = min(max(in.h.Target, FillFloor), share.budget.maxTarget(p.cfg.RingSize))
	s.target.Store(int32(s.fill.target))
	share.socks = append(share.socks, in.sk)
	delete(p.inherit, q)
	return s, nil
}
