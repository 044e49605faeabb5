package vswitch

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// ip6-local takes IPv6 packets for the switch itself: its addresses and
// link-scope multicast. It answers echo requests to any of its addresses in
// the ingress VRF, whichever interface they arrived by, as ip4-local does
// (through ip6-forward), and neighbor solicitations for the ingress
// interface's own addresses only (a solicited, override, router
// advertisement straight back to the solicitor's port), and learns
// neighbors from solicitations (the source link-layer option of a
// solicitor on the interface's subnets or link-local) and advertisements
// (target link-layer option, for targets on the interface's subnets that
// it is resolving or already knows). A proxy-ARP interface answers
// solicitations for any target but the solicitor's own (never duplicate
// address detection) and learns every solicitor. Other packets are counted
// and dropped.
//
// As in arp-input, a solicitation or advertisement whose link-layer
// option is no neighbor's MAC (badSenderMAC) is dropped as
// bad-sender-mac, and one whose solicitor or target can never be a
// neighbor (badSender6: ::, ::1, multicast, the interface's own, a
// subnet-router anycast address) as bad-sender-address. Neighbors learned
// from solicitations and from advertisements the switch did not ask for
// are stale; a solicited advertisement answering our own solicitation
// makes or confirms its target reachable.
const (
	local6NextForward = iota
	local6NextOutput
	local6NextDecap
	local6NextPunt
)

const (
	local6DropUnsupported = uint16(proto.NumReasons) + iota
	local6DropNotForUs
	local6DropConsumed
	local6DropNoBuffer
	local6DropBadMAC
	local6DropBadSender
)

func ip6LocalSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP6Local,
		Next:  []string{nodeIP6Forward, nodeL2Output, nodeVXLANDecap, nodeDNSPunt},
		Drops: checkDrops("unsupported", "not-for-us", "consumed", "no-buffer", "bad-sender-mac", "bad-sender-address"),
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &ip6Local{s: s, ring: s.nbr.rings[ctx.Worker]}
		},
	}
}

type ip6Local struct {
	s    *Switch
	ring *eventRing[nbrEvent]
	nd   proto.ND
}

