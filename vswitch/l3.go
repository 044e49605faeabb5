package vswitch

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// Node names of the L3 graph. A routed frame's path: l2-input -> l2-fwd
// (its destination is a router interface's MAC) -> ip4-forward or
// ip6-forward (checks, FIB lookup, neighbor, TTL, MTU, MAC rewrite and the
// L2 lookup in the outgoing domain) -> l2-output (or l2-flood when the
// neighbor's port is not known yet). Exceptions leave the fast node:
// packets to the switch itself go to ip4-local/ip6-local (echo, ND),
// unresolved neighbors to ip4-glean/ip6-glean (ARP request / neighbor
// solicitation, the packet is dropped and counted), errors to
// ip4-icmp-error/ip6-icmp-error. ARP frames reach arp-input.
const (
	nodeIP4Forward = "ip4-forward"
	nodeIP4Local   = "ip4-local"
	nodeIP4Glean   = "ip4-glean"
	nodeIP4Error   = "ip4-icmp-error"
	nodeARPInput   = "arp-input"
	nodeIP6Forward = "ip6-forward"
	nodeIP6Local   = "ip6-local"
	nodeIP6Glean   = "ip6-glean"
	nodeIP6Error   = "ip6-icmp-error"
)

// Meta.Flags bits used by the L3 nodes.
const (
	// flagLocal marks a packet the switch originated (echo reply, ICMP
	// error): forwarding neither checks nor decrements its TTL and never
	// answers it with an ICMP error.
	flagLocal uint16 = 1 << 0
	// flagProbe marks a buffer that only asks the glean node to refresh a
	// neighbor in use (see refreshProbe); it carries no packet.
	flagProbe uint16 = 1 << 1
	// The ICMP error to send is in bits 8-11 (icmpErr* values).
	flagErrShift = 8
	flagErrMask  = 0xF << flagErrShift
)

// ICMP errors the forwarding nodes ask for (Meta.Flags bits 8-11). Meta.Aux
// carries the MTU for errTooBig.
const (
	errNone    = iota
	errTTL     // time exceeded in transit
	errTooBig  // IPv4 fragmentation needed and DF set / IPv6 packet too big
	errNoRoute // destination network unreachable / no route
	errAddr    // IPv4 host unreachable / IPv6 address unreachable
	numErrs
)

// errNames are the drop reasons of the original packets, by error.
var errNames = [numErrs]string{"", "ttl-expired", "too-big", "no-route", "unresolved"}

// Common next indices of the forwarding nodes (ip4-forward, ip6-forward).
const (
	fwdNextLocal = iota
	fwdNextGlean
	fwdNextError
	fwdNextL2Output
	fwdNextL2Flood
	fwdNextSegment
	fwdNextRoutedSG // sg-policy (a port of the two ends is in a security group)
)

// checkDrops returns the names of proto's check reasons (index = Reason)
// followed by extra, so a node can drop with Reason values directly and
// with extras from index proto.NumReasons.
func checkDrops(extra ...string) []string {
	d := make([]string, 0, int(proto.NumReasons)+len(extra))
	for r := proto.Reason(0); r < proto.NumReasons; r++ {
		d = append(d, r.String())
	}
	return append(d, extra...)
}

// setErr marks a packet for the error node.
func setErr(m *pipeline.Meta, e uint16, aux uint32) {
	m.Flags = m.Flags&^flagErrMask | e<<flagErrShift
	m.Aux = aux
}

func errOf(m *pipeline.Meta) uint16 { return m.Flags & flagErrMask >> flagErrShift }

// newLocalFrame allocates a buffer for a packet the switch builds, and
// returns it with the writable bytes from the packet start.
func newLocalFrame(pool *pipeline.Pool) (pipeline.BufID, []byte, bool) {
	id, ok := pool.Alloc()
	if !ok {
		return 0, nil, false
	}
	return id, pool.Frame(id)[pipeline.Headroom:], true
}

