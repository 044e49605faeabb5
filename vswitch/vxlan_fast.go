package vswitch

import (
	"github.com/vecswitch/vecswitch/encap"
	"github.com/vecswitch/vecswitch/pipeline"
)

// The underlay fast path of vxlan-encap (issue 24). Every packet of one
// tunnel goes to the same remote VTEP, so ip4-forward's work for it (check
// the outer header just built, look the remote up in the FIB, find the
// neighbor, rewrite the MACs, stage for tx) gives the same answer for the
// whole vector. vxlan-encap resolves it once per vector and tunnel
// (underlay.resolve) and, when the answer is the plain case, finishes the
// packets itself as routedOut would. Anything else takes ip4-forward /
// ip6-forward as before, packet by packet: no route, a blackhole, ECMP
// (the member depends on the outer flow hash), a neighbor not resolved or
// due for a confirming probe (ip4-forward sends it), an underlay
// interface on a bridge (an L2 lookup, maybe a flood), a frame larger
// than the underlay MTU or port (ip4-forward counts mtu-exceeded), frames
// with offload work (GSO, a partial checksum, a chain) and traced packets
// (so a trace still shows every node).
//
// What changes for the counters: the packets finished here are counted
// by vxlan-encap and tx, not by ip4-forward's vector counts; every drop
// keeps its node and reason, since a packet that could be dropped is never
// finished here.

// underlay is one resolved route to a remote VTEP: valid for one vector.
type underlay struct {
	tmpl  *encap.Template // the tunnel it was resolved for; nil: none yet
	ok    bool            // the plain case: fast is allowed
	out   *ifaceEntry
	iface uint16 // outgoing interface
	port  uint16 // its routed port
	mtu   int    // the largest outer IP packet
	max   int    // the largest frame the port sends
	mac   uint64 // next hop's MAC
}

// resolve fills u for the tunnel with template tmpl to remote: the route
// an ip4-forward of a locally sent packet from the VTEP interface would
// take, when it is the plain case.
func (u *underlay) resolve(s *Switch, t *tables, vt *vtepEntry, tmpl *encap.Template, remote nbrAddr) {
	*u = underlay{tmpl: tmpl}
	if int(vt.iface) >= len(t.ifaces) || !t.ifaces[vt.iface].valid {
		return
	}
	vrf := t.vrfs[t.ifaces[vt.iface].vrf]
	var nh uint32
	if vt.is6 {
		if remote.hi>>56 == 0xFF || remote.hi>>54 == 0xFE80>>6 || remote == (nbrAddr{}) {
			return // multicast, link-local, unspecified: ip6-forward decides
		}
		nh = vrf.fib6.Lookup(remote.hi, remote.lo)
	} else {
		dst := uint32(remote.lo)
		if dst>>28 >= 0xE || dst>>24 == 0 || dst>>24 == 127 {
			return // martian: ip4-forward drops it
		}
		nh = vrf.fib4.Lookup(dst)
	}
	if int(nh) >= len(t.adjs) {
		return
	}
	a := &t.adjs[nh]
	key := remote
	switch a.kind {
	case adjGlean:
	case adjGateway:
		key = a.via
	default:
		return // local, blackhole, ECMP, no route
	}
	out := &t.ifaces[a.iface]
	if !out.valid || out.port == 0 {
		return // an interface on a bridge: l2 lookup, maybe a flood
	}
	nix, slab := s.nbr.view()
	e := nix.find(slab, a.iface, key)
	if e == nil || s.now.Load()-e.seen.Load() > s.nbr.age/2 {
		return // glean, or a confirming probe: ip4-forward does them
	}
	u.ok = true
	u.out, u.iface, u.port = out, a.iface, out.port
	u.mtu, u.max = int(out.mtu), int(t.ports[out.port].maxFrame)
	u.mac = e.mac.Load()
}

// finish sends encapsulated packet id (outer header written, Meta.Off and
// Len updated) out of u's port, as ip4-forward and routedOut would for a
// locally sent packet. It returns false, and changes nothing, when the
// packet does not fit.
func (u *underlay) finish(f *pipeline.Frame, m *pipeline.Meta, mem []byte, id pipeline.BufID) bool {
	if int(m.Len) > u.max || int(m.Len)-ethHdrLen > u.mtu {
		return false
	}
	pkt := pipeline.PacketAt(mem, id, m)
	routedRewrite(m, pkt, u.out, u.iface, u.mac)
	m.OutPort = u.port
	if !f.TxFast(u.port, id) {
		f.Tx(u.port, id)
	}
	return true
}
