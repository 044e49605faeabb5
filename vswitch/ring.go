package vswitch

import "sync/atomic"

// eventRing carries events from one worker to one control-plane consumer
// (the learner, the neighbor manager). The worker is the only producer.
// When the ring is full the event is dropped and counted: the events are
// best effort, a later packet asks again. A run of identical events (the
// same source in a whole vector) is queued once.
type eventRing[E comparable] struct {
	ev   []E
	mask uint64

	_    [64]byte
	head atomic.Uint64 // consumer
	_    [56]byte
	tail atomic.Uint64 // producer
	_    [56]byte

	// Producer-private state.
	ltail, chead uint64
	last         E
	drops        counter
	// wake, if set, is kicked when publish makes events visible.
	wake *waker
}

// waker lets workers wake the control-plane consumer of their rings when
// it is parked (VPP's nodes signal the l2-learn process the same way): a
// publish that finds it parked sends one token on a channel. Only the
// first publish after the consumer parks sends; the rest see parked false
// — one atomic load per vector that produced events, a channel send at
// most once per park, nothing per packet.
type waker struct {
	parked atomic.Bool
	ch     chan struct{}
}

func newWaker() *waker { return &waker{ch: make(chan struct{}, 1)} }

// kick wakes the consumer if it is parked.
func (w *waker) kick() {
	if w.parked.Load() && w.parked.CompareAndSwap(true, false) {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// pending reports whether the ring holds events the consumer has not
// taken. Only the consumer calls it.
func (r *eventRing[E]) pending() bool { return r.tail.Load() != r.head.Load() }

// counter is a single-writer counter readable by anyone (see pipeline).
type counter struct{ v atomic.Uint64 }

func (c *counter) add(n uint64) { c.v.Store(c.v.Load() + n) }
func (c *counter) get() uint64  { return c.v.Load() }

func newEventRing[E comparable](n int) *eventRing[E] {
	return &eventRing[E]{ev: make([]E, n), mask: uint64(n - 1)}
}

// push queues an event; the worker calls publish once per vector.
func (r *eventRing[E]) push(e E) {
	if e == r.last {
		return
	}
	if r.ltail-r.chead > r.mask {
		r.chead = r.head.Load()
		if r.ltail-r.chead > r.mask {
			r.drops.add(1)
			return
		}
	}
	r.ev[r.ltail&r.mask] = e
	r.ltail++
	r.last = e
}

// publish makes pushed events visible to the consumer.
func (r *eventRing[E]) publish() {
	if r.tail.Load() != r.ltail {
		r.tail.Store(r.ltail)
		if r.wake != nil {
			r.wake.kick()
		}
	}
	var zero E
	r.last = zero
}

// consume calls fn for every published event and returns how many there
// were. Only the consumer calls it.
func (r *eventRing[E]) consume(fn func(E)) int {
	head, tail := r.head.Load(), r.tail.Load()
	n := int(tail - head)
	for ; head != tail; head++ {
		fn(r.ev[head&r.mask])
	}
	r.head.Store(head)
	return n
}