// routedOut is the tail ip4-forward and ip6-forward share: it rewrites a
// routed frame's MACs for the neighbor mac out of interface iface (out),
// and returns its next index: staged for tx at once on a routed port
// (pipeline.NextTaken, unless l2-output must refuse it as too big), or
// on to the L2 lookup (l2Deliver).
func routedOut(f *pipeline.Frame, t *tables, mt *macTable, seqs []atomic.Uint32, sg *sgTables, m *pipeline.Meta, pkt []byte, out *ifaceEntry, iface uint16, mac uint64, id pipeline.BufID) uint16 {
	in := m.InPort
	routedRewrite(m, pkt, out, iface, mac)
	if sg != nil && m.Flags&flagLocal == 0 {
		if out.port != 0 {
			m.OutPort = out.port
			if sg.filtering(in, out.port) {
				return fwdNextRoutedSG
			}
		} else if nx := l2Deliver(mt, seqs, m, mac); nx != fwdNextL2Output || !sg.filtering(in, m.OutPort) {
			return nx
		} else {
			return fwdNextRoutedSG
		}
	}
	if out.port != 0 {
		// A routed port: nothing to look up, no tag to push; stage it
		// here unless l2-output must refuse it (too big).
		m.OutPort = out.port
		if m.Len <= t.ports[out.port].maxFrame && !needsGSO(m) {
			f.Tx(out.port, id)
			return pipeline.NextTaken
		}
		return fwdNextL2Output
	}
	return l2Deliver(mt, seqs, m, mac)
}

// routedRewrite gives routed frame pkt (metadata m) the neighbor's MAC
// mac as destination and the outgoing interface's (out, index iface) as
// source, and moves its metadata to the egress side: domain, VLAN and
// interface of out, the router as its port. The port it came from is
// kept in Aux for sg-policy (the egress side of security groups) and
// l2-flood. routedOut, the forwarding nodes' fast loops and vxlan-encap's
// underlay all finish a routed frame with it.
func routedRewrite(m *pipeline.Meta, pkt []byte, out *ifaceEntry, iface uint16, mac uint64) {
	putMAC(pkt[0:6], mac)
	copy(pkt[6:12], out.mac[:])
	m.Aux = uint32(m.InPort)
	m.Domain, m.VLAN, m.InPort, m.Iface = out.domain, out.vlan, routerPort, iface
}

// l2Deliver finishes a routed or switch-built frame whose Ethernet
// destination is dst in domain dom: it looks dst up in the MAC table and
// returns the next index (fwdNextL2Output with Meta.OutPort set, or
// fwdNextL2Flood).
func l2Deliver(mt *macTable, seqs []atomic.Uint32, m *pipeline.Meta, dst uint64) uint16 {
	k := macKey(m.Domain, dst)
	if v, ok := mt.getAt(mt.first(k), k); ok && valSeq(v) == uint16(seqs[valPort(v)].Load()) {
		if p := valPort(v); p != routerPort {
			m.OutPort = p
			return fwdNextL2Output
		}
	}
	return fwdNextL2Flood
}

// refreshProbe asks the glean node to send an ARP request (IPv4) or
// neighbor solicitation for a neighbor in use whose entry has not been
// confirmed for half its age, so that a host that only receives routed
// traffic is confirmed before its entry ages out. cache limits it to one
// probe per neighbor per resolveInterval per worker, by the switch's
// clock (Options.Clock: a test's fake clock decides, not how fast the
// machine runs). For IPv6 aux is the adjacency ID and target the address
// (the glean node reads aux); for IPv4 aux is the address.
func refreshProbe(f *pipeline.Frame, cache *resolveCache, clock func() time.Time, nowNs *int64, iface uint16, target nbrAddr, aux uint32, nx uint16) {
	if *nowNs == 0 {
		*nowNs = clock().UnixNano()
	}
	if !cache.due(nbrKey{iface, target}, *nowNs) {
		return
	}
	b, ok := f.Pool.Alloc()
	if !ok {
		return
	}
	m := f.Pool.Meta(b)
	m.Iface, m.Aux, m.Flags = iface, aux, flagProbe
	if target.hi != 0 || target.lo>>32 != 0xFFFF {
		// IPv6: the glean node reads a connected target from the
		// packet's destination address.
		pkt := f.Pool.Frame(b)[pipeline.Headroom : pipeline.Headroom+ethHdrLen+40]
		binary.BigEndian.PutUint64(pkt[ethHdrLen+24:], target.hi)
		binary.BigEndian.PutUint64(pkt[ethHdrLen+32:], target.lo)
		m.Len = uint16(len(pkt))
	}
	f.Emit(nx, b)
}
