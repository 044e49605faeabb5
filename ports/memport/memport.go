// Package memport is an in-memory port: each queue is a single-producer,
// single-consumer ring of frame slots. Tests and benchmarks stand on the
// "wire" side of it: Inject puts frames on an rx ring for the switch to
// receive, Collect takes what the switch transmitted. The copy into and out
// of the worker's arena models a NIC's DMA (or AF_XDP copy mode).
//
// For benchmarks a port can instead generate traffic endlessly from a fixed
// list of frames (SetSource) and discard what it transmits (SetSink), like
// testpmd's txonly and rxonly modes, so the measured cost is the switch's.
package memport

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// Config sizes a memory port.
type Config struct {
	Name     string
	RxQueues int // default 1
	TxQueues int // default 1
	// RingSize is the number of slots per ring, a power of two (default 1024).
	RingSize int
	// BatchSize is the most packets one Rx returns (default VectorSize).
	BatchSize int
	// Offload makes the port take large frames (pipeline chains) and
	// partial checksums, as a tap with a virtio-net header does
	// (ports.Info.Offload). Such frames do not go on the tx ring: Tx
	// gathers them, with their offload state, for CollectOffloaded. This
	// copy allocates; it is for tests of the switch's offload paths.
	Offload bool
}

// OffloadedFrame is a frame the switch handed an Offload port whole: a
// large (GSO) frame or one with its checksum left partial.
type OffloadedFrame struct {
	Data []byte
	// Offload, GSOType, GSOSize, CsumStart and CsumOff are the frame's
	// pipeline.Meta offload state.
	Offload, GSOType   uint8
	GSOSize            uint16
	CsumStart, CsumOff uint16
}

// Port is an in-memory port.
type Port struct {
	name   string
	batch  int
	rx, tx []*ring

	mu     sync.Mutex
	open   map[string]bool
	closed bool

	src    atomic.Pointer[source]
	sink   atomic.Bool
	txSunk atomic.Uint64

	offload   bool
	offMu     sync.Mutex
	offloaded []OffloadedFrame
}

var _ ports.Port = (*Port)(nil)

// New makes a memory port.
func New(cfg Config) (*Port, error) {
	if cfg.Name == "" {
		return nil, errors.New("memport: port needs a name")
	}
	rq, tq, rs, bs := def(cfg.RxQueues, 1), def(cfg.TxQueues, 1), def(cfg.RingSize, 1024), def(cfg.BatchSize, pipeline.VectorSize)
	if rq > 64 || tq > 64 || rs&(rs-1) != 0 || rs > 1<<20 || bs > pipeline.VectorSize || rq < 0 || tq < 0 || bs < 1 {
		return nil, fmt.Errorf("memport %s: bad config %+v (queues <= 64, ring a power of two <= 2^20, batch 1..%d)", cfg.Name, cfg, pipeline.VectorSize)
	}
	p := &Port{name: cfg.Name, batch: bs, open: map[string]bool{}, offload: cfg.Offload}
	for range rq {
		p.rx = append(p.rx, newRing(rs))
	}
	for range tq {
		p.tx = append(p.tx, newRing(rs))
	}
	return p, nil
}

func def(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// Name implements ports.Port.
func (p *Port) Name() string { return p.name }

// Info implements ports.Port.
func (p *Port) Info() ports.Info {
	return ports.Info{RxQueues: len(p.rx), TxQueues: len(p.tx), BatchSize: p.batch, MaxFrame: slotSize, Offload: p.offload}
}

// CollectOffloaded returns and forgets the frames an Offload port was
// handed whole (see Config.Offload), in order.
func (p *Port) CollectOffloaded() []OffloadedFrame {
	p.offMu.Lock()
	defer p.offMu.Unlock()
	f := p.offloaded
	p.offloaded = nil
	return f
}

// keepOffloaded gathers the chain id (which the caller frees) for
// CollectOffloaded.
func (p *Port) keepOffloaded(pool *pipeline.Pool, id pipeline.BufID) {
	m := pool.Meta(id)
	o := OffloadedFrame{Offload: m.Offload, GSOType: m.GSOType, GSOSize: m.GSOSize, CsumStart: m.CsumStart, CsumOff: m.CsumOff}
	for _, b := range pool.Frags(id, nil) {
		o.Data = append(o.Data, b...)
	}
	p.offMu.Lock()
	p.offloaded = append(p.offloaded, o)
	p.offMu.Unlock()
}

func (p *Port) claim(kind string, q, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ports.ErrClosed
	}
	if q < 0 || q >= n {
		return fmt.Errorf("memport %s: %s queue %d of %d: %w", p.name, kind, q, n, ports.ErrNoQueue)
	}
	k := fmt.Sprint(kind, q)
	if p.open[k] {
		return fmt.Errorf("memport %s: %s queue %d: %w", p.name, kind, q, ports.ErrQueueInUse)
	}
	p.open[k] = true
	return nil
}

