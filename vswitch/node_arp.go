package vswitch

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// arp-input takes the ARP frames of domains with a router interface
// (broadcast requests, which l2-flood also hands the router, and replies to
// the interface's MAC). It answers requests for the interface's addresses
// in place and learns the sender's MAC as a neighbor when the sender is on
// the interface's subnets and either asked for us (a request to us, a
// reply to our request) or is known already (gratuitous ARP updates an
// entry, never creates one). New and changed neighbors go to the neighbor
// manager as events; a confirmation only refreshes the entry's time.
//
// A packet whose sender MAC can never be a neighbor's (broadcast,
// multicast, zero, a router interface's: badSenderMAC) is dropped as
// bad-sender-mac, and one whose sender address can never be (martian, the
// interface's own, a subnet's network or broadcast address: badSender4)
// as bad-sender-address: neither is learned nor answered (Linux answers
// no request from a martian or local source either). A sender learned
// from a packet the switch did not ask for is stale (evicted first when
// the table is full); a reply from a neighbor the glean node asked for
// makes or confirms it reachable (neighbors).
//
// A proxy-ARP interface (Interface.ProxyARP, a routed container port)
// answers requests for any address but the sender's own with its MAC, and
// learns every sender that asks: the container behind it has a /32 and a
// default route via a link-local gateway, so everything it sends comes to
// the interface.
const arpNextOutput = 0

const (
	arpDropNoIface = uint16(proto.NumReasons) + iota
	arpDropConsumed
	arpDropBadMAC
	arpDropBadSender
)

func arpInputSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeARPInput,
		Next:  []string{nodeL2Output},
		Drops: checkDrops("no-interface", "consumed", "bad-sender-mac", "bad-sender-address"),
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &arpInput{s: s, ring: s.nbr.rings[ctx.Worker]}
		},
	}
}

type arpInput struct {
	s    *Switch
	ring *eventRing[nbrEvent]
}

func (n *arpInput) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	nbr := n.s.nbr
	nix, slab := nbr.view()
	rmacs := *nbr.rmacs.Load()
	now := n.s.now.Load()
	meta, mem := f.Pool.Arrays()
	for i, id := range f.IDs {
		m := &meta[id]
		pkt := pipeline.PacketAt(mem, id, m)
		if len(pkt) < ethHdrLen {
			f.Drop(i, uint16(proto.Runt))
			continue
		}
		arp := pkt[ethHdrLen:]
		if r := proto.CheckARP(arp); r != proto.OK {
			f.Drop(i, uint16(r))
			continue
		}
		if int(m.Iface) >= len(t.ifaces) || !t.ifaces[m.Iface].valid {
			f.Drop(i, arpDropNoIface)
			continue
		}
		in := &t.ifaces[m.Iface]
		spa, tpa := proto.ARPSenderIP(arp), proto.ARPTargetIP(arp)
		sha := mac48(arp[8:14])
		if badSenderMAC(sha, rmacs) {
			f.Drop(i, arpDropBadMAC)
			continue
		}
		if spa != 0 && badSender4(in, spa) {
			f.Drop(i, arpDropBadSender)
			continue
		}
		forUs := in.has4(tpa) || in.proxyAnswers(spa, tpa)
		op := proto.ARPOp(arp)
		if spa != 0 && (in.onLink4(spa) || in.proxy) {
			key := v4Key(spa)
			solicited := op == 2 && forUs && nbr.wasAsked(m.Iface, key, now)
			e := nix.find(slab, m.Iface, key)
			switch {
			case e != nil && e.mac.Load() == sha:
				e.seen.Store(now)
				if solicited && e.state.Load() == nbrStale {
					n.ring.push(nbrEvent{m.Iface, key, sha, true})
				}
			case e != nil || forUs:
				n.ring.push(nbrEvent{m.Iface, key, sha, solicited})
			}
		}
		if op != 1 || !forUs {
			f.Drop(i, arpDropConsumed)
			continue
		}
		proto.ARPReplyInPlace(arp, in.mac)
		copy(pkt[0:6], pkt[6:12])
		copy(pkt[6:12], in.mac[:])
		m.OutPort, m.InPort = m.InPort, routerPort
		f.Next[i] = arpNextOutput
	}
	n.ring.publish()
}
