package vswitch

import (
	"math/bits"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/policy/acl"
	"github.com/vecswitch/vecswitch/policy/conntrack"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// sg-policy is the stateful security-group filter. It sits in front of
// l2-output, where both ends of a packet are known: the port it came from
// (Meta.InPort, or for a routed packet the port it entered the router by,
// which routedOut keeps in Meta.Aux) and the port it goes to
// (Meta.OutPort). l2-fwd (known unicast), l2-flood (each copy of an IP
// frame), ip4-forward and ip6-forward (routed packets, through routedOut)
// send a packet here only when one of the two ports is in a security
// group (sgTables.filtering), so traffic between unfiltered ports costs a
// pointer load per vector and two byte loads per packet, and no
// conntrack.
//
// For each IP packet of the vector it parses the headers
// (conntrack.ParseBatch) and notes the mark its flow must have, tracks the
// vector at once (TrackBatch), has the memory its new flows' commits will
// read fetched at once (PrepareCommits), then, checking the common case
// first:
//
//   - established or new flow with an entry whose mark (the ports the flow
//     was admitted between) fits this packet's ports in its direction:
//     passes, and is staged for tx here when l2-output would do nothing
//     else with it (plainOutput, as l2-fwd does for unfiltered known
//     unicast): the common packet skips a node;
//   - related (an ICMP error quoting a tracked flow and addressed to
//     the quoted packet's sender; conntrack finds one addressed elsewhere
//     invalid): passes if it crosses the ports the flow was admitted
//     between, back the way the flow came (the established case's mark
//     check, turned for the error's direction); else dropped
//     (sg-related-mismatch), not classified: its key is the quoted
//     flow's, which no rule about the error itself could match. Its
//     source address may be anyone's (a router between the two ends
//     reports a TTL or an MTU), its ports may not: a port's error about
//     another port's flow, or a flooded copy to a port that is not the
//     flow's, does not pass on the flow;
//   - a packet that starts a flow: classified for egress of its source
//     port and ingress of its destination port; allowed by both, it is
//     committed (mark: the two ports) and passes; else dropped, charged
//     to the deciding rule (sg-deny) or default deny (sg-default-deny);
//   - a packet of a flow admitted between other ports (a flooded copy, a
//     MAC that moved) and a non-first fragment whose first fragment
//     conntrack did not see (the others it tracks with their flow):
//     classified as a new flow would be, but not committed;
//   - untracked ICMPv6: neighbour solicitations and advertisements,
//     router solicitations and MLD pass, as ARP does: address resolution
//     must work whatever the rules, and what a port claims in them is
//     not a group's to check. An advertisement goes to whoever solicited
//     it, or unsolicited to all nodes (an address that moved or changed
//     its MAC), and telling the needed ones from the others would take
//     per-solicitation state, for no gain while ARP, which does the same
//     for IPv4, is not filtered: all pass. Router
//     advertisements and redirects are needed by no one who did not
//     choose their sender, and they change the receiver's addresses and
//     routes: they are classified as new traffic would be (ICMPv6 with
//     their type and code, not committed), so a group with no rule
//     allowing them drops them (sg-default-deny) and a rule (ingress,
//     proto=icmpv6 icmp=134, remote= the router) admits a real router's.
//     (The switch's own router sends none, and what it sends is not
//     filtered.)
//   - invalid (malformed, TCP without SYN and no flow, ICMP reply or
//     error with no flow, an ICMP error not addressed to the sender of
//     the packet it quotes, a segment the TCP state forbids): dropped
//     (ct-invalid; traces name conntrack's reason).
//
// If the flow table is full and Commit cannot evict, an allowed packet
// still passes (counted as ct-not-committed) and its replies, finding no
// flow, are classified as new flows in their own direction: a full table
// never lets through what policy denies.
//
// Packets the switch itself sends (Meta.Flags flagLocal: echo replies,
// ICMP errors, neighbour discovery) and non-IP frames are not filtered.
const nodeSGPolicy = "sg-policy"

const sgNextOutput = 0

const (
	sgDropDeny = iota
	sgDropDefault
	sgDropInvalid
	sgDropRelated
)

// What sg-policy did with a packet (for traces).
const (
	sgSkip uint8 = iota
	sgNotIP
	sgEstablished
	sgRelated
	sgUntracked
	sgCommitted
	sgNotCommitted
	sgAllowed // classified, not committed (a flow of other ports, a fragment)
	sgDenied
	sgInvalid
	sgNoPolicy
	sgRelatedMismatch // an error about a flow of other ports: dropped
	sgRouterMsg       // a router advertisement or redirect, classified and allowed
)

func sgPolicySpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeSGPolicy,
		Next:  []string{nodeL2Output},
		Drops: []string{"sg-deny", "sg-default-deny", "ct-invalid", "sg-related-mismatch"},
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &sgPolicy{s: s, wid: ctx.Worker}
		},
	}
}

