package pipeline

import (
	"sync"
	"sync/atomic"
	"time"
)

// Observation: packet traces (VPP's "trace add") and captures (its "pcap
// trace"). A worker looks at its observer once per Poll; with none set,
// the cost is one nil check per rx batch, per node run and per tx batch,
// never per packet. With one set, the worker marks the packets to trace
// (FlagTraced), records for each the nodes it passes and what they
// decided, and copies captured packets into a bounded per-worker ring that
// the control plane drains. Recording allocates and takes a per-worker
// mutex once per vector: observation is for debugging, not for line rate.
// Capturing allocates nothing: a frame larger than one buffer (a chain)
// is gathered, up to the snap length, into a byte buffer made when the
// capture starts, and keeps its whole length as OrigLen.

// FlagTraced marks a buffer that is being traced. The top bit of
// Meta.Flags belongs to the pipeline; the layers above keep it when they
// set their own flags.
const FlagTraced uint16 = 1 << 15

// Describer is an optional Node capability: a node that says in words what
// it decided for packet i of the frame it has just processed (the bridge,
// the lookup result, the route, the VNI). It is called after Process, for
// traced packets only.
type Describer interface {
	Describe(f *Frame, i int) string
}

// TraceSpec asks for the next Count packets received on Port that pass
// Filter (nil: all) to be traced, over all workers together.
type TraceSpec struct {
	Port   uint16
	Count  int
	Filter func(pkt []byte) bool
	// Label is the caller's name for Port, kept with the trace for those
	// who read its records after Port is gone (TraceLabel); the pipeline
	// does not read it.
	Label string
}

// CaptureSpec asks for copies of the packets of Port: received (Rx),
// transmitted (Tx), and those received on it and dropped (Drops), that
// pass Filter (nil: all; it sees the first buffer of a chain), cut to
// Snaplen bytes (at most MaxSnaplen; a chain is gathered across its
// buffers). Each worker buffers up to Slots packets, and up to
// Slots*min(Snaplen, MaxPacket) bytes of them (at least Snaplen), until
// the control plane drains them; beyond that they are counted as lost.
type CaptureSpec struct {
	Port          uint16
	Rx, Tx, Drops bool
	Snaplen       int
	Filter        func(pkt []byte) bool
	Slots         int
}

// snaplen is the snap length in force: Snaplen, or MaxSnaplen if it is
// out of range.
func (c *CaptureSpec) snaplen() int {
	if c.Snaplen <= 0 || c.Snaplen > MaxSnaplen {
		return MaxSnaplen
	}
	return c.Snaplen
}

// MaxSnaplen is the largest snap length a capture takes: a whole chained
// frame of 64 KiB.
const MaxSnaplen = 65535

// Direction of a captured packet.
const (
	CaptureRx   = 1
	CaptureTx   = 2
	CaptureDrop = 3
)

// CapturedPacket is one packet copy.
type CapturedPacket struct {
	Time time.Time
	Port uint16
	Dir  int
	// OrigLen is the frame's length, across its chain; Data holds its
	// first Snaplen bytes.
	OrigLen int
	Data    []byte
	// Reason is node/reason for a dropped packet.
	Reason string
}

// TraceRecord is one traced packet: the frame as received (its first
// traceBytes bytes) and the hops it took.
type TraceRecord struct {
	Seq    uint64
	Worker int
	Time   time.Time
	InPort uint16
	Data   []byte
	Hops   []TraceHop
}

// TraceHop is one node a traced packet (or a copy of it) passed.
type TraceHop struct {
	Node string
	// Buf tells copies of one packet apart (a flood makes several).
	Buf BufID
	// Next is the next node's name, or "drop", or "" when the node kept
	// the buffer (staged it for tx).
	Next   string
	Drop   string
	Detail string
	// TxPort is the port a tx hop sent on.
	TxPort int
}

const (
	traceBytes = 256
	maxHops    = 64
	maxRecords = 10000 // fits idx's 16 bits
)

