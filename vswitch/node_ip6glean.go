package vswitch

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// ip6-glean is ip4-glean for IPv6: it multicasts a neighbor solicitation
// for the next hop (the gateway of adjacency Meta.Aux, or the packet's
// destination) to its solicited-node address, at most once per next hop
// per resolveInterval per worker and within the per-interface limit
// (gleanLimiter; held back: rate-limited), and drops the packet (counted).
func ip6GleanSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP6Glean,
		Next:  []string{nodeL2Flood},
		Drops: gleanDrops,
		New:   func(pipeline.NodeContext) pipeline.Node { return &ip6Glean{s: s} },
	}
}

type ip6Glean struct {
	s      *Switch
	recent resolveCache
	probes probeList
	limit  gleanLimiter
}

func (n *ip6Glean) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	pool := f.Pool
	now := n.s.opts.Clock().UnixNano() // the switch's clock: a test's fake one decides
	sec := n.s.now.Load()
	for i, id := range f.IDs {
		m := pool.Meta(id)
		n.probes.take(f, i, m)
		if int(m.Iface) >= len(t.ifaces) || int(m.Aux) >= len(t.adjs) {
			continue
		}
		var target nbrAddr
		if a := &t.adjs[m.Aux]; a.kind == adjGateway {
			target = a.via
		} else {
			target.hi, target.lo = proto.Dst6(pool.Packet(id)[ethHdrLen:])
		}
		if !n.recent.due(nbrKey{m.Iface, target}, now) {
			continue
		}
		if !n.limit.allow(m.Iface, now) {
			f.CountDrop(gleanDropRateLimited, 1)
			continue
		}
		out := &t.ifaces[m.Iface]
		src, ok := out.src6(target)
		if !ok {
			f.CountDrop(gleanDropNoSource, 1)
			continue
		}
		b, frame, ok := newLocalFrame(pool)
		if !ok {
			f.CountDrop(gleanDropNoBuffer, 1)
			continue
		}
		bm := pool.Meta(b)
		bm.Len = uint16(proto.BuildNS(frame, out.mac, src.hi, src.lo, target.hi, target.lo))
		bm.Domain, bm.VLAN, bm.InPort, bm.Iface = out.domain, out.vlan, routerPort, m.Iface
		n.s.nbr.ask(m.Iface, target, sec)
		f.Emit(gleanNextFlood, b)
	}
	n.probes.free(f.Pool)
}