type sgPolicy struct {
	s   *Switch
	wid int
	cur *sgTables // the tables whose counters this worker adopted
	// Per packet slot of the vector. rule and egr are set only for a
	// classified packet, ct only for a tracked one (Describe reads what
	// how says is there).
	src  [pipeline.VectorSize]uint16 // source port (egress side)
	how  [pipeline.VectorSize]uint8
	rule [pipeline.VectorSize]int32 // counter index that decided, for traces
	egr  [pipeline.VectorSize]int32 // the egress rule, when ingress decided
	ct   [pipeline.VectorSize]conntrack.State
	why  [pipeline.VectorSize]conntrack.Reason // set when how is sgInvalid
	// Per tracked packet.
	ps   [pipeline.VectorSize]conntrack.Packet
	res  [pipeline.VectorSize]conntrack.Result
	at   [pipeline.VectorSize]uint16 // vector slot of ps[k]
	want [pipeline.VectorSize]uint32 // flowMark(source, destination port)
	// ParseBatch's input: IP header (nil: fixParse's), zone.
	ips   [pipeline.VectorSize][]byte
	zones [pipeline.VectorSize]uint16
	// hdr holds a chained frame's first bytes, its length field cleared.
	hdr [192]byte
}

func (n *sgPolicy) Process(f *pipeline.Frame) {
	ids := f.IDs
	next := f.Next[:len(ids)]
	pol := n.s.sg.Load()
	if pol == nil { // the policy went away while these were in flight
		for i := range next {
			next[i], n.how[i] = sgNextOutput, sgNoPolicy
		}
		return
	}
	if pol != n.cur {
		pol.ws[n.wid].counters.Adopt()
		n.cur = pol
	}
	ct := n.s.ct.Load()
	t := n.s.tables.Load()
	meta, mem := f.Pool.Arrays()
	// Pass 1: who is filtered; the IP packets' headers and zones, parsed
	// in one call (conntrack.ParseBatch: no call per packet here).
	k, fix := 0, false
	for i, id := range ids {
		m := &meta[id]
		next[i] = sgNextOutput
		src, dst := m.InPort, m.OutPort
		if src == routerPort {
			src = uint16(m.Aux)
		}
		n.src[i] = src
		if m.Flags&flagLocal != 0 || !pol.filtering(src, dst) {
			n.how[i] = sgSkip
			continue
		}
		pkt := pipeline.PacketAt(mem, id, m)
		if len(pkt) < ethHdrLen {
			n.how[i] = sgNotIP
			continue
		}
		if et := uint16(pkt[12])<<8 | uint16(pkt[13]); et != etherTypeIPv4 && et != etherTypeIPv6 {
			n.how[i] = sgNotIP
			continue
		}
		j := k & (pipeline.VectorSize - 1)
		n.ips[j], n.zones[j] = pkt[ethHdrLen:], m.Domain
		if m.Next != 0 || m.InPort == routerPort {
			n.ips[j], fix = nil, true // parsed after the batch (sgPolicy.fixParse)
		}
		n.at[j] = uint16(i)
		n.want[j] = flowMark(src, dst)
		k++
	}
	if k == 0 {
		return
	}
	conntrack.ParseBatch(n.ps[:k], n.ips[:k], n.zones[:k])
	if fix {
		n.fixParse(f, k, t)
	}
	now := n.s.now.Load()
	cw := ct.ws[n.wid]
	cw.TrackBatch(n.ps[:k], n.res[:k], now)
	// New flows: their reply keys' buckets, which Commit reads, touched
	// all at once (nothing when no packet missed).
	cw.PrepareCommits(n.ps[:k], n.res[:k])
	w := &pol.ws[n.wid]
	committed := false
	fuse := !n.s.lrn.unfused.Load()
	// Pass 2: decide. The common case first: a packet of a flow admitted
	// between these two ports (its mark, turned for a reply) passes, and
	// if l2-output would only stage it for tx, it is staged here.
	for j, r := range n.res[:k] {
		i := int(n.at[j])
		id := ids[i]
		m := &meta[id]
		if r.Conn != 0 && (r.State == conntrack.StateEstablished || r.State == conntrack.StateNew) &&
			ct.tab.Mark(r.Conn) == bits.RotateLeft32(n.want[j], 16*int(r.Dir&1)) {
			m.Conn, n.how[i], n.ct[i] = r.Conn, sgEstablished, r.State
			if fuse && m.Flags&pipeline.FlagTraced == 0 && plainOutput(t, m.OutPort, m) {
				if !f.TxFast(m.OutPort, id) {
					f.Tx(m.OutPort, id)
				}
				next[i] = pipeline.NextTaken
			}
			continue
		}
		if n.decide(f, i, &n.ps[j], r, n.want[j], ct.tab, pol, w, cw, m, now) {
			committed = true
		}
	}
	w.publish()
	if committed {
		cw.Publish() // TrackBatch published before the commits
	}
}