func (n *ip6Local) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	nix, slab := n.s.nbr.view()
	rmacs := *n.s.nbr.rmacs.Load()
	now := n.s.now.Load()
	vt := t.vtep
	pool := f.Pool
	meta, mem := pool.Arrays()
	for i, id := range f.IDs {
		m := &meta[id]
		pkt := pipeline.PacketAt(mem, id, m)
		ip := pkt[ethHdrLen:]
		in := &t.ifaces[m.Iface] // checked by ip6-forward
		if nh := proto.NextHeader6(ip); nh == proto.ProtoUDP && vt != nil && vt.is6 && len(ip) >= proto.HeaderLen6+4 &&
			uint16(ip[42])<<8|uint16(ip[43]) == vt.port {
			f.Next[i] = local6NextDecap
			continue
		}
		if nh := proto.NextHeader6(ip); (nh == proto.ProtoUDP || nh == proto.ProtoTCP) && len(ip) >= proto.HeaderLen6+4 && uint16(ip[42])<<8|uint16(ip[43]) == dnsPort &&
			in.dns && m.Flags&flagLocal == 0 {
			f.Next[i] = local6NextPunt
			continue
		}
		if proto.NextHeader6(ip) != proto.ProtoICMPv6 {
			f.Drop(i, local6DropUnsupported)
			continue
		}
		if r := proto.CheckICMP6(ip); r != proto.OK {
			f.Drop(i, uint16(r))
			continue
		}
		dhi, dlo := proto.Dst6(ip)
		shi, slo := proto.Src6(ip)
		switch proto.ICMP6Type(ip) {
		case proto.ICMP6EchoRequest:
			if !ours6(t, in, nbrAddr{dhi, dlo}) {
				f.Drop(i, local6DropNotForUs)
				continue
			}
			proto.Echo6ReplyInPlace(ip, dhi, dlo)
			m.Flags = m.Flags&pipeline.FlagTraced | flagLocal
			f.Next[i] = local6NextForward
		case proto.ICMP6NeighborSolicit:
			if r := proto.ParseND(ip, &n.nd); r != proto.OK {
				f.Drop(i, uint16(r))
				continue
			}
			target := nbrAddr{n.nd.TargetHi, n.nd.TargetLo}
			src := nbrAddr{shi, slo}
			if !in.has6(target) && !in.proxyAnswers6(src, target) {
				f.Drop(i, local6DropNotForUs)
				continue
			}
			if n.nd.HasLLAddr && badSenderMAC(mac48(n.nd.LLAddr[:]), rmacs) {
				f.Drop(i, local6DropBadMAC)
				continue
			}
			unspec := proto.IsUnspecified6(shi, slo)
			if !unspec && badSender6(in, src) {
				f.Drop(i, local6DropBadSender)
				continue
			}
			if n.nd.HasLLAddr && !unspec && (in.onLink6(src) || in.proxy) {
				n.learn(nix, slab, m.Iface, src, mac48(n.nd.LLAddr[:]), true, false, now)
			}
			srcMAC := [6]byte(pkt[6:12])
			if n.nd.HasLLAddr {
				srcMAC = n.nd.LLAddr
			}
			b, frame, ok := newLocalFrame(pool)
			if !ok {
				f.Drop(i, local6DropNoBuffer)
				continue
			}
			bm := pool.Meta(b)
			*bm = *m
			bm.Off = pipeline.Headroom
			bm.Len = uint16(proto.BuildNAReply(frame, ip, in.mac, srcMAC, proto.NARouter|proto.NAOverride))
			bm.OutPort, bm.InPort = m.InPort, routerPort
			bm.Flags = flagLocal // a new packet: not part of the trace
			f.Emit(local6NextOutput, b)
			f.Drop(i, local6DropConsumed)
		case proto.ICMP6NeighborAdvert:
			if r := proto.ParseND(ip, &n.nd); r != proto.OK {
				f.Drop(i, uint16(r))
				continue
			}
			target := nbrAddr{n.nd.TargetHi, n.nd.TargetLo}
			if n.nd.HasLLAddr {
				if mac := mac48(n.nd.LLAddr[:]); badSenderMAC(mac, rmacs) {
					f.Drop(i, local6DropBadMAC)
					continue
				}
				if badSender6(in, target) {
					f.Drop(i, local6DropBadSender)
					continue
				}
			}
			if n.nd.HasLLAddr && (in.onLink6(target) || in.proxy) {
				solicited := n.nd.Flags&proto.NASolicited != 0
				n.learn(nix, slab, m.Iface, target, mac48(n.nd.LLAddr[:]), solicited,
					solicited && n.s.nbr.wasAsked(m.Iface, target, now), now)
			}
			f.Drop(i, local6DropConsumed)
		default:
			f.Drop(i, local6DropUnsupported)
		}
	}
	n.ring.publish()
}

// ours6 reports whether a is one of the switch's addresses for a packet
// that came in by in: one of in's own (its link-local ones included), or
// a unicast address the ingress VRF's FIB holds as local (another router
// interface's address in the same VRF). Link-local and multicast
// addresses are only ever the ingress interface's.
func ours6(t *tables, in *ifaceEntry, a nbrAddr) bool {
	if in.has6(a) {
		return true
	}
	if proto.IsMulticast6(a.hi, a.lo) || proto.IsLinkLocal6(a.hi, a.lo) {
		return false
	}
	ai := t.vrfs[in.vrf].fib6.Lookup(a.hi, a.lo) // as ip6-forward looked it up
	return int(ai) < len(t.adjs) && t.adjs[ai].kind == adjLocal
}

// learn records a neighbor's MAC: a known entry with the same MAC is only
// refreshed (and, when confirmed — the answer to our solicitation — made
// reachable if it was stale); a changed one, or a new one when create is
// set, becomes an event for the neighbor manager.
func (n *ip6Local) learn(nix *nbrIndex, slab []nbrEntry, iface uint16, a nbrAddr, mac uint64, create, confirmed bool, now uint32) {
	e := nix.find(slab, iface, a)
	switch {
	case e != nil && e.mac.Load() == mac:
		e.seen.Store(now)
		if confirmed && e.state.Load() == nbrStale {
			n.ring.push(nbrEvent{iface, a, mac, true})
		}
	case e != nil || create:
		n.ring.push(nbrEvent{iface, a, mac, confirmed})
	}
}
