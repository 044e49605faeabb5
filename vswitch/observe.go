package vswitch

import (
	"fmt"
	"sort"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
)

// Packet traces and captures (pipeline.Observer) by port name. The
// observer is installed on the workers the first time a trace or capture
// starts and stays; with nothing to trace or capture it costs the workers
// a nil check per batch.
//
// Both follow a port, not its index: removing the port ends a trace of
// it (its records stay, named after it) and a capture of it
// (CaptureEnded says so), so a port that takes the index later is never
// traced or captured in its place.

// Trace is one traced packet as trace/show presents it.
type Trace struct {
	Seq    uint64    `json:"seq"`
	Worker int       `json:"worker"`
	Time   time.Time `json:"time"`
	InPort string    `json:"in_port"`
	// Data is the frame as received (at most 256 bytes).
	Data []byte     `json:"data"`
	Hops []TraceHop `json:"hops"`
}

// TraceHop is one node a traced packet, or a copy of it, passed.
type TraceHop struct {
	Node   string `json:"node"`
	Copy   uint32 `json:"copy"` // the buffer: copies of one packet differ
	Next   string `json:"next,omitempty"`
	Drop   string `json:"drop,omitempty"`
	Detail string `json:"detail,omitempty"`
	TxPort string `json:"tx_port,omitempty"`
}

// CaptureConfig says what CaptureStart copies.
type CaptureConfig struct {
	Port          string
	Rx, Tx, Drops bool
	Snaplen       int                   // default and at most pipeline.MaxSnaplen (whole frames, chains too)
	Slots         int                   // per-worker buffer, default 4096 packets
	Filter        func(pkt []byte) bool // nil: all
}

// observer returns the switch's observer, installing it on first use.
// Caller holds s.mu.
func (s *Switch) observer() *pipeline.Observer {
	if s.obs == nil {
		s.obs = pipeline.NewObserver(len(s.workers), s.pools[0].Size())
		for _, w := range s.workers {
			w.SetObserver(s.obs)
		}
	}
	return s.obs
}

func (s *Switch) portIndex(name string) (uint16, error) {
	a, ok := s.attached[name]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrNoPort, name)
	}
	return a.idx, nil
}

// TraceAdd starts a new trace of the next count packets received on port
// that pass filter (nil: all), forgetting the previous trace's records.
// Removing the port ends the trace; its records stay. With the kernel fast
// path, the port's traffic takes the pipeline until the trace has taken
// its count (then at once) or is cleared.
func (s *Switch) TraceAdd(port string, count int, filter func([]byte) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if count < 1 || count > 10000 {
		return fmt.Errorf("vswitch: trace %d packets: want 1 to 10000", count)
	}
	idx, err := s.portIndex(port)
	if err != nil {
		return err
	}
	spec := &pipeline.TraceSpec{Port: idx, Count: count, Filter: filter, Label: port}
	s.watchTraceEnd(spec)
	s.observer().SetTrace(spec)
	s.tracePort = int(idx)
	s.syncFastPathLocked()
	return nil
}

// TraceClear stops tracing and forgets the records.
func (s *Switch) TraceClear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.obs != nil {
		s.obs.SetTrace(nil)
	}
	s.stopTraceWatchLocked()
	s.tracePort = -1
	s.syncFastPathLocked()
}

// Traces returns the records of the current trace in the order the packets
// arrived.
func (s *Switch) Traces() []Trace {
	s.mu.Lock()
	obs := s.obs
	s.mu.Unlock()
	if obs == nil {
		return nil
	}
	t := s.tables.Load()
	name := func(p int) string {
		if p >= 0 && p < len(t.ports) && t.ports[p].name != "" {
			return t.ports[p].name
		}
		return fmt.Sprintf("#%d", p)
	}
	in := obs.TraceLabel()
	recs := obs.Traces()
	sort.Slice(recs, func(i, j int) bool { return recs[i].Seq < recs[j].Seq })
	out := make([]Trace, 0, len(recs))
	for _, r := range recs {
		tr := Trace{Seq: r.Seq, Worker: r.Worker, Time: r.Time, InPort: in, Data: r.Data}
		if in == "" {
			tr.InPort = name(int(r.InPort))
		}
		for _, h := range r.Hops {
			th := TraceHop{Node: h.Node, Copy: uint32(h.Buf), Next: h.Next, Drop: h.Drop, Detail: h.Detail}
			if h.Node == pipeline.TxNodeName {
				th.TxPort = name(h.TxPort)
			}
			tr.Hops = append(tr.Hops, th)
		}
		out = append(out, tr)
	}
	return out
}

// CaptureStart starts copying a port's packets; CaptureDrain hands them
// out. A running capture is replaced. Removing the port ends the capture
// (CaptureEnded).
func (s *Switch) CaptureStart(c CaptureConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	idx, err := s.portIndex(c.Port)
	if err != nil {
		return err
	}
	if !c.Rx && !c.Tx && !c.Drops {
		c.Rx, c.Tx = true, true
	}
	if c.Snaplen <= 0 || c.Snaplen > pipeline.MaxSnaplen {
		c.Snaplen = pipeline.MaxSnaplen
	}
	if c.Slots <= 0 {
		c.Slots = 4096
	}
	s.observer().SetCapture(&pipeline.CaptureSpec{Port: idx, Rx: c.Rx, Tx: c.Tx, Drops: c.Drops,
		Snaplen: c.Snaplen, Filter: c.Filter, Slots: c.Slots})
	s.capturePort = int(idx)
	s.syncFastPathLocked()
	return nil
}

// CaptureStop stops the capture; the packets it copied before stay for
// one more CaptureDrain.
func (s *Switch) CaptureStop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.obs != nil {
		s.obs.SetCapture(nil)
	}
	s.capturePort = -1
	s.syncFastPathLocked()
}

// CaptureEnded says why the capture ended by itself (its port was
// removed), or "" while it runs, after CaptureStop, or with none.
func (s *Switch) CaptureEnded() string {
	s.mu.Lock()
	obs := s.obs
	s.mu.Unlock()
	if obs == nil {
		return ""
	}
	return obs.CaptureEnded()
}

// endObservationLocked ends a trace and a capture of the port a, being
// detached: the trace keeps its records, the capture what it copied for
// CaptureDrain. Caller holds s.mu and quiesces the workers before a's
// index is reused, so no worker traces or captures by that index then.
func (s *Switch) endObservationLocked(name string, a *attachment) {
	if s.tracePort == int(a.idx) {
		s.tracePort = -1
		s.stopTraceWatchLocked()
		if s.obs != nil {
			s.obs.EndTrace()
		}
	}
	if s.capturePort == int(a.idx) {
		s.capturePort = -1
		if s.obs != nil {
			s.obs.EndCapture("port " + name + " removed")
		}
	}
}

// CaptureDrain calls fn for every captured packet buffered so far (its
// Data is valid only during the call) and returns how many packets were
// lost to full buffers since the last drain.
func (s *Switch) CaptureDrain(fn func(p *pipeline.CapturedPacket)) uint64 {
	s.mu.Lock()
	obs := s.obs
	s.mu.Unlock()
	if obs == nil {
		return 0
	}
	return obs.Drain(fn)
}

// PortName returns the name of the port with index idx ("" if none).
func (s *Switch) PortName(idx uint16) string {
	t := s.tables.Load()
	if int(idx) < len(t.ports) {
		return t.ports[idx].name
	}
	return ""
}
