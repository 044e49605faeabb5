package vswitch

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/policy/conntrack"
	"github.com/vecswitch/vecswitch/policy/nat"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// nat is the router's address translation (Config.NAT). It sits in front
// of ip4-forward and ip6-forward: when NAT is configured, l2-fwd and
// l2-input send the IP packets addressed to a router interface here
// first, so the route lookup sees the translated destination (a mapped
// port's container, a masqueraded reply's container, a hairpin's
// target). Without NAT they go straight to the forward nodes and this
// node costs nothing.
//
// For each IP packet of the vector it parses the headers
// (conntrack.ParseBatch, zone: the ingress interface's VRF), tracks the
// vector at once in the NAT's own flow table (TrackBatch), then:
//
//   - a packet that starts a flow: nat.Worker.Commit decides its
//     translation (port map, hairpin, masquerade with a port allocated
//     through conntrack, or none) and creates its entry;
//   - a packet of a flow, either direction, and an ICMP error quoting
//     one (related): nat.Worker.Translate rewrites it from the flow's
//     two keys, checksums updated incrementally;
//   - a packet conntrack finds invalid (TCP without SYN and no flow, a
//     reply with no flow) or cannot track (a non-first fragment whose
//     first fragment it did not see: conntrack's "Fragments") passes
//     untranslated, unless a new flow of its tuple would be translated:
//     then it is dropped (ct-invalid, nat-fragment), because leaving
//     untranslated would leak a container's private address or bypass
//     a port map;
//   - neighbour discovery and other untracked ICMPv6 pass.
//
// A packet it tracked leaves with its NAT flow in Meta.Conn, which
// sg-policy reads to see the packet as it is on its container's side
// (natSide); sg-policy then sets Meta.Conn to its own flow.
//
// A packet NAT could not translate (no free port, a full table, a
// header it cannot rewrite) is dropped with the reason's name; it never
// leaves untranslated. A new flow to a service with no backend that
// takes new flows (all drained or removed: nat-no-backend; this includes
// the next segment of a connection whose backend was removed) is
// answered in its backend's place, from VIP:Port, so the client does not
// hang: TCP with a RST, UDP with a port unreachable (node_nat_reject.go).
//
// Packets the switch itself sends (flagLocal) are not translated, but for
// the ICMP and ICMPv6 errors its router builds (ip4-icmp-error and
// ip6-icmp-error send them here when NAT is configured): this node
// translated the packet an error is about before it was routed, so the
// error quotes it translated and is addressed to its translated source.
// Tracked like any packet, such an error is related to the flow it
// quotes, and Translate rewrites it as it does an error from outside
// (nf_nat_icmp_reply_translation, which Linux also applies to the errors
// its own router sends): the quote back to what the sender sent, the
// destination back to the sender. An error about no flow, or about an
// untranslated one, passes as it is; a switch-built packet is never
// dropped as invalid and never starts a flow.
const nodeNAT = "nat"

const (
	natNextIP4 = iota
	natNextIP6
)

// natDropInvalid follows the nat.Reason drops (reason r is drop r-1);
// natDropRejectLimited (node_nat_reject.go) follows it, then
// natDropMartian: a new flow from a source no host sends from
// (martianSrc4, martianSrc6), which the forward nodes would drop but
// only after this node had translated it.
const (
	natDropInvalid   = uint16(nat.NumReasons - 1)
	natDropNoBackend = uint16(nat.ReasonNoBackend - 1)
	natDropMartian   = natDropRejectLimited + 1
)

func natSpec(s *Switch) pipeline.NodeSpec {
	drops := make([]string, 0, nat.NumReasons)
	for r := 1; r < nat.NumReasons; r++ {
		drops = append(drops, "nat-"+nat.Reason(r).String())
	}
	return pipeline.NodeSpec{
		Name:  nodeNAT,
		Next:  []string{nodeIP4Forward, nodeIP6Forward},
		Drops: append(drops, "ct-invalid", "nat-reject-rate-limited", "martian-source"),
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &natNode{s: s, wid: ctx.Worker}
		},
	}
}

