package ports

import "net/netip"

// FastPath is a kernel fast path shared by a switch's ports: tables that
// the switch programs with what its pipeline has learned, and a program on
// each member port that forwards the frames matching them without the
// pipeline (ports/afxdp's XDP fast path implements it). The pipeline stays
// the source of truth: everything the fast path does not know, it hands to
// the port's queues as usual.
//
// Every method is a control-plane call (it may make syscalls, allocate and
// wait for a kernel grace period) and takes effect for frames that arrive
// after it returns. Domains are the switch's learning domains (one bridge
// VLAN each); the switch numbers them.
type FastPath interface {
	// SetPort puts the port with this ifindex in the fast path, or changes
	// how its frames are classified.
	SetPort(ifindex int, cfg FastPathPort) error
	// DelPort takes the port out: when it returns, no frame is being or
	// will be forwarded to it or from it by the fast path, and its entries
	// are gone.
	DelPort(ifindex int) error
	// SetEntry makes frames to mac in domain leave through the port at
	// ifindex, tagged with vid (0: untagged). It returns the entry's
	// counter slot, stable while the entry exists (moves included).
	SetEntry(domain uint16, mac [6]byte, ifindex int, vid uint16) (slot uint32, err error)
	// DelEntry removes one entry (no error if absent).
	DelEntry(domain uint16, mac [6]byte) error
	// FlushPort removes the entries whose egress is the port.
	FlushPort(ifindex int) error
	// FlushDomain removes the entries of one domain.
	FlushDomain(domain uint16) error
	// EntryHits returns an entry's hit counters: frames it forwarded from
	// the MAC (src) and to it (dst).
	EntryHits(slot uint32) (src, dst uint64, err error)
	// PortCounters returns the fast-path counters of a port.
	PortCounters(ifindex int) (FastPathCounters, error)
}

// FastPathPort is how the fast path classifies the frames a port receives.
type FastPathPort struct {
	// Domain of untagged frames (the access VLAN, or a trunk's native one).
	Domain uint16
	// TaggedOnly leaves untagged frames to the pipeline.
	TaggedOnly bool
	// VLANs maps the VIDs of tagged frames the port accepts to domains.
	VLANs map[uint16]uint16
	// SlowPath sends all of the port's traffic, both directions, through
	// the pipeline (while a trace or capture runs on it).
	SlowPath bool
	// Secured holds what the port sends to its address guards (port
	// security): the fast path forwards IPv4, and IPv6 TCP and UDP, whose
	// source is in Sources, and hands everything else the port sends to
	// the pipeline (ARP, ICMPv6, other sources...), which runs the guards.
	// When a call narrows Sources, it returns once no frame from a
	// source taken away is forwarded any more.
	Secured bool
	// Sources are the masked prefixes, IPv4 or IPv6 (not IPv4-mapped),
	// that a Secured port may send from.
	Sources []netip.Prefix
}

// FastPathCounters are one port's fast-path counters.
type FastPathCounters struct {
	// Frames received on the port and forwarded by the fast path, and
	// frames it forwarded to the port.
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	// Misses counts frames handed to the pipeline, by reason.
	Misses map[string]uint64 `json:"misses,omitempty"`
	// SlowPass counts misses that found no socket and went to the kernel.
	SlowPass uint64 `json:"slow_pass,omitempty"`
	// Errors counts frames the fast path had to drop.
	Errors uint64 `json:"errors,omitempty"`
}

// FastPathRechecker is a member whose ability to take part can change
// after it was added (a veth whose peer's settings a container runtime may
// change). The switch calls RecheckFastPath every few seconds, then
// FastPathIfindex again, and takes the port out of the fast path or puts
// it back accordingly.
type FastPathRechecker interface {
	RecheckFastPath()
}

// FastPathMember is a port that can take part in a FastPath.
type FastPathMember interface {
	// FastPathIfindex returns the port's ifindex for FastPath calls, or an
	// error saying why it cannot take part (no fast-path program, a veth
	// peer that would drop redirected frames...).
	FastPathIfindex() (int, error)
}
