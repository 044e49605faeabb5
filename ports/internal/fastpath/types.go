package fastpath

import (
	"errors"
	"fmt"
	"net/netip"
)

// Errors. Every error a method returns wraps one of these or a kernel error
// (from cilium/ebpf or golang.org/x/sys/unix), with the operation in its
// text.
var (
	// ErrNotSupported: the system (not Linux) or the kernel cannot run the
	// fast path. The switch falls back to the pipeline alone.
	ErrNotSupported = errors.New("fastpath: not supported")
	// ErrBadConfig: an argument is out of range (a zero or group MAC, a VID
	// over 4094, a negative ifindex, too many queues...).
	ErrBadConfig = errors.New("fastpath: bad configuration")
	// ErrUnknownPort: the ifindex was never given to SetPort (or was
	// removed by DelPort).
	ErrUnknownPort = errors.New("fastpath: unknown port")
	// ErrFull: MapsConfig.MaxEntries, MaxPorts or MaxVLANs is reached.
	ErrFull = errors.New("fastpath: table full")
	// ErrClosed: the Maps or the Program was closed.
	ErrClosed = errors.New("fastpath: closed")
)

// Domain is a learning domain of the switch: one (bridge, VLAN) pair. The
// fast path never forwards a frame from one domain to another; the switch
// chooses the numbers.
type Domain = uint16

// MAC is an Ethernet address in wire order.
type MAC = [6]byte

// PortConfig is how the fast path treats frames received on one port.
type PortConfig struct {
	// Domain is the learning domain of untagged frames: the access VLAN of
	// an access port, or the native VLAN of a trunk.
	Domain Domain
	// TaggedOnly sends every untagged frame to the slow path (a trunk with
	// no native VLAN).
	TaggedOnly bool
	// VLANs maps the VIDs (1-4094) of tagged frames that the port accepts
	// to their domains (a trunk). Tagged frames with other VIDs, and
	// priority-tagged frames (VID 0), go to the slow path.
	VLANs map[uint16]Domain
	// SlowPath sends all the port's traffic through userspace: frames
	// received on the port go to its AF_XDP sockets, and the port is taken
	// out of the DEVMAP so that no other port's frames are redirected to
	// it either. The switch sets it on a port in a security group (the
	// program has no policy) and while a trace or capture runs on it.
	SlowPath bool
	// MaxFrame is the longest frame the port sends, Ethernet header and
	// any 802.1Q tag included: what the switch's pipeline lets out of it
	// (its MTU + 18). A frame that would leave the port longer, once its
	// tag is pushed or popped, goes to the slow path (MissTooBig) — whose
	// pipeline drops and counts it — instead of being redirected and
	// dropped silently by the kernel. 0 checks nothing.
	MaxFrame int
	// Secured holds the frames received on the port to its address
	// guards, as the switch's pipeline runs them for a port with port
	// security: an IPv4 frame is switched only if its source address is in
	// Sources; an IPv6 frame only if its source is in Sources and its next
	// header is TCP or UDP (ICMPv6 — neighbor discovery, router
	// advertisements — and extension headers are the pipeline's to
	// judge); every other EtherType (ARP among them) goes to the slow
	// path. A frame so missed is counted MissSrcIP (source not in
	// Sources) or MissGuard. The source MAC needs nothing more: the fdb
	// entries on a secured port are its bound MACs only (the switch's
	// choice), and the source check (MissSrcUnknown) does the rest.
	Secured bool
	// Sources are the source prefixes a Secured port may send from, both
	// families: the port's addresses and allowed prefixes, and what its
	// guard always allows (0.0.0.0/32, ::/128, fe80::/10), or 0.0.0.0/0
	// and ::/0 when the guard checks no address. A prefix must be masked
	// (no host bits) and not an IPv4-mapped IPv6 one; the longest match
	// per port and family decides, so overlaps are fine. Ignored unless
	// Secured.
	Sources []netip.Prefix
}