// fixParse parses again, one by one, the few packets of the vector that
// ParseBatch could not take as they lie: a chained frame (its headers
// copied, one at a time, into n.hdr) and a routed packet (zone: its
// ingress interface's VRF, KeyRouted).
func (n *sgPolicy) fixParse(f *pipeline.Frame, k int, t *tables) {
	meta, mem := f.Pool.Arrays()
	for j := range k {
		id := f.IDs[n.at[j]]
		m := &meta[id]
		if m.Next == 0 && m.InPort != routerPort {
			continue
		}
		ip := pipeline.PacketAt(mem, id, m)[ethHdrLen:]
		if m.Next != 0 {
			ip = n.headers(ip)
		}
		p := &n.ps[j]
		if m.InPort == routerPort && int(m.Iface) < len(t.ifaces) {
			conntrack.Parse(p, ip, t.ifaces[m.Iface].vrf)
			p.Key.Flags |= conntrack.KeyRouted // VRF zones apart from L2 domain zones
			if m.Conn != 0 {
				if st := n.s.nat.Load(); st != nil {
					natSide(st.ct, m.Conn, &p.Key)
				}
			}
		} else {
			conntrack.Parse(p, ip, m.Domain)
		}
	}
}

// natSide turns k, the key of a routed packet as NAT left it, whose NAT
// flow (nat node: Meta.Conn) is conn, into the key of the packet as it
// is on its container's side: translated destination, untranslated
// source, as Linux's FORWARD chain sees a packet between DNAT in
// PREROUTING and SNAT in POSTROUTING. Both directions of a flow then have
// keys that are each other's reverse: a masqueraded container's egress
// rules see its own address and port as the source, a port map's
// connection meets the ingress rules at the container's port (80, not
// the host's 8080), and the replies find the flow the group admitted.
// The nat node translates before the route lookup, so sg-policy sees
// both directions translated: without this, the original direction's
// key was the translated one and the reply's the untranslated one, two
// tuples of no one flow, and every reply of a NATed flow was ct-invalid.
//
// A packet of the original direction was rewritten to the reply key
// reversed: its source becomes the original key's. One of the reply
// direction was rewritten to the original key reversed: its source
// becomes the reply key's (but for ICMP, whose identifier, SrcPort, is
// the container's on this side already). An ICMP error's key, the
// reverse of the packet it quotes, is turned the same way. A key that is
// neither (the flow went and its entry was reused) is left as it is.
func natSide(ct *conntrack.Table, conn uint32, k *conntrack.Key) {
	var o, r conntrack.Key
	if !ct.Keys(conn, &o, &r) {
		return
	}
	if rr := r.Reverse(); sameEnds(k, &rr) {
		k.Src, k.SrcPort = o.Src, o.SrcPort
		return
	}
	if ro := o.Reverse(); sameEnds(k, &ro) {
		k.Src = r.Src
		if !icmpKey(k) {
			k.SrcPort = r.SrcPort
		}
	}
}

// sameEnds reports whether a and b have the same addresses, ports and
// protocol (zones aside: NAT's are the ingress VRF's).
func sameEnds(a, b *conntrack.Key) bool {
	return a.Src == b.Src && a.Dst == b.Dst && a.SrcPort == b.SrcPort && a.DstPort == b.DstPort &&
		a.Proto == b.Proto && a.Flags&conntrack.KeyIPv6 == b.Flags&conntrack.KeyIPv6
}

// icmpKey reports whether k is an ICMP or ICMPv6 query's key (ports:
// identifier, type and code).
func icmpKey(k *conntrack.Key) bool {
	if k.Flags&conntrack.KeyIPv6 != 0 {
		return k.Proto == proto.ProtoICMPv6
	}
	return k.Proto == proto.ProtoICMP
}

