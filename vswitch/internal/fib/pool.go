package fib

import (
	"math/bits"
	"sync/atomic"
)

// pool hands out fixed-size units (256-entry groups, IPv6 leaves) from one
// array that readers reach through an atomic pointer; a unit is named by
// its index.
//
// Everything but cur belongs to the writer, which keeps its own view w of
// the array and must re-read it after every alloc (alloc may replace it).
// The array grows and shrinks by copying: the copy is filled first, then
// published in cur. A reader still on the old array sees its frozen
// contents, which held when the reader loaded the pointer, and the GC frees
// the old array once the last reader lets go of it.
//
// release puts a unit on the pending list, because a reader may still be
// inside it. reclaim makes pending units free; the caller promises that
// every reader that could have reached them has finished, through a
// synchronization that orders those reads before the writer's next writes
// (an atomic epoch, a channel, a mutex): the writer then fills a reused unit
// with plain stores before it publishes a reference to it.
//
// Free units are handed out lowest index first, so live units stay at the
// bottom; reclaim trims free units off the top and halves the array when
// three quarters of it is unused.
type pool[T any] struct {
	cur  atomic.Pointer[[]T]
	w    []T // == *cur.Load(), the writer's view
	unit int // elements per unit
	size int // bytes per element, for accounting

	limit    int      // most units
	reserved int      // units [0, reserved) are the owner's, never handed out
	used     int      // units [0, used) are in use, pending or free
	free     []uint64 // bit i: unit i is free
	nfree    int
	hint     int // no free unit below hint
	pending  []uint32
}

const minPoolUnits = 8

// init sets a zero pool up: unit elements of size bytes per unit, units
// [0, reserved) kept for the owner, at most limit units.
func (p *pool[T]) init(unit, size, reserved, limit int) {
	p.unit, p.size, p.limit, p.reserved = unit, size, limit, reserved
	p.resize(min(limit, reserved+minPoolUnits))
	p.used = reserved
}

// close drops the array; readers must be gone.
func (p *pool[T]) close() {
	p.cur.Store(nil)
	p.w, p.free, p.pending = nil, nil, nil
	p.used, p.nfree = 0, 0
}

// units is the capacity of the array, in units.
func (p *pool[T]) units() int { return len(p.w) / p.unit }

// inUse is the number of units handed out and not yet reclaimed.
func (p *pool[T]) inUse() int { return p.used - p.reserved - p.nfree }

// alloc hands out a unit; false when the pool is at its limit. The unit's
// contents are stale: the caller fills it before publishing it.
func (p *pool[T]) alloc() (uint32, bool) {
	if p.nfree > 0 {
		for w := p.hint >> 6; w < len(p.free); w++ {
			if b := p.free[w]; b != 0 {
				i := w<<6 + bits.TrailingZeros64(b)
				p.free[w] = b & (b - 1)
				p.nfree--
				p.hint = i + 1
				return uint32(i), true
			}
		}
		panic("fib: pool free count out of sync")
	}
	if p.used >= p.limit {
		return 0, false
	}
	if p.used == p.units() {
		p.resize(min(p.limit, p.used+p.used/2+minPoolUnits))
	}
	p.used++
	return uint32(p.used - 1), true
}

// release queues a unit that no reader can newly reach for reuse after the
// next reclaim.
func (p *pool[T]) release(i uint32) { p.pending = append(p.pending, i) }

// reclaim frees the pending units (see the type's comment for the promise
// it needs), trims free units off the top and shrinks a mostly empty array.
func (p *pool[T]) reclaim() {
	for _, i := range p.pending {
		p.free[i>>6] |= 1 << (i & 63)
		p.hint = min(p.hint, int(i))
	}
	p.nfree += len(p.pending)
	p.pending = p.pending[:0]
	for p.used > p.reserved && p.free[(p.used-1)>>6]&(1<<((p.used-1)&63)) != 0 {
		p.used--
		p.free[p.used>>6] &^= 1 << (p.used & 63)
		p.nfree--
	}
	if n := p.units(); n > p.reserved+4*minPoolUnits && n-p.reserved >= 4*(p.used-p.reserved) {
		p.resize(p.reserved + max(2*(p.used-p.reserved), minPoolUnits))
	}
}

// resize copies units [0, used) into a new array of n units, publishes it
// and sizes the free bitmap to match.
func (p *pool[T]) resize(n int) {
	w := make([]T, n*p.unit)
	copy(w, p.w[:p.used*p.unit])
	p.w = w
	p.cur.Store(&w)
	f := make([]uint64, (n+63)>>6)
	copy(f, p.free)
	p.free = f
}

// bytes is the memory the pool holds: the array and its bookkeeping.
func (p *pool[T]) bytes() int { return len(p.w)*p.size + cap(p.free)*8 + cap(p.pending)*4 }
