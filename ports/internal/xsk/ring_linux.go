package xsk

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ring is the index part of one mmap'd AF_XDP ring.
type ring struct {
	mem      []byte
	producer *atomic.Uint32
	consumer *atomic.Uint32
	flags    *atomic.Uint32
	mask     uint32
	size     uint32
	// local is this side's index: the producer index of a ring we fill,
	// the consumer index of a ring we drain. cached is the kernel's index
	// as last read.
	local, cached uint32
}

// NeedWakeup reports whether the kernel asks to be woken up (XDP_USE_NEED_WAKEUP)
// to make progress on this ring.
func (r *ring) NeedWakeup() bool { return r.flags.Load()&unix.XDP_RING_NEED_WAKEUP != 0 }

// free is how many entries a producer may write now (refreshing the cached
// consumer index only when fewer than want are known to be free).
func (r *ring) free(want uint32) uint32 {
	n := r.size - (r.local - r.cached)
	if n < want {
		r.cached = r.consumer.Load()
		n = r.size - (r.local - r.cached)
	}
	return n
}

// ready is how many entries a consumer may read now (refreshing the cached
// producer index only when fewer than want are known).
func (r *ring) ready(want uint32) uint32 {
	n := r.cached - r.local
	if n < want {
		r.cached = r.producer.Load()
		n = r.cached - r.local
	}
	return n
}

// Pending is how many entries a producer ring holds that the kernel has not
// consumed yet.
func (r *ring) Pending() uint32 {
	r.cached = r.consumer.Load()
	return r.local - r.cached
}

// AddrRing is a fill or completion ring: frame addresses in the UMEM.
type AddrRing struct {
	ring
	addrs []uint64
}

// Put writes addrs to a fill ring and publishes them; it returns how many
// fit.
func (r *AddrRing) Put(addrs []uint64) int {
	n := min(uint32(len(addrs)), r.free(uint32(len(addrs))))
	for i := uint32(0); i < n; i++ {
		r.addrs[(r.local+i)&r.mask] = addrs[i]
	}
	r.local += n
	r.producer.Store(r.local)
	return int(n)
}

// Free is how many addresses a fill ring can take now.
func (r *AddrRing) Free() int { return int(r.free(r.size)) }

// Get reads up to len(dst) addresses from a completion ring and releases
// them to the kernel.
func (r *AddrRing) Get(dst []uint64) int {
	n := min(uint32(len(dst)), r.ready(uint32(len(dst))))
	for i := uint32(0); i < n; i++ {
		dst[i] = r.addrs[(r.local+i)&r.mask]
	}
	r.local += n
	r.consumer.Store(r.local)
	return int(n)
}

// DescRing is an rx or tx ring of packet descriptors.
type DescRing struct {
	ring
	descs []unix.XDPDesc
}

// Put writes descriptors to a tx ring and publishes them; it returns how
// many fit.
func (r *DescRing) Put(d []unix.XDPDesc) int {
	n := min(uint32(len(d)), r.free(uint32(len(d))))
	for i := uint32(0); i < n; i++ {
		r.descs[(r.local+i)&r.mask] = d[i]
	}
	r.local += n
	r.producer.Store(r.local)
	return int(n)
}

// Free is how many descriptors a tx ring can take now.
func (r *DescRing) Free() int { return int(r.free(r.size)) }

// Get reads up to len(dst) descriptors from an rx ring and releases them.
func (r *DescRing) Get(dst []unix.XDPDesc) int {
	n := min(uint32(len(dst)), r.ready(uint32(len(dst))))
	for i := uint32(0); i < n; i++ {
		dst[i] = r.descs[(r.local+i)&r.mask]
	}
	r.local += n
	r.consumer.Store(r.local)
	return int(n)
}
