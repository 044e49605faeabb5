package vhostuser

import (
	"runtime"
	"sync/atomic"
	"time"
)

// vqSlot is where the control plane hands a running ring to the data path.
// Its lock is held by a queue for one Rx or Tx call and by the control
// plane while it swaps the ring; a data-path caller never waits for the
// control plane for longer than a pointer swap, and the control plane,
// once it has swapped the ring out, knows no worker still reads the old
// one or its guest memory. Two tx queues may share a guest receive ring
// (when the guest enabled fewer queue pairs than the switch has workers);
// the lock serialises them too.
type vqSlot struct {
	locked atomic.Uint32
	ring   *vring // guarded by locked
	_      [48]byte
}

// tryLock takes the lock if it is free (rx queues: a poll that finds it
// taken finds nothing).
func (s *vqSlot) tryLock() bool { return s.locked.CompareAndSwap(0, 1) }

// lock spins until it has the lock (tx queues: the holder is another
// worker moving one batch, or the control plane swapping a pointer).
func (s *vqSlot) lock() {
	for i := 0; !s.locked.CompareAndSwap(0, 1); i++ {
		if i >= 64 {
			runtime.Gosched()
		}
	}
}

// lockSlow takes the lock for the control plane, sleeping between tries.
func (s *vqSlot) lockSlow() {
	for !s.locked.CompareAndSwap(0, 1) {
		time.Sleep(5 * time.Microsecond)
	}
}

func (s *vqSlot) unlock() { s.locked.Store(0) }

// swap replaces the slot's ring, returning the old one, which no data-path
// caller uses any more.
func (s *vqSlot) swap(r *vring) *vring {
	s.lockSlow()
	old := s.ring
	s.ring = r
	s.unlock()
	return old
}