// Observer is shared by the workers of a switch. Its trace and capture
// specs change at any time (SetTrace, SetCapture); the workers read them
// once per batch.
type Observer struct {
	trace     atomic.Pointer[TraceSpec]
	capture   atomic.Pointer[CaptureSpec]
	label     atomic.Pointer[string] // the last trace's Label
	ended     atomic.Pointer[string] // why the last capture ended (EndCapture)
	remaining atomic.Int64
	seq       atomic.Uint64
	ws        []*obsWorker
}

type obsWorker struct {
	mu sync.Mutex
	// idx is, by BufID, the trace generation (high 16 bits) and record
	// index + 1 (low 16 bits). Only the worker writes it (and Pool.Clone,
	// on the worker), so a new trace just bumps gen instead of clearing it.
	idx  []int32
	gen  int32
	recs []TraceRecord
	// ring holds the captured packets; their Data lies in bytes, filled
	// from the start whenever the ring is empty (every Drain empties it).
	ring    []CapturedPacket
	bytes   []byte
	used    int
	head    uint64 // next to drain
	tail    uint64 // next to fill
	lost    uint64
	stopped bool // the capture stopped: Drain frees ring and bytes
}

// NewObserver makes an observer, tracing and capturing nothing yet, for
// workers whose pools hold poolSize buffers.
func NewObserver(workers, poolSize int) *Observer {
	o := &Observer{}
	for range workers {
		o.ws = append(o.ws, &obsWorker{idx: make([]int32, poolSize)})
	}
	return o
}

// SetTrace starts a new trace (nil: stop tracing), dropping the records of
// the previous one (EndTrace stops one and keeps them).
func (o *Observer) SetTrace(t *TraceSpec) {
	o.trace.Store(nil)
	for _, ow := range o.ws {
		ow.mu.Lock()
		ow.recs = nil
		ow.gen = (ow.gen + 1) & 0x7FFF
		ow.mu.Unlock()
	}
	o.label.Store(nil)
	if t != nil {
		o.label.Store(&t.Label)
		o.remaining.Store(int64(min(max(t.Count, 0), maxRecords)))
		o.trace.Store(t)
	}
}

// TraceLabel is the Label of the trace whose records Traces returns.
func (o *Observer) TraceLabel() string {
	if l := o.label.Load(); l != nil {
		return *l
	}
	return ""
}

// EndTrace stops the trace taking packets (as when it has taken its
// count) and keeps its records; packets already traced record the rest of
// their way.
func (o *Observer) EndTrace() { o.remaining.Store(0) }

// Tracing reports whether a trace still has packets to take.
func (o *Observer) Tracing() bool { return o.trace.Load() != nil && o.remaining.Load() > 0 }

// SetCapture starts a capture with empty buffers, replacing a running one
// and what it buffered. SetCapture(nil) stops capturing: what is buffered
// stays for the next Drain, which then frees the buffers.
func (o *Observer) SetCapture(c *CaptureSpec) {
	o.capture.Store(nil)
	o.ended.Store(nil)
	for _, ow := range o.ws {
		ow.mu.Lock()
		if c == nil {
			ow.stopped = true
			ow.mu.Unlock()
			continue
		}
		snap := c.snaplen()
		slots := max(c.Slots, 1)
		ow.ring = make([]CapturedPacket, slots)
		ow.bytes = make([]byte, max(slots*min(snap, MaxPacket), snap))
		ow.used, ow.head, ow.tail, ow.lost, ow.stopped = 0, 0, 0, 0, false
		ow.mu.Unlock()
	}
	if c != nil {
		o.capture.Store(c)
	}
}

// EndCapture stops capturing, as SetCapture(nil), for a reason that
// CaptureEnded reports until the next SetCapture.
func (o *Observer) EndCapture(why string) {
	o.SetCapture(nil)
	o.ended.Store(&why)
}

// CaptureEnded is why EndCapture ended the last capture ("" if it did
// not).
func (o *Observer) CaptureEnded() string {
	if w := o.ended.Load(); w != nil {
		return *w
	}
	return ""
}