// What the nat node did with a packet (for traces).
const (
	natSkip uint8 = iota
	natPassed
	natTranslated
	natUntracked
	natDropped
	natOff
	natRejected // refused for want of a backend, answered (node_nat_reject.go)
)

type natNode struct {
	s   *Switch
	wid int
	lim proto.Limiter // the answers to refused flows (reject)
	how [pipeline.VectorSize]uint8
	act [pipeline.VectorSize]nat.Action // set when how is natTranslated
	// Per tracked packet.
	ps  [pipeline.VectorSize]conntrack.Packet
	res [pipeline.VectorSize]conntrack.Result
	at  [pipeline.VectorSize]uint16 // vector slot of ps[k]
	hdr [192]byte                   // a chained frame's first bytes, its length field cleared
	// ParseBatch's input: IP header (nil: a chained frame, parsed after
	// the batch from its headers copied into hdr), zone.
	ips   [pipeline.VectorSize][]byte
	zones [pipeline.VectorSize]uint16
}

func (n *natNode) Process(f *pipeline.Frame) {
	ids := f.IDs
	next := f.Next[:len(ids)]
	meta, mem := f.Pool.Arrays()
	st := n.s.nat.Load()
	if st == nil { // NAT went away while these were in flight
		for i, id := range ids {
			next[i], n.how[i] = natNextIP4, natOff
			if m := &meta[id]; m.Len >= ethHdrLen {
				next[i] = natNextOf(pipeline.PacketAt(mem, id, m))
			}
		}
		return
	}
	t := n.s.tables.Load()
	// Pass 1: the next node by EtherType; the IP packets' headers and
	// zones, parsed in one call (conntrack.ParseBatch).
	k, chained := 0, false
	for i, id := range ids {
		m := &meta[id]
		next[i], n.how[i] = natNextIP4, natSkip
		m.Conn = 0 // set to the NAT flow below: sg-policy reads it (natSide)
		if m.Len < ethHdrLen {
			continue
		}
		pkt := pipeline.PacketAt(mem, id, m)
		next[i] = natNextOf(pkt)
		if m.Len < ethHdrLen+20 || int(m.Iface) >= len(t.ifaces) {
			continue // forward nodes drop what is not routable
		}
		if m.Flags&flagLocal != 0 && !builtError(pkt[ethHdrLen:]) {
			continue
		}
		j := k & (pipeline.VectorSize - 1)
		n.ips[j], n.zones[j] = pkt[ethHdrLen:], t.ifaces[m.Iface].vrf
		if m.Next != 0 {
			n.ips[j], chained = nil, true
		}
		n.at[j] = uint16(i)
		k++
	}
	if k == 0 {
		return
	}
	conntrack.ParseBatch(n.ps[:k], n.ips[:k], n.zones[:k])
	if chained { // one by one: each copies its headers into n.hdr
		for j := range k {
			if id := ids[n.at[j]]; meta[id].Next != 0 {
				conntrack.Parse(&n.ps[j], n.headers(pipeline.PacketAt(mem, id, &meta[id])[ethHdrLen:]), n.zones[j])
			}
		}
	}
	now := n.s.now.Load()
	cw, w := st.cws[n.wid], st.ws[n.wid]
	cw.TrackBatch(n.ps[:k], n.res[:k], now)
	// New flows: the buckets of the reply keys their commits will try,
	// touched all at once (nothing when no packet missed).
	w.PrepareCommits(cw, n.ps[:k], n.res[:k])
	committed := false
	// Pass 2: commit new flows, translate.
	for j, r := range n.res[:k] {
		i := int(n.at[j])
		id := ids[i]
		m := &meta[id]
		p := &n.ps[j]
		switch r.State {
		case conntrack.StateNew, conntrack.StateEstablished, conntrack.StateRelated:
			if r.State == conntrack.StateNew && r.Conn == 0 {
				if m.Flags&flagLocal != 0 { // never: an error is related or invalid
					n.how[i] = natPassed
					continue
				}
				if natMartian(&t.ifaces[m.Iface], pipeline.PacketAt(mem, id, m)[ethHdrLen:]) {
					n.how[i] = natDropped
					f.Drop(i, natDropMartian)
					continue
				}
				var why nat.Reason
				r, _, why = w.Commit(cw, p, now, 0)
				committed = true
				if why == nat.ReasonNoBackend && n.reject(f, i, id, m, mem, p) {
					n.how[i] = natRejected // answered (or rate limited)
					continue
				}
				if why != nat.ReasonNone {
					n.drop(f, i, why)
					continue
				}
			}
			ip := pipeline.PacketAt(mem, id, m)[ethHdrLen:]
			act, why := w.Translate(ip, p, r, m.Offload&pipeline.OffloadCsumPartial != 0)
			if why != nat.ReasonNone {
				n.drop(f, i, why)
				continue
			}
			n.how[i], m.Conn = natPassed, r.Conn
			if act != 0 {
				n.how[i], n.act[i] = natTranslated, act
			}
		case conntrack.StateUntracked:
			n.how[i] = natUntracked
			if p.Reason == conntrack.ReasonFragment && m.Flags&flagLocal == 0 && w.Wants(p) {
				n.drop(f, i, nat.ReasonFragment)
			}
		default:
			n.how[i] = natPassed
			if m.Flags&flagLocal == 0 && w.Wants(p) {
				n.how[i] = natDropped
				f.Drop(i, natDropInvalid)
			}
		}
	}
	w.Publish()
	if committed {
		cw.Publish() // TrackBatch published before the commits
	}
}

