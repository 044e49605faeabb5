package pipeline

import (
	"errors"
	"fmt"
	"os"
)

// A shared pool (PoolConfig.Shared) keeps its arena in a memfd instead of
// anonymous memory, so that another process can map the same frames: a
// vswitchd taking over from a running one adopts each worker's pool with
// Handover and AdoptPool, and with it every frame the old process had
// posted to AF_XDP rings (the UMEM is the arena: the kernel keeps writing
// received packets into it across the handover).
//
// The price is the page size. Anonymous memory gets transparent huge pages
// where THP is "madvise" or "always"; a memfd only where the host's
// shmem_enabled allows it (commonly "never"), so a shared arena usually
// runs on 4 KiB pages.

// ErrNotShared is returned by Handover on a pool whose arena is not a
// memfd (PoolConfig.Shared was false).
var ErrNotShared = errors.New("pipeline: pool is not shared (its arena is private memory)")

// Handover returns a duplicate of the arena's memfd, for another process
// to map with AdoptPool; the caller closes it. Safe while the worker
// runs: the arena's contents move with the file, the free list
// separately (FreeIDs) once the worker has stopped.
func (p *Pool) Handover() (*os.File, error) {
	if p.memfd == nil {
		return nil, ErrNotShared
	}
	fd, err := dupCloexec(int(p.memfd.Fd()))
	if err != nil {
		return nil, fmt.Errorf("pipeline: dup pool memfd: %w", err)
	}
	return os.NewFile(uintptr(fd), "vecswitch-pool"), nil
}

// FreeIDs returns the free frames (given-back ones included). Only the
// owner calls it, with its worker stopped: the frames not listed are in
// flight in kernel rings (they come back through them to whoever polls
// the rings next) or lost with the process.
func (p *Pool) FreeIDs() []BufID {
	p.Reclaim()
	return append([]BufID(nil), p.free...)
}

// ErrBadHandover is wrapped by AdoptPool's and Restore's refusals.
var ErrBadHandover = errors.New("pipeline: bad pool handover")

// AdoptPool maps the arena of another process's pool from its memfd (the
// file stays the caller's), which must be exactly frames frames long.
// The pool starts with no free frame: Restore gives it the other
// process's free list once that process has stopped its worker.
func AdoptPool(f *os.File, frames int) (*Pool, error) {
	if frames < VectorSize || frames > 1<<24 {
		return nil, fmt.Errorf("%w: %d frames", ErrBadHandover, frames)
	}
	memfd, mem, err := adoptArena(f, frames*FrameSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadHandover, err)
	}
	return &Pool{mem: mem, memfd: memfd, arena: inode(memfd), meta: make([]Meta, frames), free: make([]BufID, 0, frames), total: frames}, nil
}

// Restore sets an adopted pool's free list (FreeIDs of the pool it was
// adopted from). Each frame may be listed once; a pool that has free
// frames already refuses. Only the owner calls it, before its worker
// starts.
func (p *Pool) Restore(free []BufID) error {
	if len(p.free) != 0 || p.shared.pending.Load() {
		return fmt.Errorf("%w: the pool has free frames already", ErrBadHandover)
	}
	seen := make([]bool, p.total)
	for _, id := range free {
		if int(id) >= p.total || seen[id] {
			return fmt.Errorf("%w: free frame %d out of range or listed twice", ErrBadHandover, id)
		}
		seen[id] = true
	}
	p.free = append(p.free, free...)
	return nil
}

// Shared reports whether the pool's arena is a memfd another process can
// adopt.
func (p *Pool) Shared() bool { return p.memfd != nil }

// ArenaID identifies a shared pool's arena across processes (the memfd's
// inode number): a pool and the pool adopted from it have the same ID. It
// is 0 for a pool that is not shared.
func (p *Pool) ArenaID() uint64 { return p.arena }

// ChunksContiguous reports whether every frame of the arena lies in
// physically contiguous memory as far as the host lets us know: true for a
// private arena (on transparent huge pages where the host gives them to
// anonymous memory, as before), false for a shared one on a host whose
// shared memory gets no huge pages (shmem_enabled "never" or "deny"): its
// 4 KiB pages make about half of the 2176-byte frames cross into a page
// that is not the next one in memory. AF_XDP in zero-copy mode cannot use
// such frames (the kernel drops a fill-ring address whose frame crosses a
// non-contiguous page), so afxdp runs such sockets in copy mode.
func (p *Pool) ChunksContiguous() bool { return p.memfd == nil || shmemHuge() }
