package vswitch

import (
	"sort"

	"github.com/vecswitch/vecswitch/pipeline"
)

// publishStopped publishes the counters of workers that are not running, so
// a caller that drives them with Poll reads exact figures. (Running workers
// publish by themselves every few iterations.) It must not be called while
// another goroutine polls a stopped worker.
func (s *Switch) publishStopped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.workers {
		if !w.Running() {
			w.PublishStats()
		}
	}
}

// Runtime returns the node counters summed over all workers (VPP's
// "show runtime"). Safe while the switch runs.
func (s *Switch) Runtime() []pipeline.NodeCounters {
	s.publishStopped()
	per := make([][]pipeline.NodeCounters, len(s.workers))
	for i, w := range s.workers {
		per[i] = w.Runtime()
	}
	return pipeline.SumCounters(per...)
}

// FDBEntry is one MAC table entry as shown to operators.
type FDBEntry struct {
	Bridge string `json:"bridge"`
	VLAN   uint16 `json:"vlan"`
	MAC    string `json:"mac"`
	Port   string `json:"port"`
	// VTEP is the remote VTEP a MAC is behind (Port is then vxlan:VTEP).
	VTEP   string `json:"vtep,omitempty"`
	Static bool   `json:"static"`
	// Bound is set on a static entry of port security (Port.MACs).
	Bound bool `json:"bound,omitempty"`
	// AgeSeconds is the time since the entry was last seen (0 for static).
	AgeSeconds uint32 `json:"age_seconds"`
	// FastPath is set when the entry is offloaded to the kernel fast path:
	// frames it forwarded there from the MAC and to it.
	FastPath *FDBFastPath `json:"fast_path,omitempty"`
}

// FDBFastPath are an offloaded entry's fast-path hit counters.
type FDBFastPath struct {
	SrcHits uint64 `json:"src_hits"`
	DstHits uint64 `json:"dst_hits"`
}

// FDB lists every valid MAC entry (entries of flushed ports are left out).
// It walks the whole table under the learner's lock and builds a slice of
// all of it: for tests and small tables. Operators' listings use FDBPage.
func (s *Switch) FDB() []FDBEntry {
	t := s.tables.Load()
	l := s.lrn
	l.mu.Lock()
	defer l.mu.Unlock()
	now := s.now.Load()
	var out []FDBEntry
	mt := l.macs.Load()
	mt.each(0, len(mt.b), func(k, v uint64) bool {
		dom := uint16(k >> 48)
		if int(dom) >= len(t.domains) || !t.domains[dom].valid || !l.valid(v) {
			return false
		}
		out = append(out, s.fdbEntry(t, k, v, now))
		return false
	})
	return out
}

// fdbEntry describes the valid entry k -> v of a valid domain. Caller
// holds the learner's mu (for the fast-path entries).
func (s *Switch) fdbEntry(t *tables, k, v uint64, now uint32) FDBEntry {
	d := &t.domains[uint16(k>>48)]
	e := FDBEntry{Bridge: t.bridges[d.bridge].name, VLAN: d.vlan, MAC: formatMAC(k), Static: valStaticOf(v), Bound: valBoundOf(v)}
	e.Port = t.ports[valPort(v)].name
	if p := valPort(v); t.ports[p].tunnel != 0 {
		e.VTEP = t.tunnels[t.ports[p].tunnel-1].remote.addr().String()
	}
	if valPort(v) == routerPort && int(d.rif) < len(t.ifaces) {
		e.Port = "rif:" + t.ifaces[d.rif].name // a router interface's MAC
	}
	if !e.Static {
		e.AgeSeconds = (now - valTS(v)) & tsMask
	}
	if fe := s.fpath.entries[k]; fe != nil {
		src, dst, err := s.fpath.fp.EntryHits(fe.slot)
		if err == nil {
			e.FastPath = &FDBFastPath{SrcHits: src, DstHits: dst}
		}
	}
	return e
}

// MACStats are the learner's counters.
type MACStats struct {
	Entries int `json:"entries"`
	// Capacity is the number of slots the table has now (it grows).
	Capacity int    `json:"capacity"`
	Learned  uint64 `json:"learned"`
	Moved    uint64 `json:"moved"`
	Aged     uint64 `json:"aged"`
	// LimitDrops counts sources not learned because their bridge was at its
	// MAC limit, by bridge name (vsctl show's bridge line and
	// mac_limit_drops, show errors' bridge:NAME). A port's own limit's
	// refusals are PortInfo.MACLimitDrops, not these.
	LimitDrops map[string]uint64 `json:"limit_drops,omitempty"`
	// RingDrops counts learn events lost because a worker's ring was full.
	RingDrops uint64 `json:"ring_drops"`
}

// MACStats returns the learner's counters.
func (s *Switch) MACStats() MACStats {
	t := s.tables.Load()
	l := s.lrn
	l.mu.Lock()
	defer l.mu.Unlock()
	mt := l.macs.Load()
	st := MACStats{Entries: mt.count, Capacity: mt.slots(), Learned: l.learned.Load(), Moved: l.moved.Load(), Aged: l.aged.Load()}
	for b, n := range l.limitHit {
		if n > 0 && b < len(t.bridges) && t.bridges[b].valid {
			if st.LimitDrops == nil {
				st.LimitDrops = map[string]uint64{}
			}
			st.LimitDrops[t.bridges[b].name] = n
		}
	}
	for _, r := range l.rings {
		st.RingDrops += r.drops.get()
	}
	return st
}

