package ctl

import "time"

// Plain copies of the data plane's report types, as the daemon encodes
// them (the original's name is in each comment): fields and JSON, and the
// few helpers vsctl prints with; the logic stays with the originals.

// QueueInfo is one rx queue and its worker (vswitch.QueueInfo).
type QueueInfo struct {
	Queue  int `json:"queue"`
	Worker int `json:"worker"`
}

// PortCounters are one port's packet counters (pipeline.PortCounters).
type PortCounters struct {
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	// TxDrops counts packets staged for the port that it did not send.
	TxDrops uint64 `json:"tx_drops"`
}

// FastPathPort is a port's state in the kernel fast path
// (vswitch.FastPathPort): State is "on", "slow-path", "off" or
// "unavailable" (Reason says why).
type FastPathPort struct {
	State    string            `json:"state"`
	Reason   string            `json:"reason,omitempty"`
	Counters *FastPathCounters `json:"counters,omitempty"`
}

// FastPathCounters are one port's fast-path counters
// (ports.FastPathCounters).
type FastPathCounters struct {
	RxPackets uint64            `json:"rx_packets"`
	RxBytes   uint64            `json:"rx_bytes"`
	TxPackets uint64            `json:"tx_packets"`
	TxBytes   uint64            `json:"tx_bytes"`
	Misses    map[string]uint64 `json:"misses,omitempty"`
	SlowPass  uint64            `json:"slow_pass,omitempty"`
	Errors    uint64            `json:"errors,omitempty"`
}

// FastPathStatus is the fast path as a whole (vswitch.FastPathStatus).
type FastPathStatus struct {
	Enabled   bool   `json:"enabled"`
	Ports     int    `json:"ports"`
	Entries   int    `json:"entries"`
	Errors    uint64 `json:"errors"`
	LastError string `json:"last_error,omitempty"`
}

// WorkerInfo describes one worker (vswitch.WorkerInfo). VectorSizes
// counts rx batches by size: [0] empty polls, [1] one packet, [2] 2-3,
// ... [9] full vectors of 256.
type WorkerInfo struct {
	ID          int        `json:"id"`
	CPU         int        `json:"cpu"` // -1: not pinned
	Running     bool       `json:"running"`
	Iterations  uint64     `json:"iterations"`
	BusyPercent float64    `json:"busy_percent"`
	RxQueues    int        `json:"rx_queues"`
	VectorSizes [10]uint64 `json:"vector_sizes"`
}

// FDBPage is one page of MAC table entries (vswitch.FDBPage): Total
// matched on all pages, Next the cursor of the following page ("" on the
// last).
type FDBPage struct {
	Entries []FDBEntry `json:"entries"`
	Total   int        `json:"total"`
	Next    string     `json:"next,omitempty"`
}

// FDBEntry is one MAC table entry (vswitch.FDBEntry).
type FDBEntry struct {
	Bridge     string       `json:"bridge"`
	VLAN       uint16       `json:"vlan"`
	MAC        string       `json:"mac"`
	Port       string       `json:"port"`
	VTEP       string       `json:"vtep,omitempty"`
	Static     bool         `json:"static"`
	Bound      bool         `json:"bound,omitempty"`
	AgeSeconds uint32       `json:"age_seconds"`
	FastPath   *FDBFastPath `json:"fast_path,omitempty"`
}

// FDBFastPath are an offloaded entry's fast-path hit counters
// (vswitch.FDBFastPath).
type FDBFastPath struct {
	SrcHits uint64 `json:"src_hits"`
	DstHits uint64 `json:"dst_hits"`
}

// RouteEntry is one route as route/show presents it (vswitch.RouteEntry);
// Type is connected, local, static or blackhole.
type RouteEntry struct {
	VRF    string    `json:"vrf"`
	Prefix string    `json:"prefix"`
	Type   string    `json:"type"`
	Via    []NextHop `json:"via,omitempty"`
}

// NextHop is a gateway address, an interface, or both (vswitch.NextHop).
type NextHop struct {
	Addr      string `json:"addr,omitempty"`
	Interface string `json:"interface,omitempty"`
}