// Entry is where frames to one (domain, MAC) leave in the fast path.
type Entry struct {
	// Ifindex is the egress port. It must have been given to SetPort.
	Ifindex int
	// VID is how frames leave that port: 0 untagged, 1-4094 tagged with
	// this VID. The program pushes, pops or rewrites the 802.1Q tag of a
	// frame according to how it arrived:
	//
	//	arrived    VID == 0         VID != 0
	//	untagged   unchanged        push VID (PCP 0)
	//	tagged     pop the tag      rewrite the VID, keep PCP and DEI
	VID uint16
}

// Slot names the hit counters of one fdb entry. It stays the same while
// the entry exists, across moves (SetEntry on an existing key).
type Slot uint32

// EntryHits are the fast-path hit counters of one fdb entry, summed over
// CPUs. They count frames switched in the kernel only; the slow path
// counts its own.
type EntryHits struct {
	// Src counts frames sent by the entry's MAC (it was the source). The
	// switch's ager treats an increase as activity of the MAC: that is
	// what keeps a MAC that only talks through the fast path learned.
	Src uint64
	// Dst counts frames delivered to the entry's MAC.
	Dst uint64
}

// MissReason is why the program sent a frame to the slow path.
type MissReason int

// Miss reasons, in the order of the checks in the program.
const (
	// MissForced: the ingress port has PortConfig.SlowPath set.
	MissForced MissReason = iota
	// MissMalformed: shorter than an Ethernet header (or a tagged one), or
	// priority-tagged (VID 0).
	MissMalformed
	// MissGroupDst: broadcast or multicast destination.
	MissGroupDst
	// MissGroupSrc: broadcast or multicast source, left to the pipeline
	// to count and drop.
	MissGroupSrc
	// MissVLAN: a tagged frame with a VID not in PortConfig.VLANs, or an
	// untagged frame on a TaggedOnly port.
	MissVLAN
	// MissSrcUnknown: the source MAC is not in the fdb on the ingress port
	// (new, moved, or aged out): the pipeline must see it to learn it.
	MissSrcUnknown
	// MissSrcIP: an IPv4 or IPv6 frame from a Secured port whose source
	// address is not in its Sources: the pipeline's IP source guard drops
	// it (src-ip-not-allowed).
	MissSrcIP
	// MissGuard: a frame from a Secured port that only the pipeline's
	// guards can judge: ARP, ICMPv6, an IPv6 extension header, any
	// EtherType but IPv4 and IPv6, or an IP header shorter than the
	// minimum.
	MissGuard
	// MissDstUnknown: the destination MAC is not in the fdb (unknown
	// unicast: the pipeline floods it).
	MissDstUnknown
	// MissHairpin: the destination is on the ingress port.
	MissHairpin
	// MissEgressOff: the egress port is not in the DEVMAP (removed, or in
	// SlowPath).
	MissEgressOff
	// MissTooBig: the frame would leave longer than the egress port's
	// PortConfig.MaxFrame.
	MissTooBig
	// MissHeadroom: no room to push a VLAN tag.
	MissHeadroom

	// NumMissReasons is the number of miss reasons.
	NumMissReasons = iota
)

var missNames = [NumMissReasons]string{
	"forced", "malformed", "group-dst", "group-src", "vlan",
	"src-unknown", "src-ip", "guard", "dst-unknown", "hairpin", "egress-off", "too-big", "headroom",
}

// String returns the reason's short name, as a counter label.
func (r MissReason) String() string {
	if r < 0 || int(r) >= NumMissReasons {
		return fmt.Sprintf("MissReason(%d)", int(r))
	}
	return missNames[r]
}

