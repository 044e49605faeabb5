package afxdp

import (
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
)

const addrMask = 1<<48 - 1

type rxQueue struct {
	s      *sock
	closed bool
	told   bool // ErrDown was returned once
}

type txQueue struct {
	s      *sock
	closed bool
}

// Rx implements pipeline.RxQueue.
func (q *rxQueue) Rx(bufs []pipeline.BufID) (int, error) {
	s := q.s
	if q.closed || s.p.down.Load() {
		// Say it once (the worker counts an rx error); then stay quiet.
		if q.told {
			return 0, nil
		}
		q.told = true
		return 0, ErrDown
	}
	s.refill()
	if t := int32(s.fill.target); t != s.target.Load() {
		s.target.Store(t)
	}
	n := s.sk.Rx.Get(s.descs[:min(len(bufs), s.p.cfg.BatchSize)])
	pool := s.pool
	for i, d := range s.descs[:n] {
		data := d.Addr&addrMask + d.Addr>>48
		id := pipeline.IDAt(data)
		m := pool.Meta(id)
		*m = pipeline.Meta{Off: uint16(data - pipeline.Offset(id)), Len: uint16(d.Len)}
		s.owned.clear(id)
		bufs[i] = id
	}
	s.fill.received(n)
	if s.sk.Fill.NeedWakeup() {
		if e := s.sk.Wake(); e != 0 {
			s.gone(e)
		}
	}
	return n, nil
}

// refill tops the fill ring up toward its target from the pool, as far
// as the budget allows (fillAcct.want).
func (s *sock) refill() {
	want, starved := s.fill.want(s.pool.Available(), int(s.sk.Fill.Pending()))
	if starved {
		s.starve()
	}
	if want <= 0 {
		return
	}
	ids := s.ids[:s.pool.AllocN(s.ids[:want])]
	for i, id := range ids {
		s.addrs[i] = pipeline.Offset(id)
	}
	put := s.sk.Fill.Put(s.addrs[:len(ids)])
	for _, id := range ids[:put] {
		s.owned.set(id)
	}
	s.pool.FreeN(ids[put:])
	s.fill.posted(put)
}

// starve counts a refill that found the fill ring below its floor and the
// pool empty, and logs the first one of the socket. Never the common case:
// the budget keeps every floor servable, so this means the pipeline held
// the whole pool (flood copies) or the budget is wrong.
func (s *sock) starve() {
	s.p.ctr.fillEmpty.Add(1)
	s.lastStarved.Store(time.Now().UnixNano())
	if s.starved.Add(1) == 1 {
		b := s.fill.b
		s.p.cfg.Logger.Warn("afxdp rx queue starved: no free buffer in the worker's pool for its fill ring",
			"port", s.p.cfg.Name, "queue", s.q, "pool_frames", b.frames, "pool_free", s.pool.Available(),
			"sockets", b.sockets.Load(), "in_fill", s.fill.inFill)
	}
}

// Close implements pipeline.RxQueue.
func (q *rxQueue) Close() error {
	if q.closed {
		return nil
	}
	q.closed = true
	return q.s.release(true)
}

// Tx implements pipeline.TxQueue: the frames go on the tx ring by address
// (the UMEM is shared, so nothing is copied) and return to the pool from the
// completion ring.
func (q *txQueue) Tx(bufs []pipeline.BufID) (int, error) {
	s := q.s
	if q.closed || s.p.down.Load() {
		s.pool.FreeN(bufs)
		return 0, ErrDown
	}
	s.complete()
	pool := s.pool
	n := min(len(bufs), s.sk.Tx.Free(), s.fill.txRoom())
	for i, id := range bufs[:n] {
		m := pool.Meta(id)
		s.descs[i].Addr = pipeline.Offset(id) + uint64(m.Off)
		s.descs[i].Len = uint32(m.Len)
		s.descs[i].Options = 0
	}
	n = s.sk.Tx.Put(s.descs[:n])
	for _, id := range bufs[:n] {
		s.owned.set(id)
	}
	s.fill.txMoved(n)
	if d := len(bufs) - n; d > 0 {
		s.p.ctr.txRingFull.Add(uint64(d))
		pool.FreeN(bufs[n:])
	}
	s.kick()
	return n, nil
}

// kick makes the kernel send what the tx ring holds. In copy mode one kick
// sends up to the socket's budget (a vector) synchronously, on this core;
// one kick per call keeps that work bounded so rx is polled again soon, and
// Reclaim kicks again if frames are left. In zero-copy mode kick only when
// the driver asks.
func (s *sock) kick() {
	if s.sk.ZeroCopy() && !s.sk.Tx.NeedWakeup() {
		return
	}
	if e := s.sk.Kick(1); e != 0 {
		s.gone(e)
	}
}

// complete returns transmitted frames to the pool.
func (s *sock) complete() {
	for {
		n := s.sk.Comp.Get(s.addrs[:])
		if n == 0 {
			return
		}
		for i, a := range s.addrs[:n] {
			id := pipeline.IDAt(a & addrMask)
			s.owned.clear(id)
			s.ids[i] = id
		}
		s.pool.FreeN(s.ids[:n])
		s.fill.txMoved(-n)
	}
}

// Reclaim implements pipeline.Reclaimer: completions go back to the pool,
// and frames still on the tx ring get another kick.
func (q *txQueue) Reclaim() {
	if q.closed || q.s.p.down.Load() {
		return
	}
	q.s.complete()
	if q.s.sk.Tx.Pending() > 0 {
		q.s.kick()
	}
}

// Close implements pipeline.TxQueue.
func (q *txQueue) Close() error {
	if q.closed {
		return nil
	}
	q.closed = true
	return q.s.release(false)
}

// PollFD implements pipeline.Pollable: the socket's descriptor, readable
// when its rx ring holds frames (the kernel wakes its waiters as it fills
// the ring), so an idle worker in adaptive mode sleeps in epoll rather
// than waking every millisecond — with the fast path switching a port's
// traffic in the kernel, that is most of the time.
func (q *rxQueue) PollFD() int { return q.s.sk.FD() }