// decide is Process's second pass for a packet that is not of a flow
// admitted between its two ports: it classifies, commits or drops packet
// i, whose parse is p, whose conntrack result (in table tab) is r and
// whose flow's mark would be want. It reports whether it committed a
// flow.
func (n *sgPolicy) decide(f *pipeline.Frame, i int, p *conntrack.Packet, r conntrack.Result, want uint32, tab *conntrack.Table, pol *sgTables, w *sgWorker, cw *conntrack.Worker, m *pipeline.Meta, now uint32) bool {
	src, dst := n.src[i], m.OutPort
	n.ct[i] = r.State
	switch r.State {
	case conntrack.StateNew, conntrack.StateEstablished:
		if r.Conn != 0 { // a flow admitted between other ports
			n.classify(f, i, pol, w, &p.Key, src, dst, m, sgAllowed)
			return false
		}
		if !n.classify(f, i, pol, w, &p.Key, src, dst, m, sgCommitted) {
			return false
		}
		c := cw.Commit(p, nil, now, flowMark(src, dst))
		m.Conn = c.Conn
		if c.Conn == 0 {
			n.how[i] = sgNotCommitted // conntrack counts it (CommitFailed)
		}
		return true
	case conntrack.StateRelated:
		// The error goes back the way the flow came: the ports of the
		// quoted packet's flow, turned for the error's direction, as
		// the established case checks them.
		if tab.Mark(r.Conn) != bits.RotateLeft32(want, 16*int(r.Dir&1)) {
			n.how[i] = sgRelatedMismatch
			f.Drop(i, sgDropRelated)
			return false
		}
		m.Conn, n.how[i] = r.Conn, sgRelated
	case conntrack.StateUntracked:
		switch {
		case p.Reason == conntrack.ReasonFragment:
			n.classify(f, i, pol, w, &p.Key, src, dst, m, sgAllowed)
		case routerMsg(&p.Key):
			n.classify(f, i, pol, w, &p.Key, src, dst, m, sgRouterMsg)
		default:
			n.how[i] = sgUntracked
		}
	default:
		n.how[i], n.why[i] = sgInvalid, r.Reason
		f.Drop(i, sgDropInvalid)
	}
	return false
}

// routerMsg reports whether k, an untracked ICMPv6 message's key
// (DstPort: type<<8 | code), is a router advertisement or a redirect.
func routerMsg(k *conntrack.Key) bool {
	t := uint8(k.DstPort >> 8)
	return k.Proto == proto.ProtoICMPv6 && (t == proto.ICMP6RouterAdvert || t == proto.ICMP6Redirect)
}

// classify decides packet i, whose flow key is key, by egress of its
// source port and ingress of its destination port, counts it, and drops
// it if denied. It reports whether the packet may pass; how is what to
// record then.
func (n *sgPolicy) classify(f *pipeline.Frame, i int, pol *sgTables, w *sgWorker, key *conntrack.Key, src, dst uint16, m *pipeline.Meta, how uint8) bool {
	var ak acl.Key
	aclKey(key, &ak)
	n.egr[i] = acl.NoRule
	v, r := pol.cls.Lookup(acl.Egress, src, &ak)
	if v.Allowed() {
		w.count(r, int(m.Len))
		n.egr[i] = r
		v, r = pol.cls.Lookup(acl.Ingress, dst, &ak)
	}
	w.count(r, int(m.Len))
	n.rule[i] = r
	if v.Allowed() {
		n.how[i] = how
		return true
	}
	n.how[i] = sgDenied
	if v == acl.VerdictDefaultDeny {
		f.Drop(i, sgDropDefault)
	} else {
		f.Drop(i, sgDropDeny)
	}
	return false
}

// headers returns a copy of a chained frame's first bytes with the IP
// length field cleared (chainHeaders).
func (n *sgPolicy) headers(ip []byte) []byte { return chainHeaders(&n.hdr, ip) }

// chainHeaders copies a chained frame's first bytes into buf with the IP
// length field cleared, which conntrack.Parse takes as "the whole
// buffer": the headers are all in the first buffer of a chain, the length
// is the chain's. sg-policy and nat use it.
func chainHeaders(buf *[192]byte, ip []byte) []byte {
	h := buf[:copy(buf[:], ip)]
	if len(h) >= 6 {
		switch h[0] >> 4 {
		case 4:
			h[2], h[3] = 0, 0
		case 6:
			h[4], h[5] = 0, 0
		}
	}
	return h
}
