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
// resolveInterval, and a per-worker limiter at most gleanBurst requests at
// once and gleanRate a second per interface (gleanLimiter): packets to
// many unresolved addresses (a scan of another connected /16) no longer
// make the switch a broadcast amplifier. A request the limiter holds back
// is counted as rate-limited. Each request sent is recorded (neighbors.ask)
// so that its answer makes a reachable entry.
const gleanNextFlood = 0

const (
	gleanDropUnresolved = iota
	gleanDropNoBuffer
	gleanDropNoSource
	gleanDropRateLimited
)

// gleanDrops are the glean nodes' drop reasons.
var gleanDrops = []string{"unresolved", "no-buffer", "no-source-address", "rate-limited"}

const resolveInterval = int64(250 * time.Millisecond)

// The glean nodes' request limit, per interface and worker: a burst of
// gleanBurst, then gleanRate a second.
const (
	gleanRate     = 500
	gleanBurst    = 100
	gleanInterval = int64(time.Second) / gleanRate
)

// gleanLimiter is a glean node's per-interface request limit (GCRA: tat is
// the theoretical arrival time of the next request, by the switch's clock,
// so a test's fake clock decides).
type gleanLimiter struct {
	tat [maxIfaces + 1]int64
}

// allow reports whether a request may go out on interface iface at now
// (nanoseconds), and takes it from the budget.
func (l *gleanLimiter) allow(iface uint16, now int64) bool {
	if int(iface) >= len(l.tat) {
		return false
	}
	t := &l.tat[iface]
	tat := max(*t, now)
	if tat-now > (gleanBurst-1)*gleanInterval {
		return false
	}
	*t = tat + gleanInterval
	return true
}

func ip4GleanSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP4Glean,
		Next:  []string{nodeL2Flood},
		Drops: gleanDrops,
		New:   func(pipeline.NodeContext) pipeline.Node { return &ip4Glean{s: s} },
	}
}

type ip4Glean struct {
	s      *Switch
	recent resolveCache
	probes probeList
	limit  gleanLimiter
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
	sec := n.s.now.Load()
	for i, id := range f.IDs {
		m := pool.Meta(id)
		target := m.Aux
		n.probes.take(f, i, m)
		if int(m.Iface) >= len(t.ifaces) || !n.recent.due(nbrKey{m.Iface, v4Key(target)}, now) {
			continue
		}
		if !n.limit.allow(m.Iface, now) {
			f.CountDrop(gleanDropRateLimited, 1)
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
		n.s.nbr.ask(m.Iface, v4Key(target), sec)
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
