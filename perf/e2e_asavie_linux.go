package perf

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asavie/xdp"
	"golang.org/x/sys/unix"
)

// asavieXC is the baseline: a cross-connect written the way the
// github.com/asavie/xdp documentation shows, one socket (each with its own
// UMEM) and one XDP program per host end, every frame copied from the
// receiving socket's UMEM into a free frame of the other's. Ring sizes are
// raised from the library's 64 to 2048; everything else is the library's
// (one sendto per Transmit, no need_wakeup, a linear free-frame search).
//
// The library's defects shape the code: Transmit panics on an unexpected
// sendto errno, so the pump recovers; Close never unmaps the rings, so each
// socket (and its pinned UMEM) stays bound until the process exits or the
// device is deleted, which the topology does; Detach can loop forever, so
// the programs are left to go with their devices.
type asavieXC struct {
	progs [2]*xdp.Program
	socks [2]*xdp.Socket
	pump  *pump
}

var asavieOptions = xdp.SocketOptions{
	NumFrames: 4096, FrameSize: 2048,
	FillRingNumDescs: 2048, CompletionRingNumDescs: 2048, RxRingNumDescs: 2048, TxRingNumDescs: 2048,
}

func startAsavie(t *topo, cpu int) (*rig, error) {
	x, err := openAsavie(t)
	if err != nil {
		return nil, err
	}
	if x.pump, err = startPump(cpu, x.step); err != nil {
		return nil, errors.Join(err, x.close())
	}
	return &rig{close: x.close, report: x.report}, nil
}

// openAsavie attaches the programs and binds the sockets; the caller runs
// step. On an error it closes what it opened and returns a nil *asavieXC.
func openAsavie(t *topo) (_ *asavieXC, err error) {
	x := &asavieXC{}
	defer closeOnError(&err, x.close)
	for i, e := range []*endpoint{&t.snd, &t.rcv} {
		if x.progs[i], err = xdp.NewProgram(1); err != nil {
			return nil, fmt.Errorf("perf: asavie program: %w", err)
		}
		if err = x.progs[i].Attach(e.hostIx); err != nil {
			return nil, fmt.Errorf("perf: asavie attach to %s: %w", e.host, err)
		}
		if x.socks[i], err = newAsavieSocket(e.hostIx); err != nil {
			return nil, fmt.Errorf("perf: on %s: %w", e.host, err)
		}
		if err = x.progs[i].Register(0, x.socks[i].FD()); err != nil {
			return nil, fmt.Errorf("perf: asavie register: %w", err)
		}
	}
	return x, nil
}

// newAsavieSocket binds the library's socket to queue 0 of ifindex once
// the kernel has let go of the queue: an AF_XDP socket closed just before
// on it (another path on the same topology) keeps it busy for a while
// after close (see e2e_xskqueue_linux.go for why). Where the kernel cannot
// say whether the queue is free (before Linux 6.15), EBUSY is retried with
// a doubling pause; each failed attempt leaks the library's mappings and
// pinned UMEM until the process exits, so the attempts are few.
func newAsavieSocket(ifindex int) (*xdp.Socket, error) {
	if err := waitQueueFree(ifindex, 0, xskReleaseWait); err != nil {
		return nil, err
	}
	pause := 20 * time.Millisecond
	for try := 0; ; try++ {
		s, err := xdp.NewSocket(ifindex, 0, &asavieOptions)
		if err == nil {
			return s, nil
		}
		// The library formats the errno with %v: only its text is left.
		if !strings.Contains(err.Error(), unix.EBUSY.Error()) || try == 6 {
			return nil, fmt.Errorf("%w: %w", ErrAsavieBind, err)
		}
		time.Sleep(pause)
		pause *= 2
	}
}

func (x *asavieXC) step(p *pump) error {
	for d := range 2 {
		fwd, drop := asaviePump(x.socks[d], x.socks[1-d])
		if fwd > 0 {
			p.fwd[d].Add(uint64(fwd))
		}
		if drop > 0 {
			p.drop[d].Add(uint64(drop))
		}
	}
	return nil
}

// asaviePump moves what src received to dst: refill src's fill ring,
// reclaim dst's completions, copy each frame into a free dst frame and
// transmit (which kicks once).
func asaviePump(src, dst *xdp.Socket) (fwd, drop int) {
	src.Fill(src.GetDescs(src.NumFreeFillSlots(), true))
	if c := dst.NumCompleted(); c > 0 {
		dst.Complete(c)
	}
	var tx []xdp.Desc
	if n := src.NumReceived(); n > 0 {
		rx := src.Receive(n)
		tx = dst.GetDescs(len(rx), false)
		for i := range tx {
			tx[i].Len = uint32(copy(dst.GetFrame(tx[i]), src.GetFrame(rx[i])))
		}
		drop = len(rx) - len(tx)
	}
	if len(tx) > 0 || dst.NumTransmitted() > 0 {
		fwd = dst.Transmit(tx)
		drop += len(tx) - fwd
	}
	return fwd, drop
}

func (x *asavieXC) report(res *E2EResult) {
	for i, s := range x.socks {
		if s == nil {
			continue
		}
		sr := SocketReport{Name: fmt.Sprint("asavie", i)}
		if st, err := s.Stats(); err == nil {
			k := st.KernelStats
			sr.RxDropped, sr.RxRingFull, sr.RxFillEmpty, sr.TxInvalidDescs = k.Rx_dropped, k.Rx_ring_full, k.Rx_fill_ring_empty_descs, k.Tx_invalid_descs
		}
		if x.pump != nil {
			sr.Forwarded, sr.Dropped = x.pump.fwd[1-i].Load(), x.pump.drop[1-i].Load()
		}
		res.Sockets = append(res.Sockets, sr)
	}
}

func (x *asavieXC) close() error {
	var errs []error
	if x.pump != nil {
		errs = append(errs, x.pump.stop())
		x.pump = nil
	}
	for i := range x.socks {
		if x.socks[i] != nil {
			errs = append(errs, x.socks[i].Close())
			x.socks[i] = nil
		}
		if x.progs[i] != nil {
			errs = append(errs, x.progs[i].Close())
			x.progs[i] = nil
		}
	}
	return errors.Join(errs...)
}
