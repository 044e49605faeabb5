package tap

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// ErrDown is returned, once, by the Rx or Tx call that finds the device
// gone; Port.Down then reports the cause.
var ErrDown = errors.New("tap: device gone")

var errQueueClosed = errors.New("tap: queue closed")

// Device describes the tap device behind a port.
type Device struct {
	// Ifname and Index identify the device in Netns.
	Ifname string
	Index  int
	// Netns is the namespace path; "" is the one New was called from.
	Netns string
	MAC   net.HardwareAddr
}

// Port is a tap port: one tap device, one file descriptor per queue.
type Port struct {
	name  string
	info  ports.Info
	dev   Device
	fds   []int // one per queue; closed by Close
	log   *slog.Logger
	batch int

	mu     sync.Mutex
	rxOpen []bool
	txOpen []bool
	closed bool

	down    atomic.Bool
	downErr atomic.Pointer[error]

	// released: the device has been handed to another process
	// (handover.go); Close only closes this process's descriptors.
	released atomic.Bool

	rxc []rxCounters
	txc []txCounters
}

var _ ports.Port = (*Port)(nil)

// New creates the tap device (see Config), configures it and returns the
// port. On failure nothing is left behind.
func New(cfg Config) (*Port, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	fds, dev, err := createDevice(&cfg)
	if err != nil {
		return nil, fmt.Errorf("tap %s: %w", cfg.Name, err)
	}
	q := cfg.Queues
	return &Port{
		name:   cfg.Name,
		info:   ports.Info{RxQueues: q, TxQueues: q, BatchSize: cfg.BatchSize, MaxFrame: cfg.maxFrame(), Offload: cfg.Offload},
		dev:    dev,
		fds:    fds,
		log:    cfg.Logger,
		batch:  cfg.BatchSize,
		rxOpen: make([]bool, q), txOpen: make([]bool, q),
		rxc: make([]rxCounters, q), txc: make([]txCounters, q),
	}, nil
}

// Name implements ports.Port.
func (p *Port) Name() string { return p.name }

// Info implements ports.Port. MaxFrame is MTU+14, or MTU+18 with
// Config.VLAN.
func (p *Port) Info() ports.Info { return p.info }

// Device describes the tap device.
func (p *Port) Device() Device { return p.dev }

// Stats sums the counters of all queues; it may be called at any time.
func (p *Port) Stats() Stats {
	var s Stats
	for i := range p.rxc {
		s.addRx(&p.rxc[i])
		s.addTx(&p.txc[i])
	}
	return s
}

// Down reports whether the port stopped using its device because the
// device went away (deleted, or its namespace died); DownErr tells the
// cause. A down port's queues receive nothing and drop what they are
// given (Stats.TxDown); it stays down until closed. It is one atomic
// load: the control plane may call it at any time.
func (p *Port) Down() bool { return p.down.Load() }

// DownErr is the error that took the port down (it wraps ErrDown and the
// errno seen), nil while the port is up.
func (p *Port) DownErr() error {
	if !p.down.Load() {
		return nil
	}
	if e := p.downErr.Load(); e != nil {
		return *e
	}
	return ErrDown
}

// Probe checks that the device is still there, without waiting for a
// queue to find out: one poll(2) of the first queue's descriptor, which
// tun answers with POLLERR once its file is detached from a deleted or
// unregistering device (wherever the device lived: no namespace is
// entered, and a new device of the same name is not mistaken for it). A
// device found gone marks the port down as a failed read or write does.
// It reports Down. It is meant for a periodic health check on the
// control plane, not per packet.
func (p *Port) Probe() bool {
	if p.down.Load() {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.fds) == 0 {
		return p.down.Load()
	}
	if errno := detached(p.fds[0]); errno != nil {
		p.markDown("probe", errno)
	}
	return p.down.Load()
}

// markDown records that the device is gone; the first caller logs it.
func (p *Port) markDown(op string, errno error) {
	err := fmt.Errorf("%w: %s: %w", ErrDown, op, errno)
	if p.downErr.CompareAndSwap(nil, &err) {
		p.log.Warn("tap port down: device gone", "port", p.name, "ifname", p.dev.Ifname,
			"netns", p.dev.Netns, "op", op, "err", errno)
	}
	p.down.Store(true)
}

func (p *Port) claim(open []bool, kind string, q int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ports.ClaimQueue(open, p.closed, "tap "+p.name, kind, q)
}

func (p *Port) release(open []bool, q int) {
	p.mu.Lock()
	open[q] = false
	p.mu.Unlock()
}

// OpenRx implements ports.Port: rx queue q reads the device's q-th file
// descriptor into buffers of pool.
func (p *Port) OpenRx(q int, pool *pipeline.Pool) (pipeline.RxQueue, error) {
	if err := p.claim(p.rxOpen, "rx", q); err != nil {
		return nil, err
	}
	rx := rxQueue{p: p, q: q, fd: p.fds[q], pool: pool, batch: p.batch, c: &p.rxc[q]}
	if p.info.Offload {
		return newOffRx(rx), nil
	}
	return &rx, nil
}

// OpenTx implements ports.Port: tx queue q writes to the device's q-th
// file descriptor, the one rx queue q reads.
func (p *Port) OpenTx(q int, pool *pipeline.Pool) (pipeline.TxQueue, error) {
	if err := p.claim(p.txOpen, "tx", q); err != nil {
		return nil, err
	}
	tx := txQueue{p: p, q: q, fd: p.fds[q], pool: pool, maxFrame: p.info.MaxFrame, c: &p.txc[q]}
	if p.info.Offload {
		return newOffTx(tx), nil
	}
	return &tx, nil
}

// Close implements ports.Port. Its queues must be closed first. Closing the
// last file descriptor of the (non-persistent) tap makes the kernel delete
// the device; Close then checks that it is gone, deleting it if not. It
// works on a port whose device or namespace is already gone.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ports.ErrClosed
	}
	for q := range p.rxOpen {
		if p.rxOpen[q] || p.txOpen[q] {
			return fmt.Errorf("tap %s: queue %d still open", p.name, q)
		}
	}
	p.closed = true
	if p.released.Load() {
		return closeFds(p.fds)
	}
	return destroyDevice(p.fds, p.dev)
}