// NeighborEntry is one ARP/ND table entry (vswitch.NeighborEntry).
type NeighborEntry struct {
	Interface string `json:"interface"`
	Addr      string `json:"addr"`
	MAC       string `json:"mac"`
	Static    bool   `json:"static,omitempty"`
	Age       uint32 `json:"age"`
}

// NeighborStats is the ARP/ND table's size, limits and counters
// (neigh/stats; vswitch.NeighborStats): entries by kind, the table's
// size and one interface's share of it, and how many entries were
// learned, changed, aged out, evicted for newer ones (stale first) and
// refused for want of room (full).
type NeighborStats struct {
	Entries        int                  `json:"entries"`
	Static         int                  `json:"static"`
	Stale          int                  `json:"stale"`
	Reachable      int                  `json:"reachable"`
	Limit          int                  `json:"limit"`
	InterfaceLimit int                  `json:"interface_limit"`
	Learned        uint64               `json:"learned"`
	Updated        uint64               `json:"updated"`
	Aged           uint64               `json:"aged"`
	Evicted        uint64               `json:"evicted"`
	Full           uint64               `json:"full"`
	Interfaces     []NeighborIfaceStats `json:"interfaces"`
}

// NeighborIfaceStats is one router interface's learned entries
// (vswitch.NeighborIfaceStats).
type NeighborIfaceStats struct {
	Interface string `json:"interface"`
	Stale     int    `json:"stale"`
	Reachable int    `json:"reachable"`
}

// Interface is a router interface (vswitch.Interface).
type Interface struct {
	Name   string   `json:"name"`
	Bridge string   `json:"bridge,omitempty"`
	VLAN   uint16   `json:"vlan,omitempty"`
	Port   string   `json:"port,omitempty"`
	MAC    string   `json:"mac,omitempty"`
	Addrs  []string `json:"addrs,omitempty"`
	VRF    string   `json:"vrf,omitempty"`
	MTU    int      `json:"mtu,omitempty"`
	// ProxyARP: a routed endpoint's interface, answering ARP/ND for any
	// address (vswitch.Interface.ProxyARP).
	ProxyARP bool `json:"proxy_arp,omitempty"`
}

// VTEP is the switch's VXLAN tunnel endpoint (vswitch.VTEP).
type VTEP struct {
	Addr string `json:"addr"`
	Port uint16 `json:"port,omitempty"`
	TTL  uint8  `json:"ttl,omitempty"`
	DF   bool   `json:"df,omitempty"`
}

// VNI maps one VLAN of a bridge to a VXLAN network shared with Remotes
// (vswitch.VNI).
type VNI struct {
	VNI     uint32   `json:"vni"`
	VLAN    uint16   `json:"vlan,omitempty"`
	Remotes []string `json:"remotes,omitempty"`
}

// Trace is one traced packet (vswitch.Trace); Data is the frame as
// received (at most 256 bytes).
type Trace struct {
	Seq    uint64     `json:"seq"`
	Worker int        `json:"worker"`
	Time   time.Time  `json:"time"`
	InPort string     `json:"in_port"`
	Data   []byte     `json:"data"`
	Hops   []TraceHop `json:"hops"`
}

// TraceHop is one node a traced packet, or a copy of it, passed
// (vswitch.TraceHop).
type TraceHop struct {
	Node   string `json:"node"`
	Copy   uint32 `json:"copy"`
	Next   string `json:"next,omitempty"`
	Drop   string `json:"drop,omitempty"`
	Detail string `json:"detail,omitempty"`
	TxPort string `json:"tx_port,omitempty"`
}

// NodeCounters is one node's runtime counters (pipeline.NodeCounters).
type NodeCounters struct {
	Name     string      `json:"name"`
	Calls    uint64      `json:"calls"`
	Vectors  uint64      `json:"vectors"`
	Packets  uint64      `json:"packets"`
	Nanos    uint64      `json:"nanos"`
	MaxNanos uint64      `json:"max_nanos"`
	Drops    []DropCount `json:"drops,omitempty"`
}

// DropCount is the number of packets dropped for one reason
// (pipeline.DropCount).
type DropCount struct {
	Reason  string `json:"reason"`
	Packets uint64 `json:"packets"`
}

// Dropped is the total over every drop reason.
func (c NodeCounters) Dropped() uint64 {
	var t uint64
	for _, d := range c.Drops {
		t += d.Packets
	}
	return t
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
