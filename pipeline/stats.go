package pipeline

import "sync/atomic"

// counter is a worker's counter. The worker updates local with plain
// arithmetic; publish copies it to pub, which anyone may read. Publishing
// costs an atomic store (XCHG on amd64, a full barrier that drains the store
// buffer), so a worker publishes every few iterations and when it goes idle,
// not on every vector: readers see values at most that stale, and never a
// torn or racy one.
type counter struct {
	local uint64
	pub   atomic.Uint64
}

func (c *counter) add(n uint64) { c.local += n }

func (c *counter) max(n uint64) {
	if n > c.local {
		c.local = n
	}
}

func (c *counter) publish() {
	if c.pub.Load() != c.local {
		c.pub.Store(c.local)
	}
}

func (c *counter) get() uint64 { return c.pub.Load() }

type nodeStats struct {
	calls, vectors, packets, nanos, maxNanos counter
	// drops are cumulative per reason, worker-local (Frame.drops is this
	// slice); dropsPub is their published copy.
	drops    []uint64
	dropsPub []atomic.Uint64
}

func newNodeStats(reasons int) nodeStats {
	return nodeStats{drops: make([]uint64, reasons), dropsPub: make([]atomic.Uint64, reasons)}
}

func (s *nodeStats) record(pkts int, ns int64) {
	s.calls.local++
	if pkts > 0 {
		s.vectors.local++
		s.packets.local += uint64(pkts)
	}
	if ns > 0 {
		s.nanos.local += uint64(ns)
		s.maxNanos.max(uint64(ns))
	}
}

func (s *nodeStats) publish() {
	s.calls.publish()
	s.vectors.publish()
	s.packets.publish()
	s.nanos.publish()
	s.maxNanos.publish()
	for i, v := range s.drops {
		if s.dropsPub[i].Load() != v {
			s.dropsPub[i].Store(v)
		}
	}
}

// DropCount is the number of packets dropped for one reason.
type DropCount struct {
	Reason  string `json:"reason"`
	Packets uint64 `json:"packets"`
}

// NodeCounters is a snapshot of one node's runtime counters (VPP's
// "show runtime"). Calls counts invocations, Vectors those that had packets.
type NodeCounters struct {
	Name     string      `json:"name"`
	Calls    uint64      `json:"calls"`
	Vectors  uint64      `json:"vectors"`
	Packets  uint64      `json:"packets"`
	Nanos    uint64      `json:"nanos"`
	MaxNanos uint64      `json:"max_nanos"`
	Drops    []DropCount `json:"drops,omitempty"`
}

// NanosPerPacket is the average time spent per packet.
func (c NodeCounters) NanosPerPacket() float64 {
	if c.Packets == 0 {
		return 0
	}
	return float64(c.Nanos) / float64(c.Packets)
}

// PacketsPerVector is the average vector size.
func (c NodeCounters) PacketsPerVector() float64 {
	if c.Vectors == 0 {
		return 0
	}
	return float64(c.Packets) / float64(c.Vectors)
}

// Dropped is the total over every drop reason.
func (c NodeCounters) Dropped() uint64 {
	var t uint64
	for _, d := range c.Drops {
		t += d.Packets
	}
	return t
}

func (s *nodeStats) snapshot(name string, reasons []string) NodeCounters {
	c := NodeCounters{
		Name: name, Calls: s.calls.get(), Vectors: s.vectors.get(), Packets: s.packets.get(),
		Nanos: s.nanos.get(), MaxNanos: s.maxNanos.get(),
	}
	for i := range s.dropsPub {
		if v := s.dropsPub[i].Load(); v != 0 {
			c.Drops = append(c.Drops, DropCount{Reason: reasons[i], Packets: v})
		}
	}
	return c
}

// SumCounters adds per-worker snapshots of the same graph node by node (max
// of MaxNanos).
func SumCounters(perWorker ...[]NodeCounters) []NodeCounters {
	if len(perWorker) == 0 {
		return nil
	}
	out := make([]NodeCounters, len(perWorker[0]))
	for i := range out {
		out[i].Name = perWorker[0][i].Name
	}
	for _, w := range perWorker {
		for i, c := range w {
			o := &out[i]
			o.Calls += c.Calls
			o.Vectors += c.Vectors
			o.Packets += c.Packets
			o.Nanos += c.Nanos
			o.MaxNanos = max(o.MaxNanos, c.MaxNanos)
			for _, d := range c.Drops {
				found := false
				for j := range o.Drops {
					if o.Drops[j].Reason == d.Reason {
						o.Drops[j].Packets += d.Packets
						found = true
					}
				}
				if !found {
					o.Drops = append(o.Drops, d)
				}
			}
		}
	}
	return out
}

// PortCounters are one port's packet counters as seen by a worker.
type PortCounters struct {
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	// TxDrops counts packets staged for the port that it did not send
	// (ring full, no tx queue, tx error).
	TxDrops uint64 `json:"tx_drops"`
}

// Add returns the sum of two counter sets.
func (p PortCounters) Add(o PortCounters) PortCounters {
	return PortCounters{p.RxPackets + o.RxPackets, p.RxBytes + o.RxBytes, p.TxPackets + o.TxPackets,
		p.TxBytes + o.TxBytes, p.TxDrops + o.TxDrops}
}

type portStats struct {
	rxPackets, rxBytes, txPackets, txBytes, txDrops counter
}

func (p *portStats) publish() {
	p.rxPackets.publish()
	p.rxBytes.publish()
	p.txPackets.publish()
	p.txBytes.publish()
	p.txDrops.publish()
}
