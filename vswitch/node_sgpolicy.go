package vswitch

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/policy/acl"
	"github.com/vecswitch/vecswitch/policy/conntrack"
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
// (conntrack.Parse), tracks the vector at once (TrackBatch), then:
//
//   - established or new flow with an entry whose mark (the ports the flow
//     was admitted between) fits this packet's ports in its direction:
//     passes;
//   - related (an ICMP error quoting a tracked flow): passes;
//   - a packet that starts a flow: classified for egress of its source
//     port and ingress of its destination port; allowed by both, it is
//     committed (mark: the two ports) and passes; else dropped, charged
//     to the deciding rule (sg-deny) or default deny (sg-default-deny);
//   - a packet of a flow admitted between other ports (a flooded copy, a
//     MAC that moved) and a non-first fragment: classified as a new flow
//     would be, but not committed;
//   - untracked ICMPv6 (neighbour discovery, MLD) passes;
//   - invalid (malformed, TCP without SYN and no flow, ICMP reply or
//     error with no flow, a segment the TCP state forbids): dropped
//     (ct-invalid).
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
)

func sgPolicySpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeSGPolicy,
		Next:  []string{nodeL2Output},
		Drops: []string{"sg-deny", "sg-default-deny", "ct-invalid"},
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &sgPolicy{s: s, wid: ctx.Worker}
		},
	}
}

type sgPolicy struct {
	s   *Switch
	wid int
	cur *sgTables // the tables whose counters this worker adopted
	// Per packet slot of the vector.
	src  [pipeline.VectorSize]uint16 // source port (egress side)
	how  [pipeline.VectorSize]uint8
	rule [pipeline.VectorSize]int32 // counter index that decided, for traces
	egr  [pipeline.VectorSize]int32 // the egress rule, when ingress decided
	ct   [pipeline.VectorSize]conntrack.State
	// Per tracked packet.
	ps  [pipeline.VectorSize]conntrack.Packet
	res [pipeline.VectorSize]conntrack.Result
	at  [pipeline.VectorSize]uint16 // vector slot of ps[k]
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
	// Pass 1: who is filtered, parse the IP packets.
	k := 0
	for i, id := range ids {
		m := &meta[id]
		next[i], n.rule[i], n.egr[i], n.ct[i] = sgNextOutput, acl.NoRule, acl.NoRule, 0
		src := m.InPort
		if src == routerPort {
			src = uint16(m.Aux)
		}
		n.src[i] = src
		if m.Flags&flagLocal != 0 || !pol.filtering(src, m.OutPort) {
			n.how[i] = sgSkip
			continue
		}
		pkt := pipeline.PacketAt(mem, id, m)
		if len(pkt) < ethHdrLen {
			n.how[i] = sgNotIP
			continue
		}
		et := uint16(pkt[12])<<8 | uint16(pkt[13])
		if et != etherTypeIPv4 && et != etherTypeIPv6 {
			n.how[i] = sgNotIP
			continue
		}
		ip := pkt[ethHdrLen:]
		if m.Next != 0 {
			ip = n.headers(ip)
		}
		zone, routed := m.Domain, m.InPort == routerPort && int(m.Iface) < len(t.ifaces)
		if routed {
			zone = t.ifaces[m.Iface].vrf
		}
		conntrack.Parse(&n.ps[k], ip, zone)
		if routed { // VRF zones apart from L2 domain zones
			n.ps[k].Key.Flags |= conntrack.KeyRouted
		}
		n.at[k] = uint16(i)
		k++
	}
	if k == 0 {
		return
	}
	now := n.s.now.Load()
	cw := ct.ws[n.wid]
	cw.TrackBatch(n.ps[:k], n.res[:k], now)
	w := &pol.ws[n.wid]
	committed := false
	// Pass 2: decide.
	for j := range k {
		i := int(n.at[j])
		m := &meta[ids[i]]
		p, r := &n.ps[j], &n.res[j]
		src, dst := n.src[i], m.OutPort
		n.ct[i] = r.State
		switch r.State {
		case conntrack.StateNew, conntrack.StateEstablished:
			if r.Conn != 0 {
				want := flowMark(src, dst)
				if r.Dir == conntrack.Reply {
					want = flowMark(dst, src)
				}
				if ct.tab.Mark(r.Conn) == want {
					m.Conn, n.how[i] = r.Conn, sgEstablished
					continue
				}
				n.classify(f, i, pol, w, &p.Key, src, dst, m, sgAllowed)
				continue
			}
			if !n.classify(f, i, pol, w, &p.Key, src, dst, m, sgCommitted) {
				continue
			}
			c := cw.Commit(p, nil, now, flowMark(src, dst))
			m.Conn, committed = c.Conn, true
			if c.Conn == 0 {
				n.how[i] = sgNotCommitted // conntrack counts it (CommitFailed)
			}
		case conntrack.StateRelated:
			m.Conn, n.how[i] = r.Conn, sgRelated
		case conntrack.StateUntracked:
			if p.Reason == conntrack.ReasonFragment {
				n.classify(f, i, pol, w, &p.Key, src, dst, m, sgAllowed)
				continue
			}
			n.how[i] = sgUntracked
		default:
			n.how[i] = sgInvalid
			f.Drop(i, sgDropInvalid)
		}
	}
	w.publish()
	if committed {
		cw.Publish() // TrackBatch published before the commits
	}
}

// classify decides packet i, whose flow key is key, by egress of its
// source port and ingress of its destination port, counts it, and drops
// it if denied. It reports whether the packet may pass; how is what to
// record then.
func (n *sgPolicy) classify(f *pipeline.Frame, i int, pol *sgTables, w *sgWorker, key *conntrack.Key, src, dst uint16, m *pipeline.Meta, how uint8) bool {
	var ak acl.Key
	aclKey(key, &ak)
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
