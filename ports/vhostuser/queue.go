package vhostuser

import (
	"errors"
	"runtime/debug"

	"github.com/vecswitch/vecswitch/pipeline"
)

var errQueueClosed = errors.New("vhostuser: queue closed")

// rxQueue receives what the guest transmits on pair q's transmit ring
// (virtqueue 2q+1). It is used by one goroutine at a time.
type rxQueue struct {
	p      *Port
	q      int
	slot   *vqSlot
	pool   *pipeline.Pool
	batch  int
	c      *rxCounters
	pollFD int
	closed bool
	held   int // buffers taken from the pool by the Rx under way
}

// txQueue transmits into a guest receive ring: pair q's (virtqueue 2q)
// while it runs, else one the backend maps it to. It is used by one
// goroutine at a time.
type txQueue struct {
	p      *Port
	q      int
	pool   *pipeline.Pool
	c      *txCounters
	s      *txScratch
	closed bool
}

// Rx polls the guest's transmit ring: up to min(len(bufs), batch) frames,
// copied into fresh pool buffers at pipeline.Headroom. With no front-end,
// or while the control plane swaps the ring, it returns nothing. A pending
// announce (Config.MAC, SEND_RARP) comes out of queue 0 as one more frame.
func (q *rxQueue) Rx(bufs []pipeline.BufID) (n int, err error) {
	if q.closed {
		return 0, errQueueClosed
	}
	if len(bufs) > q.batch {
		bufs = bufs[:q.batch]
	}
	s := q.slot
	if len(bufs) == 0 || !s.tryLock() {
		return 0, nil
	}
	defer q.end(s, bufs, &n, debug.SetPanicOnFault(true))
	r := s.ring
	if r == nil {
		return 0, nil
	}
	n = r.receive(q.pool, bufs, q.c, &q.held)
	if q.q == 0 && n < len(bufs) {
		n += q.announce(&bufs[n])
	}
	return n, nil
}

// announce sends the pending announce frame, if any, in a new buffer
// stored at *slot; it returns 1 if it did.
func (q *rxQueue) announce(slot *pipeline.BufID) int {
	a := q.p.b.announce
	v := a.Load()
	if v&announcePending == 0 || !a.CompareAndSwap(v, 0) {
		return 0
	}
	id, ok := q.pool.Alloc()
	if !ok {
		a.CompareAndSwap(0, v) // next time
		return 0
	}
	meta, mem := q.pool.Arrays()
	frame := pipeline.FrameAt(mem, id)
	meta[id].Len = uint16(rarp(frame[pipeline.Headroom:pipeline.Headroom+rarpLen], v&^announcePending))
	*slot = id
	bump(&q.c.packets, 1)
	bump(&q.c.bytes, rarpLen)
	return 1
}

// end closes an Rx: it recovers from a fault on guest memory (the
// front-end shrank the file behind it), which frees the buffers taken,
// abandons the ring and drops the connection; and it releases the slot.
func (q *rxQueue) end(s *vqSlot, bufs []pipeline.BufID, n *int, panicOnFault bool) {
	debug.SetPanicOnFault(panicOnFault)
	if e := recover(); e != nil {
		if !isFault(e) {
			s.unlock()
			panic(e)
		}
		q.pool.FreeN(bufs[:q.held])
		q.held, *n = 0, 0
		s.ring.broken = true
		q.p.fault()
	}
	s.unlock()
}

// Tx copies frames into the guest's receive ring and frees every buffer.
// Large frames and partial checksums go as they are to a guest that
// negotiated taking them; for any other guest they are segmented or
// completed here (see the package doc).
// Without a running receive ring the frames are dropped (TxNotReady).
func (q *txQueue) Tx(bufs []pipeline.BufID) (sent int, err error) {
	pool := q.pool
	if q.closed {
		pool.FreeN(bufs)
		return 0, errQueueClosed
	}
	t := q.p.b.txMap[q.q].Load()
	if t < 0 || len(bufs) == 0 {
		bump(&q.c.notReady, uint64(len(bufs)))
		pool.FreeN(bufs)
		return 0, nil
	}
	s := &q.p.b.slots[2*t]
	s.lock()
	defer q.end(s, bufs, &sent, debug.SetPanicOnFault(true))
	r := s.ring
	if r == nil {
		bump(&q.c.notReady, uint64(len(bufs)))
		return 0, nil
	}
	return r.transmit(pool, bufs, q.c, q.s), nil
}

// end closes a Tx as rxQueue.end does, and frees bufs and any segment
// buffers the Tx held.
func (q *txQueue) end(s *vqSlot, bufs []pipeline.BufID, sent *int, panicOnFault bool) {
	debug.SetPanicOnFault(panicOnFault)
	if e := recover(); e != nil {
		q.pool.FreeN(q.s.ids[:q.s.held])
		q.s.held = 0
		if !isFault(e) {
			s.unlock()
			q.pool.FreeN(bufs)
			panic(e)
		}
		*sent = 0
		s.ring.broken = true
		q.p.fault()
	}
	s.unlock()
	q.pool.FreeN(bufs)
}

// isFault reports whether a recovered value is a memory fault turned into
// a panic by debug.SetPanicOnFault.
func isFault(e any) bool {
	_, ok := e.(interface{ Addr() uintptr })
	return ok
}

// Close releases the queue. It never touches the pool or the ring, so it
// may run while the worker that used the queue goes on with other ports.
func (q *rxQueue) Close() error {
	if q.closed {
		return errQueueClosed
	}
	q.closed = true
	q.p.release(q.p.rxOpen, q.q)
	return nil
}

// Close releases the queue, as rxQueue.Close.
func (q *txQueue) Close() error {
	if q.closed {
		return errQueueClosed
	}
	q.closed = true
	q.p.release(q.p.txOpen, q.q)
	return nil
}

// PollFD implements pipeline.Pollable: an epoll descriptor that holds the
// guest's kick eventfd while the ring runs, so it polls readable when the
// guest kicks. The backend asks for kicks only after a run of empty polls.
func (q *rxQueue) PollFD() int { return q.pollFD }
