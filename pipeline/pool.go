package pipeline

import (
	"errors"
	"fmt"
	"os"
)

// PoolConfig sizes a Pool.
type PoolConfig struct {
	// Frames is the number of frames in the arena (default 8192).
	Frames int
	// Shared puts the arena in a memfd, so that a successor process can
	// adopt the pool (Handover, AdoptPool). See pool_handover.go for the
	// price.
	Shared bool
}

// Pool is one arena of frames plus its metadata and free list. It is owned
// by one goroutine (a worker); none of its methods lock.
type Pool struct {
	mem    []byte
	memfd  *os.File // the arena's memfd, if shared
	arena  uint64   // the memfd's inode number, if shared (ArenaID)
	meta   []Meta
	free   []BufID
	total  int
	shared poolShared
	// traceIdx is the worker's trace record index by buffer while a trace
	// runs (see Observer), so that clones inherit their original's.
	traceIdx []int32
}

// NewPool maps a new arena.
func NewPool(cfg PoolConfig) (*Pool, error) {
	n := cfg.Frames
	if n == 0 {
		n = 8192
	}
	if n < VectorSize || n > 1<<24 {
		return nil, fmt.Errorf("pipeline: pool of %d frames: want %d to %d", n, VectorSize, 1<<24)
	}
	var mem []byte
	var memfd *os.File
	var err error
	if cfg.Shared {
		memfd, mem, err = mapSharedArena(n * FrameSize)
	} else {
		mem, err = mapArena(n * FrameSize)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: map arena of %d frames: %w", n, err)
	}
	p := &Pool{mem: mem, memfd: memfd, arena: inode(memfd), meta: make([]Meta, n), free: make([]BufID, n), total: n}
	// LIFO free list, lowest IDs on top so a light load stays in few pages.
	for i := range p.free {
		p.free[i] = BufID(n - 1 - i)
	}
	return p, nil
}

// ErrPoolClosed is returned by Close on a pool already closed.
var ErrPoolClosed = errors.New("pipeline: pool closed")

// Close unmaps the arena. No buffer of the pool may be used afterwards, by
// this process or by the kernel.
func (p *Pool) Close() error {
	if p.mem == nil {
		return ErrPoolClosed
	}
	err := unmapArena(p.mem)
	if p.memfd != nil {
		err = errors.Join(err, p.memfd.Close())
	}
	p.mem, p.memfd, p.meta, p.free = nil, nil, nil, nil
	return err
}

// Memory returns the whole arena (for registering it as an AF_XDP UMEM).
func (p *Pool) Memory() []byte { return p.mem }

// Size is the number of frames in the pool.
func (p *Pool) Size() int { return p.total }

// Available is the number of free frames (given-back buffers count once
// reclaimed).
func (p *Pool) Available() int { return len(p.free) }

// Offset is the byte offset of a buffer's frame in the arena (its AF_XDP
// UMEM address).
func Offset(id BufID) uint64 { return uint64(id) * FrameSize }

// IDAt is the buffer whose frame holds arena offset off.
func IDAt(off uint64) BufID { return BufID(off / FrameSize) }

// Alloc takes one frame and resets its metadata: empty packet at Headroom.
func (p *Pool) Alloc() (BufID, bool) {
	n := len(p.free)
	if n == 0 {
		return 0, false
	}
	id := p.free[n-1]
	p.free = p.free[:n-1]
	p.meta[id] = Meta{Off: Headroom}
	return id, true
}

// AllocN fills dst with fresh frames, as Alloc does, and returns how many it
// got (fewer than len(dst) only when the pool runs low).
func (p *Pool) AllocN(dst []BufID) int {
	n := min(len(dst), len(p.free))
	top := len(p.free)
	copy(dst[:n], p.free[top-n:top])
	p.free = p.free[:top-n]
	for _, id := range dst[:n] {
		p.meta[id] = Meta{Off: Headroom}
	}
	return n
}

// Free returns a frame to the pool, with the rest of its chain if it has
// one.
func (p *Pool) Free(id BufID) {
	if p.meta[id].Next != 0 {
		p.freeChain(id)
		return
	}
	p.free = append(p.free, id)
}