// PortCounters returns a port's counters summed over workers, counted
// since the port was attached (a port that reuses a deleted port's index
// starts from zero; one detached and attached again under its own name,
// at the same index, counts on); ok is false if no port of that name is
// attached.
func (s *Switch) PortCounters(name string) (c pipeline.PortCounters, ok bool) {
	s.publishStopped()
	s.mu.Lock()
	a, ok := s.attached[name]
	var base pipeline.PortCounters
	if ok {
		base = a.base
	}
	s.mu.Unlock()
	if !ok {
		return c, false
	}
	for _, w := range s.workers {
		c = c.Add(w.PortCounters(a.idx))
	}
	return subCounters(c, base), true
}

// subCounters is c minus base (base: the counts of a port index from
// before its port was attached, attachment.base).
func subCounters(c, base pipeline.PortCounters) pipeline.PortCounters {
	return pipeline.PortCounters{RxPackets: c.RxPackets - base.RxPackets, RxBytes: c.RxBytes - base.RxBytes,
		TxPackets: c.TxPackets - base.TxPackets, TxBytes: c.TxBytes - base.TxBytes, TxDrops: c.TxDrops - base.TxDrops}
}

// PortInfo describes an attached port for operators.
type PortInfo struct {
	Name   string `json:"name"`
	Index  uint16 `json:"index"`
	Bridge string `json:"bridge,omitempty"`
	// Up is true when the port is in a bridge and being polled.
	Up bool `json:"up"`
	// RxQueues lists which worker polls each rx queue.
	RxQueues []QueueInfo           `json:"rx_queues"`
	Counters pipeline.PortCounters `json:"counters"`
	// FastPath is the port's kernel fast-path state and counters (nil
	// when the switch has no fast path). Counters above are the
	// pipeline's: frames the fast path forwarded are only counted here.
	FastPath *FastPathPort `json:"fast_path,omitempty"`
	// MACs is how many MACs the port has learned (after a flush, the
	// flushed ones until the ager reclaims them); MACLimit is its limit
	// (0 while it is in no bridge) and MACLimitDrops counts the sources
	// it did not learn because it was at the limit, since it was attached
	// (its bridge's limit refuses others: MACStats.LimitDrops).
	MACs          int    `json:"macs"`
	MACLimit      int    `json:"mac_limit"`
	MACLimitDrops uint64 `json:"mac_limit_drops"`
}

// QueueInfo is one rx queue and its worker.
type QueueInfo struct {
	Queue  int `json:"queue"`
	Worker int `json:"worker"`
}

// Ports lists the attached ports by name.
func (s *Switch) Ports() []PortInfo {
	s.publishStopped()
	t := s.tables.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PortInfo, 0, len(s.attached))
	for name, a := range s.attached {
		pi := PortInfo{Name: name, Index: a.idx, Up: t.ports[a.idx].up}
		if pi.Up {
			pi.Bridge = t.bridges[t.ports[a.idx].bridge].name
		}
		for q, r := range a.rx {
			pi.RxQueues = append(pi.RxQueues, QueueInfo{Queue: q, Worker: r.worker})
		}
		for _, w := range s.workers {
			pi.Counters = pi.Counters.Add(w.PortCounters(a.idx))
		}
		pi.Counters = subCounters(pi.Counters, a.base)
		pi.FastPath = s.portFastPath(a)
		pi.MACLimit = int(t.ports[a.idx].macLimit)
		out = append(out, pi)
	}
	s.lrn.mu.Lock()
	for i := range out {
		out[i].MACs, out[i].MACLimitDrops = s.lrn.portCount[out[i].Index], s.lrn.portLimitHit[out[i].Index]
	}
	s.lrn.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WorkerInfo describes one worker for operators.
type WorkerInfo struct {
	ID         int    `json:"id"`
	CPU        int    `json:"cpu"` // -1: not pinned
	Running    bool   `json:"running"`
	Iterations uint64 `json:"iterations"`
	// BusyPercent is the share of time spent on iterations that received
	// packets, since the worker started.
	BusyPercent float64 `json:"busy_percent"`
	RxQueues    int     `json:"rx_queues"`
	// VectorSizes counts rx batches by size: [0] empty polls, [1] one
	// packet, [2] 2-3, [3] 4-7, ... [8] 128-255, [9] full vectors of 256.
	VectorSizes [10]uint64 `json:"vector_sizes"`
}

// WorkerInfos lists the workers.
func (s *Switch) WorkerInfos() []WorkerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WorkerInfo, len(s.workers))
	for i, w := range s.workers {
		cpu := -1
		if s.opts.CPUs != nil {
			cpu = s.opts.CPUs[i]
		}
		out[i] = WorkerInfo{ID: i, CPU: cpu, Running: w.Running(), Iterations: w.Iterations(), BusyPercent: w.BusyPercent(),
			VectorSizes: w.VectorHistogram()}
	}
	for _, a := range s.attached {
		for _, r := range a.rx {
			out[r.worker].RxQueues++
		}
	}
	return out
}