// SetObserver installs o (nil: none) for the worker; it takes effect at
// the worker's next Poll.
func (w *Worker) SetObserver(o *Observer) {
	w.obsPub.Store(o)
	w.wake()
}

// Traces returns a copy of the records so far, oldest first.
func (o *Observer) Traces() []TraceRecord {
	var out []TraceRecord
	for _, ow := range o.ws {
		ow.mu.Lock()
		for _, r := range ow.recs {
			r.Hops = append([]TraceHop(nil), r.Hops...)
			out = append(out, r)
		}
		ow.mu.Unlock()
	}
	return out
}

// Drain hands every buffered captured packet to fn (whose Data is only
// valid during the call) and reports how many were lost to full rings
// since the last Drain.
func (o *Observer) Drain(fn func(p *CapturedPacket)) (lost uint64) {
	for _, ow := range o.ws {
		ow.mu.Lock()
		for ; ow.head != ow.tail; ow.head++ {
			fn(&ow.ring[ow.head%uint64(len(ow.ring))])
		}
		lost += ow.lost
		ow.lost = 0
		if ow.stopped {
			ow.ring, ow.bytes, ow.used, ow.head, ow.tail = nil, nil, 0, 0, 0
		}
		ow.mu.Unlock()
	}
	return lost
}

// loadObserver picks up the published observer at the start of a Poll.
func (w *Worker) loadObserver() {
	o := w.obsPub.Load()
	if o == w.ob {
		return
	}
	w.ob = o
	w.obw = nil
	w.pool.traceIdx = nil
	if o != nil && w.id < len(o.ws) {
		w.obw = o.ws[w.id]
		w.pool.traceIdx = w.obw.idx
	}
	if w.obw == nil {
		w.ob = nil
	}
}

// observeRx marks packets to trace and captures received ones.
func (w *Worker) observeRx(port uint16, ids []BufID) {
	o, ow := w.ob, w.obw
	t, c := o.trace.Load(), o.capture.Load()
	traceHere := t != nil && t.Port == port && o.remaining.Load() > 0
	capHere := c != nil && c.Rx && c.Port == port
	if !traceHere && !capHere {
		return
	}
	ow.mu.Lock()
	defer ow.mu.Unlock()
	now := time.Now()
	for _, id := range ids {
		m := &w.pool.meta[id]
		pkt := w.pool.Packet(id)
		if traceHere && (t.Filter == nil || t.Filter(pkt)) && o.take() {
			m.Flags |= FlagTraced
			ow.recs = append(ow.recs, TraceRecord{Seq: o.seq.Add(1), Worker: w.id, Time: now, InPort: port,
				Data: append([]byte(nil), pkt[:min(len(pkt), traceBytes)]...)})
			ow.idx[id] = ow.gen<<16 | int32(len(ow.recs))
		}
		if capHere && ow.ring != nil {
			ow.capture(w.pool, c, now, port, CaptureRx, id, pkt, "")
		}
	}
}

