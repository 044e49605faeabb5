package pipeline

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"
)

// MaxPorts bounds port indices (Meta.InPort, Meta.OutPort, PollList.Tx).
const MaxPorts = 4096

// IdleMode says what a running worker does when a poll finds no packet.
type IdleMode int

const (
	// IdleBusy polls without pause (lowest latency, one core at 100%).
	IdleBusy IdleMode = iota
	// IdleSleep backs off with short sleeps, up to 1 ms, after a run of
	// empty polls; use it where cores are shared (tests, small hosts).
	IdleSleep
)

// Names of the worker's own pseudo-nodes in Runtime.
const (
	RxNodeName = "port-rx"
	TxNodeName = "port-tx"
)

// Drop reasons of the pseudo-nodes and the one every node has implicitly.
const (
	DropRxError     = "rx-error"
	DropTxNoQueue   = "tx-no-queue"
	DropTxNotSent   = "tx-not-sent"
	DropTxBadPort   = "tx-bad-port"
	DropFrameFull   = "next-frame-full"
	txDropNoQueue   = 0
	txDropNotSent   = 1
	txDropBadPort   = 2
	rxDropError     = 0
	maxIdleSleep    = time.Millisecond
	idleWaitMs      = 100 // longest epoll wait; the control plane wakes it sooner
	idleSpinsBefore = 64
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	// ID identifies the worker (NodeContext.Worker).
	ID int
	// Pool is the worker's buffer pool; the worker does not close it.
	Pool *Pool
	// CPU pins the worker's OS thread to one CPU; -1 leaves it unpinned.
	CPU int
	// Idle selects busy polling or sleeping when idle.
	Idle IdleMode
}

type nodeRT struct {
	impl    Node
	name    string
	desc    Describer // nil unless the node describes its decisions
	whyBuf  [VectorSize]uint16
	next    []int32
	pend    []BufID
	work    []BufID
	nextBuf [VectorSize]uint16
	frame   Frame
	active  bool
	stats   nodeStats
	reasons []string
}

// Worker runs one copy of a graph over its poll list. Poll may be called
// directly by one goroutine (tests, benchmarks) while the worker is not
// started; Start runs it on its own locked OS thread instead.
type Worker struct {
	id    int
	g     *Graph
	pool  *Pool
	cpu   int
	idle  IdleMode
	nodes []*nodeRT

	poll atomic.Pointer[PollList]
	cur  *PollList

	txs   []txStage // by port index
	dirty []uint16  // ports with a staged batch
	// txChains notes the chained frames of the batch being sent (send).
	txChains []chainBytes

	rx, tx nodeStats
	ports  []portStats
	// touched lists ports whose counters changed since the last publish.
	touched     []uint16
	touchedMark []bool
	statsDirty  bool
	tlast       int64
	depth       int   // nesting of runNode
	child       int64 // time of nested runs inside the current one

	base time.Time
	iter atomic.Uint64
	// busy and alive are nanoseconds spent on iterations that received
	// packets, and in the loop at all, since Start (published with the
	// other counters).
	busy, alive counter
	running     atomic.Bool
	stopReq     atomic.Bool
	done        chan error
	idler       *idler // epoll wait when idle (IdleSleep); nil: sleep only
	// reclaimers are the Reclaimer tx queues of reclaimFor.
	reclaimFor *PollList
	reclaimers []Reclaimer

	obsPub atomic.Pointer[Observer]
	ob     *Observer  // this Poll's observer; nil: none
	obw    *obsWorker // its part for this worker
	hist   [10]uint64 // rx batches by size: 0, 1, 2-3, ..., 128-255, 256
	histP  [10]atomic.Uint64
}

// NewWorker instantiates every node of g for a new worker.
func (g *Graph) NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Pool == nil {
		return nil, errors.New("pipeline: worker needs a pool")
	}
	w := &Worker{
		id: cfg.ID, g: g, pool: cfg.Pool, cpu: cfg.CPU, idle: cfg.Idle,
		nodes:       make([]*nodeRT, len(g.specs)),
		txs:         make([]txStage, MaxPorts),
		dirty:       make([]uint16, 0, MaxPorts),
		txChains:    make([]chainBytes, 0, VectorSize),
		ports:       make([]portStats, MaxPorts),
		touched:     make([]uint16, 0, MaxPorts),
		touchedMark: make([]bool, MaxPorts),
		base:        time.Now(),
	}
	w.rx = newNodeStats(1)
	w.tx = newNodeStats(3)
	for i, s := range g.specs {
		reasons := append(append([]string(nil), s.Drops...), DropFrameFull)
		n := &nodeRT{
			name:    s.Name,
			next:    g.next[i],
			pend:    make([]BufID, 0, VectorSize),
			work:    make([]BufID, 0, VectorSize),
			stats:   newNodeStats(len(reasons)),
			reasons: reasons,
		}
		n.frame = Frame{Pool: cfg.Pool, w: w, rt: n, drops: n.stats.drops, why: n.whyBuf[:]}
		n.impl = s.New(NodeContext{Worker: cfg.ID, Pool: cfg.Pool})
		if n.impl == nil {
			return nil, fmt.Errorf("pipeline: node %q: constructor returned nil", s.Name)
		}
		n.desc, _ = n.impl.(Describer)
		w.nodes[i] = n
	}
	return w, nil
}

