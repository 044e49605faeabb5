package memport

import (
	"sync/atomic"

	"github.com/vecswitch/vecswitch/pipeline"
)

const slotSize = pipeline.MaxPacket

// ring is a single-producer single-consumer ring of frame slots. Each side
// owns one index and caches the other's (the AF_XDP ring discipline): the
// shared atomics are touched once per batch, not per frame.
type ring struct {
	slots []byte
	lens  []uint16
	mask  uint64

	_    [64]byte
	head atomic.Uint64 // next slot to consume; written by the consumer
	_    [56]byte
	tail atomic.Uint64 // next slot to fill; written by the producer
	_    [56]byte

	drops atomic.Uint64
}

func newRing(n int) *ring {
	return &ring{slots: make([]byte, n*slotSize), lens: make([]uint16, n), mask: uint64(n - 1)}
}

func (r *ring) slot(i uint64) []byte {
	o := int(i&r.mask) * slotSize
	return r.slots[o : o+slotSize : o+slotSize]
}

func (r *ring) used() int { return int(r.tail.Load() - r.head.Load()) }

// put is the producer side for test frames.
func (r *ring) put(frames [][]byte) int {
	head, tail := r.head.Load(), r.tail.Load()
	n := 0
	for _, f := range frames {
		if tail-head > r.mask || len(f) > slotSize {
			break
		}
		copy(r.slot(tail), f)
		r.lens[tail&r.mask] = uint16(len(f))
		tail++
		n++
	}
	r.tail.Store(tail)
	return n
}

// take is the consumer side for collected frames.
func (r *ring) take(max int) [][]byte {
	head, tail := r.head.Load(), r.tail.Load()
	var out [][]byte
	for head != tail && (max <= 0 || len(out) < max) {
		l := r.lens[head&r.mask]
		out = append(out, append([]byte(nil), r.slot(head)[:l]...))
		head++
	}
	r.head.Store(head)
	return out
}

// drain is the consumer side, discarding.
func (r *ring) drain() int {
	head, tail := r.head.Load(), r.tail.Load()
	r.head.Store(tail)
	return int(tail - head)
}