// take claims one of the packets still to trace.
func (o *Observer) take() bool {
	for {
		n := o.remaining.Load()
		if n <= 0 {
			return false
		}
		if o.remaining.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// capture copies buffer id's frame (pkt is its first buffer), gathered
// across its chain up to the snap length. Caller holds mu.
func (ow *obsWorker) capture(p *Pool, c *CaptureSpec, now time.Time, port uint16, dir int, id BufID, pkt []byte, reason string) {
	if c.Filter != nil && !c.Filter(pkt) {
		return
	}
	if ow.head == ow.tail {
		ow.used = 0
	}
	snap := c.snaplen()
	orig := p.ChainLen(id)
	n := min(orig, snap)
	if ow.tail-ow.head >= uint64(len(ow.ring)) || ow.used+n > len(ow.bytes) {
		ow.lost++
		return
	}
	data := ow.bytes[ow.used : ow.used+n : ow.used+n]
	p.gather(id, data)
	ow.used += n
	s := &ow.ring[ow.tail%uint64(len(ow.ring))]
	s.Time, s.Port, s.Dir, s.OrigLen, s.Reason, s.Data = now, port, dir, orig, reason, data
	ow.tail++
}

// observeNode records what node n did with the traced packets of f, and
// captures the dropped packets of the captured port.
func (w *Worker) observeNode(n *nodeRT, f *Frame) {
	o, ow := w.ob, w.obw
	c := o.capture.Load()
	capDrops := c != nil && c.Drops
	var now time.Time
	locked := false
	for i, id := range f.IDs {
		m := &w.pool.meta[id]
		dropped := f.Next[i] == NextDrop
		capDrop := capDrops && dropped && m.RxFrom == c.Port+1 // routed ones too
		if m.Flags&FlagTraced == 0 && !capDrop {
			continue
		}
		if !locked {
			ow.mu.Lock()
			locked = true
			now = time.Now()
		}
		rec := ow.record(id)
		traced := m.Flags&FlagTraced != 0 && rec != nil
		if !traced && !capDrop {
			continue
		}
		var drop string
		if dropped {
			drop = n.reasons[f.why[i]]
		}
		if traced {
			r := rec
			if len(r.Hops) < maxHops {
				h := TraceHop{Node: n.name, Buf: id, Drop: drop}
				switch nx := f.Next[i]; {
				case dropped:
					h.Next = "drop"
				case nx == NextTaken:
				case int(nx) < len(n.next):
					h.Next = w.g.specs[n.next[nx]].Name
				}
				if n.desc != nil {
					h.Detail = n.desc.Describe(f, i)
				}
				r.Hops = append(r.Hops, h)
			}
		}
		if capDrop && ow.ring != nil {
			ow.capture(w.pool, c, now, c.Port, CaptureDrop, id, w.pool.Packet(id), n.name+"/"+drop)
		}
	}
	if locked {
		ow.mu.Unlock()
	}
}

// observeTx records tx hops of traced packets and captures sent ones.
func (w *Worker) observeTx(port uint16, ids []BufID) {
	o, ow := w.ob, w.obw
	c := o.capture.Load()
	capHere := c != nil && c.Tx && c.Port == port
	if !capHere && o.trace.Load() == nil {
		return
	}
	locked := false
	var now time.Time
	for _, id := range ids {
		m := &w.pool.meta[id]
		if m.Flags&FlagTraced == 0 && !capHere {
			continue
		}
		if !locked {
			ow.mu.Lock()
			locked = true
			now = time.Now()
		}
		rec := ow.record(id)
		traced := m.Flags&FlagTraced != 0 && rec != nil
		if traced {
			r := rec
			if len(r.Hops) < maxHops {
				r.Hops = append(r.Hops, TraceHop{Node: TxNodeName, Buf: id, TxPort: int(port)})
			}
		}
		if capHere && ow.ring != nil {
			ow.capture(w.pool, c, now, port, CaptureTx, id, w.pool.Packet(id), "")
		}
	}
	if locked {
		ow.mu.Unlock()
	}
}

// record is buffer id's trace record in the current trace, or nil. Caller
// holds mu.
func (ow *obsWorker) record(id BufID) *TraceRecord {
	v := ow.idx[id]
	if v>>16 != ow.gen || v&0xFFFF == 0 || int(v&0xFFFF) > len(ow.recs) {
		return nil
	}
	return &ow.recs[v&0xFFFF-1]
}

// gather copies the first len(dst) bytes of the frame that starts at id,
// across its chain, into dst. The walk is bounded by the pool's size, as
// ChainLen's.
func (p *Pool) gather(id BufID, dst []byte) {
	n := 0
	for k := 0; k <= p.total && n < len(dst); k++ {
		m := &p.meta[id]
		o := int(id)*FrameSize + int(m.Off)
		n += copy(dst[n:], p.mem[o:o+int(m.Len)])
		if m.Next == 0 {
			break
		}
		id = BufID(m.Next - 1)
	}
}