func (n *natNode) drop(f *pipeline.Frame, i int, why nat.Reason) {
	n.how[i] = natDropped
	f.Drop(i, uint16(why)-1)
}

// headers returns a copy of a chained frame's first bytes with the IP
// length field cleared (chainHeaders).
func (n *natNode) headers(ip []byte) []byte { return chainHeaders(&n.hdr, ip) }

// builtError reports whether ip, the IP header of a packet the switch
// built (flagLocal), is one of the ICMP or ICMPv6 errors of
// ip4-icmp-error and ip6-icmp-error (which write no IPv4 options and no
// IPv6 extension headers) rather than an echo reply or a DNS answer.
func builtError(ip []byte) bool {
	switch {
	case len(ip) > 20 && ip[0] == 0x45 && ip[9] == proto.ProtoICMP:
		t := ip[20]
		return t == proto.ICMP4DestUnreach || t == proto.ICMP4TimeExceeded || t == proto.ICMP4ParamProblem
	case len(ip) > 40 && ip[0]>>4 == 6 && ip[6] == proto.ProtoICMPv6:
		return ip[40] < 128 // ICMPv6 errors are types 0-127
	}
	return false
}

// natNextOf is the forward node a frame (at least an Ethernet header)
// goes to after nat, by its EtherType.
func natNextOf(pkt []byte) uint16 {
	if pkt[12] == 0x86 && pkt[13] == 0xdd {
		return natNextIP6
	}
	return natNextIP4
}

// natMartian reports whether the IP packet ip, starting a flow from
// interface in, has a source no host sends from (martianSrc4,
// martianSrc6): masqueraded, it would leave with the uplink's address,
// and the reply come back to a forged 127.0.0.1 or gateway address.
func natMartian(in *ifaceEntry, ip []byte) bool {
	if ip[0]>>4 == 4 {
		return martianSrc4(in, binary.BigEndian.Uint32(ip[12:16]))
	}
	return len(ip) >= 40 && martianSrc6(in, nbrAddr{binary.BigEndian.Uint64(ip[8:16]), binary.BigEndian.Uint64(ip[16:24])})
}