func (p *Port) release(kind string, q int) {
	p.mu.Lock()
	delete(p.open, fmt.Sprint(kind, q))
	p.mu.Unlock()
}

// OpenRx implements ports.Port.
func (p *Port) OpenRx(q int, pool *pipeline.Pool) (pipeline.RxQueue, error) {
	if err := p.claim("rx", q, len(p.rx)); err != nil {
		return nil, err
	}
	return &rxQueue{queue{p: p, kind: "rx", q: q, r: p.rx[q], pool: pool}}, nil
}

// OpenTx implements ports.Port.
func (p *Port) OpenTx(q int, pool *pipeline.Pool) (pipeline.TxQueue, error) {
	if err := p.claim("tx", q, len(p.tx)); err != nil {
		return nil, err
	}
	return &txQueue{queue{p: p, kind: "tx", q: q, r: p.tx[q], pool: pool}}, nil
}

// Close implements ports.Port.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ports.ErrClosed
	}
	if len(p.open) > 0 {
		return fmt.Errorf("memport %s: %d queues still open", p.name, len(p.open))
	}
	p.closed = true
	return nil
}

// Inject puts frames on rx queue q for the switch to receive and returns how
// many fit (frames longer than pipeline.MaxPacket are refused, as is
// everything once the ring is full). One goroutine at a time may inject
// into a queue.
func (p *Port) Inject(q int, frames ...[]byte) int {
	return p.rx[q].put(frames)
}

// Collect takes up to max frames (all if max <= 0) the switch transmitted on
// tx queue q, as fresh copies. One goroutine at a time may collect a queue.
func (p *Port) Collect(q, max int) [][]byte {
	return p.tx[q].take(max)
}

// Drain discards what the switch transmitted on tx queue q, without
// copying, and returns how many frames that was.
func (p *Port) Drain(q int) int { return p.tx[q].drain() }

// CollectAll takes everything transmitted on every tx queue.
func (p *Port) CollectAll() [][]byte {
	var out [][]byte
	for q := range p.tx {
		out = append(out, p.tx[q].take(0)...)
	}
	return out
}

// Pending is the number of injected frames not yet received by the switch.
func (p *Port) Pending() int {
	n := 0
	for _, r := range p.rx {
		n += r.used()
	}
	return n
}

// Dropped is the number of frames the switch transmitted that did not fit
// in a tx ring.
func (p *Port) Dropped() uint64 {
	var n uint64
	for _, r := range p.tx {
		n += r.drops.Load()
	}
	return n
}

// SetSource makes every rx queue generate frames endlessly, cycling through
// frames, instead of reading its ring. nil turns it off. Frames are copied.
// Set it before the port's queues are polled.
func (p *Port) SetSource(frames [][]byte) error {
	if frames == nil {
		p.src.Store(nil)
		return nil
	}
	s, err := newSource(frames)
	if err != nil {
		return fmt.Errorf("memport %s: %w", p.name, err)
	}
	p.src.Store(s)
	return nil
}

// SetSink makes tx queues discard (and count) frames instead of ringing them.
func (p *Port) SetSink(on bool) { p.sink.Store(on) }

// Sunk is the number of frames discarded in sink mode.
func (p *Port) Sunk() uint64 { return p.txSunk.Load() }