// PortCounters are the fast-path counters of one port, summed over CPUs.
// Frames the program hands to the slow path are counted here by reason;
// what happens to them next is the pipeline's (and its counters').
type PortCounters struct {
	// RxPackets and RxBytes count frames received on the port and
	// switched in the kernel (bytes as received).
	RxPackets, RxBytes uint64
	// TxPackets and TxBytes count frames switched in the kernel to the
	// port (bytes as sent, after any VLAN push or pop).
	TxPackets, TxBytes uint64
	// Miss counts frames received on the port and sent to the slow path,
	// by reason.
	Miss [NumMissReasons]uint64
	// SlowPass counts the slow-path frames that found no AF_XDP socket
	// bound to their rx queue and went to the kernel stack (XDP_PASS).
	SlowPass uint64
	// Errors counts frames dropped because the program could not undo a
	// half-done VLAN pop. It stays zero unless the kernel misbehaves.
	Errors uint64
}

// Misses returns the sum of Miss.
func (c PortCounters) Misses() uint64 {
	var n uint64
	for _, v := range c.Miss {
		n += v
	}
	return n
}

// MapsConfig sizes the maps of a switch. Zero fields take the defaults.
type MapsConfig struct {
	// MaxEntries bounds the fdb (default 65536).
	MaxEntries int
	// MaxPorts bounds the ports (default 256).
	MaxPorts int
	// MaxVLANs bounds the (port, VID) pairs of trunk ports (default 4096).
	MaxVLANs int
	// MaxSources bounds the source prefixes of Secured ports, per family
	// (default 8192).
	MaxSources int
}

// Defaults of MapsConfig.
const (
	DefaultMaxEntries = 65536
	DefaultMaxPorts   = 256
	DefaultMaxVLANs   = 4096
	DefaultMaxSources = 8192
)

// withDefaults fills in the defaults and checks the limits.
func (c MapsConfig) withDefaults() (MapsConfig, error) {
	if c.MaxEntries == 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.MaxPorts == 0 {
		c.MaxPorts = DefaultMaxPorts
	}
	if c.MaxVLANs == 0 {
		c.MaxVLANs = DefaultMaxVLANs
	}
	if c.MaxSources == 0 {
		c.MaxSources = DefaultMaxSources
	}
	// Port slots travel in a u16 of the fdb value.
	if c.MaxEntries < 1 || c.MaxEntries > 1<<24 || c.MaxPorts < 1 || c.MaxPorts > 1<<16 || c.MaxVLANs < 1 || c.MaxVLANs > 1<<20 ||
		c.MaxSources < 1 || c.MaxSources > 1<<20 {
		return c, fmt.Errorf("%w: %d entries, %d ports, %d VLANs, %d sources: want 1-%d, 1-%d, 1-%d, 1-%d",
			ErrBadConfig, c.MaxEntries, c.MaxPorts, c.MaxVLANs, c.MaxSources, 1<<24, 1<<16, 1<<20, 1<<20)
	}
	return c, nil
}

// checkMAC rejects MACs that can never be a unicast source or destination.
func checkMAC(mac MAC) error {
	if mac[0]&1 != 0 || mac == (MAC{}) {
		return fmt.Errorf("%w: MAC %02x:%02x:%02x:%02x:%02x:%02x is not a unicast address",
			ErrBadConfig, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
	}
	return nil
}

// checkMaxFrame accepts 0 (unchecked) and the lengths a frame can have.
func checkMaxFrame(n int) error {
	if n < 0 || n > 1<<16-1 {
		return fmt.Errorf("%w: max frame %d", ErrBadConfig, n)
	}
	return nil
}

// checkSource accepts a valid, masked prefix that is not IPv4-mapped IPv6
// (an IPv4 source is given as an IPv4 prefix).
func checkSource(p netip.Prefix) error {
	if !p.IsValid() || p.Masked() != p || p.Addr().Zone() != "" || p.Addr().Is4In6() {
		return fmt.Errorf("%w: source prefix %s: want a masked IPv4 or IPv6 prefix", ErrBadConfig, p)
	}
	return nil
}

// checkVID accepts 0 (untagged) and 1-4094.
func checkVID(vid uint16) error {
	if vid > 4094 {
		return fmt.Errorf("%w: VID %d", ErrBadConfig, vid)
	}
	return nil
}