// ID is the worker's index.
func (w *Worker) ID() int { return w.id }

// Pool is the worker's buffer pool.
func (w *Worker) Pool() *Pool { return w.pool }

// SetPollList publishes a new poll list. The worker picks it up at its next
// iteration; call Quiesce before closing anything only the old list named.
func (w *Worker) SetPollList(pl *PollList) {
	w.poll.Store(pl)
	w.wake()
}

// wake interrupts an idle wait so the worker iterates now.
func (w *Worker) wake() {
	if w.idler != nil {
		w.idler.kick()
	}
}

// Quiesce waits until the worker has finished an iteration that started
// after the call, so it holds no reference to an earlier poll list or table.
// It returns at once if the worker is not running.
func (w *Worker) Quiesce() {
	c := w.iter.Load()
	w.wake()
	for w.running.Load() && w.iter.Load() == c {
		time.Sleep(20 * time.Microsecond)
	}
}

// Iterations is the number of completed loop iterations.
func (w *Worker) Iterations() uint64 { return w.iter.Load() }

func (w *Worker) now() int64 { return int64(time.Since(w.base)) }

// Poll runs one iteration: each rx queue is polled and its packets run
// through the graph, then the staged tx batches are flushed. It returns the
// number of packets received.
func (w *Worker) Poll() int {
	w.pool.Reclaim()
	// The one clock read of an iteration that receives nothing; node and
	// rx times are measured from it.
	w.tlast = w.now()
	w.loadObserver()
	pl := w.poll.Load()
	total := 0
	if pl != nil {
		w.cur = pl
		for i := range pl.Rx {
			total += w.pollOne(&pl.Rx[i])
		}
		if pl != w.reclaimFor {
			w.findReclaimers(pl)
		}
		for _, r := range w.reclaimers {
			r.Reclaim()
		}
		w.cur = nil
	}
	if total > 0 {
		w.statsDirty = true
	}
	if w.statsDirty && (total == 0 || w.iter.Load()%publishEvery == 0) {
		w.PublishStats()
	}
	w.iter.Add(1)
	return total
}

// findReclaimers lists the tx queues of pl that complete asynchronously,
// once per poll list instead of a type assertion per queue per iteration.
func (w *Worker) findReclaimers(pl *PollList) {
	w.reclaimers = w.reclaimers[:0]
	for _, t := range pl.Tx {
		if r, ok := t.(Reclaimer); ok {
			w.reclaimers = append(w.reclaimers, r)
		}
	}
	w.reclaimFor = pl
}

// publishEvery is how many busy iterations may pass between two publishes
// of the counters.
const publishEvery = 16

// PublishStats makes the worker's latest counters visible to Runtime and
// PortCounters. The worker does it by itself every few iterations and when
// idle or stopped; the goroutine that calls Poll directly may call it to
// read exact figures. It must not run concurrently with Poll.
func (w *Worker) PublishStats() {
	for _, n := range w.nodes {
		n.stats.publish()
	}
	w.rx.publish()
	w.tx.publish()
	for _, p := range w.touched {
		w.ports[p].publish()
		w.touchedMark[p] = false
	}
	w.touched = w.touched[:0]
	w.busy.publish()
	w.alive.publish()
	for i := range w.hist {
		w.histP[i].Store(w.hist[i])
	}
	w.statsDirty = false
}

// BusyPercent is the share of its running time the worker spent on
// iterations that received packets.
func (w *Worker) BusyPercent() float64 {
	a := w.alive.get()
	if a == 0 {
		return 0
	}
	return 100 * float64(w.busy.get()) / float64(a)
}

func (w *Worker) touch(port uint16) *portStats {
	if !w.touchedMark[port] {
		w.touchedMark[port] = true
		w.touched = append(w.touched, port)
	}
	return &w.ports[port]
}

