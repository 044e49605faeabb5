package conntrack

import "sync/atomic"

// freeList hands out entry indices: first never-used ones in order (a
// bump counter), then freed ones from a lock-free stack (Treiber's, with
// a generation tag in the head word against ABA). Workers keep a small
// cache of their own in front of it (Worker.alloc, Worker.release).
type freeList struct {
	head atomic.Uint64   // tag<<32 | index of the top entry, 0 empty
	next []atomic.Uint32 // next[i]: the index below i on the stack
	used atomic.Uint32   // indices 1..used were handed out at least once
	cap  uint32
}

func (f *freeList) init(n uint32) {
	f.next = make([]atomic.Uint32, n+1)
	f.cap = n
}

func (f *freeList) push(i uint32) {
	for {
		h := f.head.Load()
		f.next[i].Store(uint32(h))
		if f.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(i)) {
			return
		}
	}
}

// pop returns a free index, 0 if there is none.
func (f *freeList) pop() uint32 {
	for {
		h := f.head.Load()
		i := uint32(h)
		if i == 0 {
			break
		}
		n := f.next[i].Load()
		if f.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(n)) {
			return i
		}
	}
	if f.used.Load() < f.cap {
		if i := f.used.Add(1); i <= f.cap {
			return i
		}
	}
	return 0
}
