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

// PoolHandover describes a pool for AdoptPool: its free frames. The
// frames not in Free are the handing-over process's: posted to kernel
// rings (they come back through them) or lost with it.
type PoolHandover struct {
	Frames int
	Free   []BufID
}

// Handover returns a duplicate of the arena's memfd and the free list.
// Only the pool's owner calls it, with its worker stopped (no frame in a
// vector); the caller closes the file.
func (p *Pool) Handover() (*os.File, PoolHandover, error) {
	if p.memfd == nil {
		return nil, PoolHandover{}, ErrNotShared
	}
	p.Reclaim()
	fd, err := dupCloexec(int(p.memfd.Fd()))
	if err != nil {
		return nil, PoolHandover{}, fmt.Errorf("pipeline: dup pool memfd: %w", err)
	}
	return os.NewFile(uintptr(fd), "vecswitch-pool"), PoolHandover{Frames: p.total, Free: append([]BufID(nil), p.free...)}, nil
}

// ErrBadHandover is wrapped by AdoptPool's refusals.
var ErrBadHandover = errors.New("pipeline: bad pool handover")

// AdoptPool maps the arena of another process's pool from its memfd (the
// file stays the caller's) and takes h.Free as its free list. The memfd
// must be exactly h.Frames frames long and the free list must name each
// frame at most once.
func AdoptPool(f *os.File, h PoolHandover) (*Pool, error) {
	if h.Frames < VectorSize || h.Frames > 1<<24 {
		return nil, fmt.Errorf("%w: %d frames", ErrBadHandover, h.Frames)
	}
	seen := make([]bool, h.Frames)
	for _, id := range h.Free {
		if int(id) >= h.Frames || seen[id] {
			return nil, fmt.Errorf("%w: free frame %d out of range or listed twice", ErrBadHandover, id)
		}
		seen[id] = true
	}
	memfd, mem, err := adoptArena(f, h.Frames*FrameSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadHandover, err)
	}
	return &Pool{mem: mem, memfd: memfd, arena: inode(memfd), meta: make([]Meta, h.Frames), free: append(make([]BufID, 0, h.Frames), h.Free...), total: h.Frames}, nil
}

// Shared reports whether the pool's arena is a memfd another process can
// adopt.
func (p *Pool) Shared() bool { return p.memfd != nil }

// ArenaID identifies a shared pool's arena across processes (the memfd's
// inode number): a pool and the pool adopted from it have the same ID. It
// is 0 for a pool that is not shared.
func (p *Pool) ArenaID() uint64 { return p.arena }