func (w *Worker) pollOne(e *RxEntry) int {
	// Receive straight into the entry node's (empty) input frame.
	entry := w.nodes[e.Entry]
	buf := entry.pend[:VectorSize]
	t0 := w.tlast
	n, err := e.Queue.Rx(buf)
	if err != nil {
		w.rx.drops[rxDropError]++
	}
	if n == 0 {
		w.rx.record(0, 0)
		return 0
	}
	var bytes uint64
	n = min(max(n, 0), VectorSize)
	meta, port := w.pool.meta, e.Port // not reloaded through w per packet
	var chained uint32
	for _, id := range buf[:n] {
		m := &meta[id]
		m.InPort, m.RxFrom, m.Flags = port, port+1, 0
		bytes += uint64(m.Len)
		chained |= m.Next
	}
	if chained != 0 { // large frames: every piece counts
		bytes += w.chainExtra(buf[:n], false)
	}
	w.hist[histBucket(n)]++
	if w.ob != nil {
		w.observeRx(e.Port, buf[:n])
	}
	ps := w.touch(e.Port)
	ps.rxPackets.add(uint64(n))
	ps.rxBytes.add(bytes)
	w.tlast = w.now()
	w.rx.record(n, w.tlast-t0)
	entry.pend = buf[:n]
	w.drain()
	w.flushTx()
	return n
}

// Inject runs buffers the caller allocated from the worker's pool through
// the graph from node entry, then flushes tx, as if a port had received
// them. Like Poll it must not run concurrently with the started worker.
func (w *Worker) Inject(entry int, ids []BufID) {
	w.loadObserver()
	w.cur = w.poll.Load()
	w.tlast = w.now()
	for len(ids) > 0 {
		k := min(len(ids), VectorSize)
		w.enqueueRun(int32(entry), ids[:k])
		w.drain()
		ids = ids[k:]
	}
	w.flushTx()
	w.cur = nil
	w.PublishStats()
}

// Start runs the worker loop on its own goroutine, locked to an OS thread
// and pinned to the configured CPU.
func (w *Worker) Start() error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("pipeline: worker already running")
	}
	w.stopReq.Store(false)
	w.done = make(chan error, 1)
	if w.idle == IdleSleep && w.idler == nil {
		// Without epoll the worker just sleeps in steps when idle.
		w.idler, _ = newIdler()
	}
	started := make(chan error, 1)
	go w.loop(started)
	if err := <-started; err != nil {
		<-w.done
		return err
	}
	return nil
}

// Stop asks the loop to end and waits until it has; staged packets have
// been flushed by then.
func (w *Worker) Stop() {
	if !w.running.Load() {
		return
	}
	w.stopReq.Store(true)
	w.wake()
	<-w.done
}

func (w *Worker) loop(started chan<- error) {
	defer func() {
		w.running.Store(false)
		w.done <- nil
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if w.cpu >= 0 {
		if err := pinThread(w.cpu); err != nil {
			started <- fmt.Errorf("pipeline: worker %d: pin to cpu %d: %w", w.id, w.cpu, err)
			return
		}
	}
	started <- nil
	defer w.PublishStats()
	empty := 0
	sleep := time.Duration(0)
	last := w.now()
	for !w.stopReq.Load() {
		n := w.Poll()
		now := w.tlast // the iteration's last clock read, taken by Poll
		w.alive.local += uint64(now - last)
		if n > 0 {
			w.busy.local += uint64(now - last)
		}
		last = now
		if n > 0 {
			empty, sleep = 0, 0
			continue
		}
		if w.idle != IdleSleep {
			continue
		}
		if empty++; empty < idleSpinsBefore {
			continue
		}
		if w.idler != nil {
			w.statsDirty = true
			if w.idler.wait(w.poll.Load(), idleWaitMs) {
				continue
			}
		}
		sleep = min(max(2*sleep, 10*time.Microsecond), maxIdleSleep)
		w.statsDirty = true // publish the idle time at the next poll
		time.Sleep(sleep)
	}
}

// Close stops the worker and releases what it holds outside the Go heap
// (its epoll and eventfd descriptors). The pool is the caller's.
func (w *Worker) Close() {
	w.Stop()
	if w.idler != nil {
		w.idler.close()
		w.idler = nil
	}
}

// Running reports whether the loop runs.
func (w *Worker) Running() bool { return w.running.Load() }

// histBucket is the histogram bucket of an rx batch of n packets: 0 for
// none, 1 for one, then one bucket per power of two, the last for a full
// vector.
func histBucket(n int) int {
	if n >= VectorSize {
		return 9
	}
	return bits.Len(uint(n))
}

// VectorHistogram returns how many rx batches the worker has received, by
// size: index 0 counts empty polls, 1 single packets, 2 batches of 2-3,
// 3 of 4-7, ..., 8 of 128-255 and 9 full vectors of 256. Like the other
// counters it is published every few iterations.
func (w *Worker) VectorHistogram() [10]uint64 {
	var h [10]uint64
	for i := range h {
		h[i] = w.histP[i].Load()
	}
	return h
}
