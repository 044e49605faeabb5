package vswitch

import (
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// ip4-glean handles packets whose next hop has no ARP entry yet: it
// broadcasts an ARP request for the next hop (Meta.Aux) on the outgoing
// interface (Meta.Iface) and drops the packet, counted as unresolved. No
// packet is queued while resolving: the bound is zero, like VPP's glean;
// senders retransmit, and hosts that ARP for the gateway first (all of
// them) are learned from their own request before any reply is routed. A
// per-worker cache sends at most one request per next hop per
// resolveInterval.
const gleanNextFlood = 0

const (
	gleanDropUnresolved = iota
	gleanDropNoBuffer
	gleanDropNoSource
)

const resolveInterval = int64(250 * time.Millisecond)

func ip4GleanSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP4Glean,
		Next:  []string{nodeL2Flood},
		Drops: []string{"unresolved", "no-buffer", "no-source-address"},
		New:   func(pipeline.NodeContext) pipeline.Node { return &ip4Glean{s: s} },
	}
}

type ip4Glean struct {
	s      *Switch
	recent resolveCache
	probes probeList
}

// resolveCache remembers, direct-mapped, when a request for a next hop was
// last sent.
type resolveCache struct {
	key [256]nbrKey
	at  [256]int64
}

// due reports whether a request for k may go now, and records it.
func (c *resolveCache) due(k nbrKey, now int64) bool {
	i := nbrHash(k.iface, k.a) & 255
	if c.key[i] == k && now-c.at[i] < resolveInterval {
		return false
	}
	c.key[i], c.at[i] = k, now
	return true
}

func (n *ip4Glean) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	pool := f.Pool
	now := n.s.opts.Clock().UnixNano() // the switch's clock: a test's fake one decides
	for i, id := range f.IDs {
		m := pool.Meta(id)
		target := m.Aux
		n.probes.take(f, i, m)
		if int(m.Iface) >= len(t.ifaces) || !n.recent.due(nbrKey{m.Iface, v4Key(target)}, now) {
			continue
		}
		out := &t.ifaces[m.Iface]
		src := out.src4(target)
		if src == 0 {
			f.CountDrop(gleanDropNoSource, 1)
			continue
		}
		b, frame, ok := newLocalFrame(pool)
		if !ok {
			f.CountDrop(gleanDropNoBuffer, 1)
			continue
		}
		bm := pool.Meta(b)
		bm.Len = uint16(proto.BuildARPRequest(frame, out.mac, src, target))
		bm.Domain, bm.VLAN, bm.InPort, bm.Iface = out.domain, out.vlan, routerPort, m.Iface
		f.Emit(gleanNextFlood, b)
	}
	n.probes.free(f.Pool)
}

// probeList holds the refresh probes (flagProbe buffers) of a vector: they
// carry no packet, so they are freed after use, not counted as drops.
type probeList struct {
	ids [pipeline.VectorSize]pipeline.BufID
	n   int
}

// take marks packet i of f as handled: a probe is kept to be freed, a real
// packet is dropped as unresolved.
func (p *probeList) take(f *pipeline.Frame, i int, m *pipeline.Meta) {
	if m.Flags&flagProbe == 0 {
		f.Drop(i, gleanDropUnresolved)
		return
	}
	f.Next[i] = pipeline.NextTaken
	p.ids[p.n] = f.IDs[i]
	p.n++
}

func (p *probeList) free(pool *pipeline.Pool) {
	pool.FreeN(p.ids[:p.n])
	p.n = 0
}
