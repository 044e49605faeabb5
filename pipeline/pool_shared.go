package pipeline

import (
	"sync"
	"sync/atomic"
)

// poolShared is the part of a Pool other goroutines may touch: buffers given
// back by the control plane and per-driver state. Everything else in a Pool
// belongs to its worker.
type poolShared struct {
	mu       sync.Mutex
	returned []BufID // guarded by mu
	pending  atomic.Bool
	state    map[any]any // guarded by mu
}

// GiveBack hands buffers back to the pool from a goroutine that is not the
// pool's owner, for example a port closing a queue in the control plane
// after the kernel returned (or can no longer use) buffers it held. They
// become allocatable when the owner next calls Reclaim (a worker does at the
// start of every iteration). Safe for concurrent use.
func (p *Pool) GiveBack(ids []BufID) {
	if len(ids) == 0 {
		return
	}
	p.shared.mu.Lock()
	p.shared.returned = append(p.shared.returned, ids...)
	p.shared.mu.Unlock()
	p.shared.pending.Store(true)
}

// Reclaim moves buffers given back with GiveBack to the free list. Only the
// owner calls it; when nothing was given back it costs one atomic load.
func (p *Pool) Reclaim() {
	if !p.shared.pending.Load() {
		return
	}
	p.shared.mu.Lock()
	p.free = append(p.free, p.shared.returned...)
	p.shared.returned = p.shared.returned[:0]
	p.shared.pending.Store(false)
	p.shared.mu.Unlock()
}

// DriverState returns the value stored under key, creating it with init on
// first use. Port drivers keep per-pool kernel state here (an AF_XDP UMEM
// registration shared by every socket of the pool). Control plane only;
// safe for concurrent use.
func (p *Pool) DriverState(key any, init func() any) any {
	p.shared.mu.Lock()
	defer p.shared.mu.Unlock()
	if p.shared.state == nil {
		p.shared.state = map[any]any{}
	}
	v, ok := p.shared.state[key]
	if !ok {
		v = init()
		p.shared.state[key] = v
	}
	return v
}