// FreeN returns frames to the pool, with their chains. A run without
// chains is appended in one copy.
func (p *Pool) FreeN(ids []BufID) {
	for len(ids) > 0 {
		i := 0
		for i < len(ids) && p.meta[ids[i]].Next == 0 {
			i++
		}
		p.free = append(p.free, ids[:i]...)
		if i == len(ids) {
			return
		}
		p.freeChain(ids[i])
		ids = ids[i+1:]
	}
}

// Arrays returns the metadata array and the arena. Hot loops index them
// directly (with PacketAt) so the slice headers stay in registers instead of
// being reloaded through the Pool on every packet.
func (p *Pool) Arrays() ([]Meta, []byte) { return p.meta, p.mem }

// PacketAt returns the packet bytes of buffer id whose metadata is m, from
// the arena mem returned by Arrays.
func PacketAt(mem []byte, id BufID, m *Meta) []byte {
	o := int(id)*FrameSize + int(m.Off)
	return mem[o : o+int(m.Len)]
}

// FrameAt returns buffer id's whole frame, headroom included, from the
// arena mem returned by Arrays (capacity capped at the frame). With
// PacketAt it is the one way nodes and drivers reach a buffer's bytes by
// ID: no code outside this package computes id*FrameSize itself.
func FrameAt(mem []byte, id BufID) []byte {
	o := int(id) * FrameSize
	return mem[o : o+FrameSize : o+FrameSize]
}

// Meta returns the metadata of a buffer.
func (p *Pool) Meta(id BufID) *Meta { return &p.meta[id] }

// Frame returns a buffer's whole frame, headroom included.
func (p *Pool) Frame(id BufID) []byte {
	o := int(id) * FrameSize
	return p.mem[o : o+FrameSize : o+FrameSize]
}

// Packet returns a buffer's packet bytes.
func (p *Pool) Packet(id BufID) []byte {
	m := &p.meta[id]
	o := int(id)*FrameSize + int(m.Off)
	return p.mem[o : o+int(m.Len) : o+int(m.Len)]
}

// SetPacket copies data into a buffer at Headroom and sets its length. It
// reports false, changing nothing, if data does not fit.
func (p *Pool) SetPacket(id BufID, data []byte) bool {
	if len(data) > MaxPacket {
		return false
	}
	m := &p.meta[id]
	o := int(id)*FrameSize + Headroom
	copy(p.mem[o:o+len(data)], data)
	m.Off, m.Len = Headroom, uint16(len(data))
	return true
}

// Prepend grows the packet by n bytes at the front, into the headroom, and
// returns the new packet bytes; ok is false (nothing changed) if the headroom
// is too small.
func (p *Pool) Prepend(id BufID, n int) (pkt []byte, ok bool) {
	m := &p.meta[id]
	if n < 0 || int(m.Off) < n {
		return nil, false
	}
	m.Off -= uint16(n)
	m.Len += uint16(n)
	return p.Packet(id), true
}

// Advance drops n bytes from the front of the packet; ok is false (nothing
// changed) if the packet is shorter than n.
func (p *Pool) Advance(id BufID, n int) bool {
	m := &p.meta[id]
	if n < 0 || int(m.Len) < n {
		return false
	}
	m.Off += uint16(n)
	m.Len -= uint16(n)
	return true
}

// Clone copies a buffer's packet and metadata into a new buffer (a chain
// into a new chain).
func (p *Pool) Clone(id BufID) (BufID, bool) {
	if p.meta[id].Next != 0 {
		return p.cloneChain(id)
	}
	c, ok := p.Alloc()
	if !ok {
		return 0, false
	}
	p.meta[c] = p.meta[id]
	if p.traceIdx != nil {
		p.traceIdx[c] = p.traceIdx[id] // a copy of a traced packet is traced too
	}
	m := &p.meta[id]
	src := int(id)*FrameSize + int(m.Off)
	dst := int(c)*FrameSize + int(m.Off)
	copy(p.mem[dst:dst+int(m.Len)], p.mem[src:src+int(m.Len)])
	return c, true
}
