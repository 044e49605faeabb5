package afxdp

import (
	"errors"
	"fmt"
	"log/slog"
	"math/bits"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/internal/fastpath"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

// Handing a running port to another process.
//
// An AF_XDP port's state is its XDP attachment (a BPF link running a
// program that steers each queue to a socket through an XSKMAP), its
// sockets with their rings, and the frames of the worker pools that the
// sockets hold: posted to the fill ring, received and not read yet, on
// the tx ring or completed and not reaped. The link and the sockets move;
// the pools are the sockets' UMEM, so they move too: a worker pool must
// be shared (pipeline.PoolConfig.Shared) and the adopter maps the same
// arena (pipeline.AdoptPool) with the free list the giver had when it
// stopped.
//
// The program moves in two steps. Adopt loads the adopter's own program
// (plain, or the fast path against its own maps) with its own XSKMAP of
// the adopted sockets, and leaves the giver's running in the link; Swap
// then puts the adopter's in, atomically, so the device is never without
// a program, and the giver's maps die with the giver. Between the two the
// adopter fills its maps: with the fast path, a program swapped in before
// the learned MACs are in its FDB would send every frame the giver's
// program switched in the kernel to the sockets, whose fill rings the
// fast path keeps at the floor. The plain program has no table to fill,
// but it waits for Swap too: one order for both kinds, and an abandoned
// takeover that had not reached Swap leaves the giver's program where it
// was. A port not swapped in yet cannot be handed on (Handover refuses),
// and closing or releasing it closes this process's descriptor of the
// link only: the giver, which holds the link too, keeps its program
// attached. If the takeover is abandoned after Swap, the giver swaps its
// own program back (TakeBack).
//
// Unlike a tap queue or an AF_PACKET socket, an AF_XDP ring has exactly
// one producer and one consumer, so the two processes must never poll the
// same socket. The handover therefore has three parts: Handover (the
// descriptors and the port's shape, while the giver still forwards),
// Adopt and Swap; then, with the giver's workers stopped, SocketStates
// (what each socket holds of its pool) and Restore, before the adopter
// starts its workers. Frames arriving meanwhile wait in the rx ring (and
// in the fill ring's frames), so the cost of the handover is latency, not
// loss, as long as the gap is shorter than the fill ring's depth at the
// arrival rate.

// ErrNoHandover is wrapped when a port cannot be handed over.
var ErrNoHandover = errors.New("afxdp: port cannot be handed over")

// Handover describes the port and returns its descriptors (the XDP link,
// then each socket, in the order of h.Sockets), still
// the port's: the caller sends them (SCM_RIGHTS duplicates them) and must
// not close them. Every pool a socket uses must be shared, and an adopted
// port's program must be in its link (Swap). The port keeps
// running meanwhile, and goes on if the handover is abandoned; once the
// other process has taken over, Release it and close it.
func (p *Port) Handover() (Handover, []int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return Handover{}, nil, fmt.Errorf("afxdp %s: %w: closed", p.cfg.Name, ErrNoHandover)
	}
	lfd, err := p.prog.LinkFD()
	if err != nil {
		return Handover{}, nil, fmt.Errorf("afxdp %s: %w: %w", p.cfg.Name, ErrNoHandover, err)
	}
	h := Handover{Ifname: p.cfg.Ifname, Index: p.ifindex, Queues: p.queues, DevQueues: p.devQueues,
		RingSize: p.cfg.RingSize, BatchSize: p.cfg.BatchSize, Native: p.prog.Native()}
	fds := []int{lfd}
	for q := range p.queues {
		s := p.socks[q]
		if s == nil {
			continue
		}
		if s.pool.ArenaID() == 0 {
			return Handover{}, nil, fmt.Errorf("afxdp %s: %w: queue %d's worker pool is private memory (the frames the kernel holds could not move)", p.cfg.Name, ErrNoHandover, q)
		}
		h.Sockets = append(h.Sockets, SocketHandover{Queue: q, Arena: s.pool.ArenaID(), Rx: s.rx, Tx: s.tx})
		fds = append(fds, s.sk.FD())
	}
	return h, fds, nil
}

// SocketStates returns what each open socket holds of its pool, for
// Restore in the adopter. The workers must have stopped polling the
// port's queues.
func (p *Port) SocketStates() []SocketState {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []SocketState
	for q := range p.queues {
		if s := p.socks[q]; s != nil {
			out = append(out, SocketState{Queue: q, InFill: s.fill.inFill, TxIn: s.fill.txIn,
				Owned: append([]uint64(nil), s.owned...), Target: s.fill.target})
		}
	}
	return out
}

