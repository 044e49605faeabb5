package vhostuser

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// Port is a vhost-user port: a unix socket a VMM connects to, and the
// guest's virtio-net rings once it has.
type Port struct {
	name   string
	info   ports.Info
	socket string
	log    *slog.Logger
	b      *backend
	srv    *server // nil where vhost-user is not supported
	// pollFDs and busyFDs: per queue pair, the rx queue's epoll
	// descriptor and an always-readable eventfd (see backend.watchFD).
	pollFDs, busyFDs []int

	mu     sync.Mutex
	rxOpen []bool
	txOpen []bool
	closed bool
	// adopted: made by Adopt and not restored yet (Restore).
	adopted bool

	rxc []rxCounters
	txc []txCounters
	ctl ctlCounters
}

var _ ports.Port = (*Port)(nil)

// Name implements ports.Port.
func (p *Port) Name() string { return p.name }

// Info implements ports.Port: Config.Queues rx and tx queues; frames up to
// pipeline.MaxPacket bytes both ways (the guest's MTU is its own business:
// with mergeable buffers any frame fits its receive ring), GSO frames of
// up to 64 KiB and partial checksums unless Config.NoOffload
// (Info.Offload).
func (p *Port) Info() ports.Info { return p.info }

// Socket is the path of the port's unix socket.
func (p *Port) Socket() string { return p.socket }

// Stats sums the counters of all queues and connections; it may be called
// at any time.
func (p *Port) Stats() Stats {
	var s Stats
	for i := range p.rxc {
		s.addRx(&p.rxc[i])
	}
	for i := range p.txc {
		s.addTx(&p.txc[i])
	}
	s.addCtl(&p.ctl)
	return s
}

// Status describes the connected front-end, if any.
func (p *Port) Status() Status { return p.b.status() }

// fault records that a worker could not access guest memory and drops the
// connection; the front-end may reconnect.
func (p *Port) fault() {
	p.ctl.faults.Add(1)
	if p.srv != nil {
		p.srv.drop()
	}
}

func (p *Port) claim(open []bool, kind string, q int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ports.ClaimQueue(open, p.closed, "vhostuser "+p.name, kind, q)
}

func (p *Port) release(open []bool, q int) {
	p.mu.Lock()
	open[q] = false
	p.mu.Unlock()
}

// OpenRx implements ports.Port: rx queue q receives what the guest sends
// on queue pair q, into buffers of pool.
func (p *Port) OpenRx(q int, pool *pipeline.Pool) (pipeline.RxQueue, error) {
	if err := p.claim(p.rxOpen, "rx", q); err != nil {
		return nil, err
	}
	return &rxQueue{p: p, q: q, slot: &p.b.slots[2*q+1], pool: pool, batch: p.info.BatchSize, c: &p.rxc[q], pollFD: p.pollFDs[q]}, nil
}

// OpenTx implements ports.Port: tx queue q fills the guest's receive ring
// of pair q, or of another running pair while q's does not run.
func (p *Port) OpenTx(q int, pool *pipeline.Pool) (pipeline.TxQueue, error) {
	if err := p.claim(p.txOpen, "tx", q); err != nil {
		return nil, err
	}
	return &txQueue{p: p, q: q, pool: pool, c: &p.txc[q], s: new(txScratch)}, nil
}

// Close implements ports.Port. Its queues must be closed first. It stops
// listening, removes the socket, disconnects the front-end (unmapping its
// memory and closing its eventfds) and waits for the port's goroutine.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ports.ErrClosed
	}
	for q := range p.rxOpen {
		if p.rxOpen[q] || p.txOpen[q] {
			return fmt.Errorf("vhostuser %s: queue %d still open", p.name, q)
		}
	}
	p.closed = true
	if p.srv != nil {
		p.srv.stop()
	}
	p.b.disconnect()
	closePortFDs(p.pollFDs)
	closePortFDs(p.busyFDs)
	return nil
}