// TakeBack swaps the port's own program back into its link, after a
// takeover was abandoned: the taker may have swapped its own in.
// An adopted port that was never swapped in has nothing to take back
// (xsk.ErrNotSwapped); it could not have been handed over either.
func (p *Port) TakeBack() error {
	if err := p.prog.Reinstate(); err != nil {
		return fmt.Errorf("afxdp %s: take the XDP program back: %w", p.cfg.Name, err)
	}
	return nil
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
// Handover for their order). It checks each (the link attaches XDP to the
// described device, whose index is unchanged; each socket is an AF_XDP
// socket whose rings map at the described size), then loads its own
// program (the fast path's if cfg.FastPath is set, as New does) with the
// adopted sockets in its XSKMAP. The link keeps running the giver's
// program until Swap. On success the
// descriptors are the port's; on failure they are left to the caller.
// cfg supplies the name, logger and fast path; the shape comes from h. A
// queue's socket joins a pool when the switch opens the queue on it
// (OpenRx/OpenTx), which must be the pool adopted from the socket's arena;
// Restore then gives it what it holds.
func Adopt(cfg Config, h Handover, fds []int) (_ *Port, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Ifname, cfg.RingSize, cfg.BatchSize, cfg.Queues = h.Ifname, h.RingSize, h.BatchSize, h.Queues
	if cfg.Name == "" {
		cfg.Name = cfg.Ifname
	}
	name := cfg.Name
	if len(fds) != 1+len(h.Sockets) {
		return nil, fmt.Errorf("afxdp %s: adopt: %d descriptors for %d sockets", name, len(fds), len(h.Sockets))
	}
	if h.RingSize < 64 || h.RingSize > 1<<16 || h.RingSize&(h.RingSize-1) != 0 || h.BatchSize < 1 || h.BatchSize > pipeline.VectorSize ||
		h.Queues < 1 || h.DevQueues < h.Queues || h.DevQueues > 1<<16 {
		return nil, fmt.Errorf("afxdp %s: adopt: bad shape: %d queues of %d, rings of %d, batch %d", name, h.Queues, h.DevQueues, h.RingSize, h.BatchSize)
	}
	idx, mtu, err := deviceInfo(h.Ifname)
	if err != nil || idx != h.Index {
		return nil, fmt.Errorf("afxdp %s: adopt: device %s (index %d) is not there any more: index %d, %v", name, h.Ifname, h.Index, idx, err)
	}
	// Work on duplicates, so that a refusal leaves the caller's intact.
	var dups []int
	socks := map[int]*xsk.Socket{}
	var lnk interface{ Close() error }
	defer func() {
		if err != nil {
			for _, d := range dups {
				unix.Close(d)
			}
			for _, s := range socks {
				s.Close()
			}
			if lnk != nil {
				lnk.Close()
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
	for i, sh := range h.Sockets {
		if sh.Queue < 0 || sh.Queue >= h.Queues || socks[sh.Queue] != nil || (!sh.Rx && !sh.Tx) {
			return nil, fmt.Errorf("afxdp %s: adopt: socket %d: queue %d repeated, out of range or with no side open", name, i, sh.Queue)
		}
		fd := dups[1+i]
		dups[1+i] = -1 // the socket's from here, whatever Adopt says
		sk, aerr := xsk.Adopt(fd, xsk.Config{Ifindex: idx, Queue: sh.Queue, RingSize: uint32(h.RingSize)})
		if aerr != nil {
			return nil, fmt.Errorf("afxdp %s: adopt queue %d: %w", name, sh.Queue, aerr)
		}
		socks[sh.Queue] = sk
		p.inherit[sh.Queue] = &inherited{sk: sk, h: sh}
	}
	dups = dups[:1]
	l, err := xsk.AdoptLink(dups[0], idx)
	dups = nil // the link's, closed by AdoptLink if it failed
	if err != nil {
		return nil, fmt.Errorf("afxdp %s: adopt: %w", name, err)
	}
	lnk = l
	if cfg.FastPath != nil {
		if prog, ferr := fastpath.Stage(l, idx, h.DevQueues, h.Native, cfg.FastPath.m, socks); ferr == nil {
			p.prog = prog
			st, cerr := fastpath.CheckPeer(idx)
			p.peer, p.fpErr = st, peerErr(st, cerr)
		} else {
			p.fpErr = fmt.Errorf("fast-path program not loaded: %w", ferr)
		}
		if p.fpErr != nil {
			cfg.Logger.Warn("adopted port not in the XDP fast path: its traffic all goes through the pipeline", "port", name, "reason", p.fpErr)
		}
	}
	if p.prog == nil {
		if p.prog, err = xsk.StageProgram(l, h.DevQueues, h.Native, socks); err != nil {
			return nil, fmt.Errorf("afxdp %s: adopt: %w", name, err)
		}
	}
	lnk = nil // the program's now
	for _, fd := range fds {
		unix.Close(fd)
	}
	return p, nil
}

// Swap puts the adopted port's own XDP program into the link in place of
// the giver's, atomically; Adopt loaded it. Call it once the switch has
// put the learned MACs into the fast path's maps (the adopter's: the
// giver's program uses the giver's), while the giver still polls the
// sockets. Once swapped, and for a port New made, it does nothing. If the
// takeover is abandoned after Swap, the giver's TakeBack puts its own
// program back.
func (p *Port) Swap() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("afxdp %s: swap the XDP program in: %w", p.cfg.Name, ports.ErrClosed)
	}
	if err := p.prog.Swap(); err != nil {
		return fmt.Errorf("afxdp %s: %w", p.cfg.Name, err)
	}
	return nil
}

// adoptSock makes the inherited socket of queue q a sock of pool, which
// must be the pool adopted from its arena. It holds nothing of the pool
// until Restore. Caller holds p.mu.
func (p *Port) adoptSock(q int, pool *pipeline.Pool) (*sock, error) {
	in := p.inherit[q]
	if a := pool.ArenaID(); a == 0 || a != in.h.Arena {
		return nil, fmt.Errorf("afxdp %s: queue %d: its socket's UMEM is arena %d, the worker's pool is arena %d (workers and queues must match the old process's)", p.cfg.Name, q, in.h.Arena, a)
	}
	share := pool.DriverState(umemKey{}, func() any { return &umemShare{budget: newBudget(pool.Size())} }).(*umemShare)
	share.mu.Lock()
	defer share.mu.Unlock()
	if err := share.budget.admit(p.cfg.Name, q); err != nil {
		return nil, err
	}
	s := &sock{p: p, q: q, pool: pool, share: share, sk: in.sk, owned: newOwned(pool.Size()),
		fill: newFillAcct(share.budget, p.cfg.RingSize), adopted: true}
	s.target.Store(int32(s.fill.target))
	share.socks = append(share.socks, in.sk)
	delete(p.inherit, q)
	return s, nil
}

// Restore gives each adopted socket what it holds of its pool (the
// giver's SocketStates) and takes its ring indices where the stopped giver
// left them, once the port's queues are open here and before the workers
// poll them: without it the frames on the rings would come
// back to the pool uncounted, and closing the port would not give back
// the others. All or nothing: a state that names no adopted open socket,
// or whose counts do not add up, changes nothing.
func (p *Port) Restore(states []SocketState) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[int]bool{}
	for _, st := range states {
		s := p.socks[st.Queue]
		if s == nil || !s.adopted || seen[st.Queue] {
			return fmt.Errorf("afxdp %s: restore: queue %d is not an adopted open socket (or is listed twice)", p.cfg.Name, st.Queue)
		}
		seen[st.Queue] = true
		held := 0
		for _, w := range st.Owned {
			held += bits.OnesCount64(w)
		}
		if len(st.Owned) != len(s.owned) || st.InFill < 0 || st.TxIn < 0 || held != st.InFill+st.TxIn {
			return fmt.Errorf("afxdp %s: restore queue %d: %d frames owned (map of %d words, want %d), %d in fill and %d in tx",
				p.cfg.Name, st.Queue, held, len(st.Owned), len(s.owned), st.InFill, st.TxIn)
		}
	}
	for q, s := range p.socks {
		if s.adopted && !seen[q] {
			return fmt.Errorf("afxdp %s: restore: no state for adopted queue %d", p.cfg.Name, q)
		}
	}
	for _, st := range states {
		s := p.socks[st.Queue]
		s.sk.Resync() // the giver moved the rings on after Adopt mapped them
		copy(s.owned, st.Owned)
		s.fill.setFill(st.InFill)
		s.fill.txMoved(st.TxIn)
		s.fill.level = int(s.sk.Fill.Pending())
		s.fill.target = min(max(st.Target, FillFloor), s.fill.b.maxTarget(p.cfg.RingSize))
		s.target.Store(int32(s.fill.target))
		s.adopted = false
	}
	return nil
}
