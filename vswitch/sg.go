package vswitch

import (
	"encoding/binary"
	"fmt"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/policy/acl"
	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// Security groups, control side: Config.SecurityGroups is compiled with
// the attached ports' indexes into an acl.Classifier and published, with
// per-worker rule counters, as one immutable sgTables (an atomic pointer
// the sg-policy node and the nodes that feed it load once per vector).
// The connection tracker is made the first time a group has a port, and
// kept.

// DefaultConntrackCapacity is Options.ConntrackCapacity's default: flows
// tracked for ports in security groups (128 bytes each plus 21-43 bytes of
// buckets: about 40 MiB).
const DefaultConntrackCapacity = 1 << 18

// sgTables is one published security-group configuration.
type sgTables struct {
	cls *acl.Classifier
	// filtered[p]: port index p is in a group. Traffic between two
	// unfiltered ports never reaches sg-policy.
	filtered [pipeline.MaxPorts]bool
	ws       []sgWorker // by worker
}

// sgWorker is one worker's counters for a classifier, and its list of
// the counter indexes it touched in the current vector (published at the
// vector's end).
type sgWorker struct {
	counters *acl.Counters
	stamp    []uint32 // by counter index: the vector that last touched it
	touched  []int32
	vec      uint32
}

// count charges a packet to counter index i.
func (w *sgWorker) count(i int32, bytes int) {
	if i < 0 {
		return
	}
	w.counters.Count(i, bytes)
	if w.stamp[i] != w.vec {
		w.stamp[i] = w.vec
		w.touched = append(w.touched, i)
	}
}

// publish makes the vector's counts visible and starts the next vector.
func (w *sgWorker) publish() {
	for _, i := range w.touched {
		w.counters.PublishIndex(i)
	}
	w.touched = w.touched[:0]
	w.vec++
	if w.vec == 0 {
		clear(w.stamp)
		w.vec = 1
	}
}

// ctState is the connection tracker and its per-worker handles.
type ctState struct {
	tab *conntrack.Table
	ws  []*conntrack.Worker
}

// filtering reports whether traffic from port src to port dst goes
// through sg-policy.
func (p *sgTables) filtering(src, dst uint16) bool {
	return p != nil && (p.filtered[src&(pipeline.MaxPorts-1)] || p.filtered[dst&(pipeline.MaxPorts-1)])
}

// compileSG builds the security-group tables for cfg and the attached
// ports (nil when no group has an attached port), and a signature of
// what it compiled (same signature: same policy, no flow to revalidate).
// It makes the connection tracker if it is needed and missing. Caller
// holds s.mu.
func (s *Switch) compileSG(cfg *Config, idx map[string]attachedPort) (*sgTables, string, error) {
	port := func(name string) (uint16, bool) {
		a, ok := idx[name]
		return a.idx, ok
	}
	m, err := sgModel(cfg.SecurityGroups, port)
	if err != nil {
		return nil, "", err
	}
	used := false
	for _, g := range m.Groups {
		used = used || len(g.Ports) > 0
	}
	if !used {
		return nil, "", nil
	}
	sig := fmt.Sprint(m)
	cur := s.sg.Load()
	if cur != nil && sig == s.sgSig {
		return cur, sig, nil
	}
	cls, err := acl.Compile(m)
	if err != nil {
		return nil, "", &SGError{Err: err}
	}
	if s.ct.Load() == nil {
		tab, err := conntrack.New(conntrack.Config{Capacity: s.opts.ConntrackCapacity, TCPLoose: true})
		if err != nil {
			return nil, "", fmt.Errorf("vswitch: connection tracker: %w", err)
		}
		cs := &ctState{tab: tab}
		for range s.workers {
			cs.ws = append(cs.ws, tab.NewWorker())
		}
		s.ct.Store(cs)
	}
	p := &sgTables{cls: cls, ws: make([]sgWorker, len(s.workers))}
	for _, g := range m.Groups {
		for _, i := range g.Ports {
			p.filtered[i] = true
		}
	}
	for w := range p.ws {
		var prev *acl.Counters
		if cur != nil {
			prev = cur.ws[w].counters
		}
		p.ws[w] = sgWorker{counters: cls.NewCounters(prev), stamp: make([]uint32, cls.Rules()),
			touched: make([]int32, 0, 2*pipeline.VectorSize), vec: 1}
	}
	return p, sig, nil
}

// publishSG publishes p (before the caller's Quiesce of the workers).
func (s *Switch) publishSG(p *sgTables, sig string) (changed bool) {
	changed = p != s.sg.Load()
	s.sg.Store(p)
	s.sgSig = sig
	return changed
}

// revalidateSG deletes the tracked flows that the published policy no
// longer allows: each flow's original key is classified again for its
// ports (the conntrack mark holds them), so a rule removed, a deny added
// or a port taken out of a group stops the flows it let through, and only
// those. Caller holds s.mu and has quiesced the workers after publishing,
// so no packet is still being classified with the old policy.
func (s *Switch) revalidateSG() int {
	ct := s.ct.Load()
	if ct == nil {
		return 0
	}
	p := s.sg.Load()
	return ct.tab.Flush(func(f *conntrack.Flow) bool {
		if p == nil {
			return true // no policy: nothing to keep flows for
		}
		var k acl.Key
		aclKey(&f.Orig, &k)
		src, dst := uint16(f.Mark>>16), uint16(f.Mark)
		v, _ := p.cls.Lookup(acl.Egress, src, &k)
		if !v.Allowed() {
			return true
		}
		v, _ = p.cls.Lookup(acl.Ingress, dst, &k)
		return !v.Allowed()
	})
}

// flowMark packs a flow's ports into its conntrack mark: the port it came
// from (egress) and the port it goes to (ingress), in its original
// direction.
func flowMark(src, dst uint16) uint32 { return uint32(src)<<16 | uint32(dst) }

// aclKey fills an ACL key from a conntrack key (no allocation).
func aclKey(c *conntrack.Key, k *acl.Key) {
	k.IPv6 = c.IPv6()
	k.Proto = c.Proto
	if k.IPv6 {
		binary.BigEndian.PutUint64(k.Src[:8], c.Src.Hi)
		binary.BigEndian.PutUint64(k.Src[8:], c.Src.Lo)
		binary.BigEndian.PutUint64(k.Dst[:8], c.Dst.Hi)
		binary.BigEndian.PutUint64(k.Dst[8:], c.Dst.Lo)
	} else {
		binary.BigEndian.PutUint32(k.Src[:4], uint32(c.Src.Lo))
		binary.BigEndian.PutUint32(k.Dst[:4], uint32(c.Dst.Lo))
	}
	if c.Proto == acl.ProtoICMP && !k.IPv6 || c.Proto == acl.ProtoICMPv6 && k.IPv6 {
		k.SetICMP(uint8(c.DstPort>>8), uint8(c.DstPort)) // conntrack: type<<8 | code
		return
	}
	k.SrcPort, k.DstPort = c.SrcPort, c.DstPort
}

// SGRuleCount is one rule's counters (or a default deny's: Rule is
// acl.DefaultDenyName, Group the groups of its ports joined by ",").
type SGRuleCount struct {
	Group     string `json:"group"`
	Rule      string `json:"rule"`
	Direction string `json:"direction"`
	Action    string `json:"action"`
	Priority  int32  `json:"priority,omitempty"`
	Default   bool   `json:"default,omitempty"`
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"`
}

// SGStats are the security groups' counters.
type SGStats struct {
	// Rules are every rule's counters: the packets the classifier
	// decided (each new flow's first packet, charged to the allowing
	// rule of each side, and every denied packet, charged to the denying
	// rule or default deny). Packets of established flows pass on their
	// conntrack entry and are not charged to a rule.
	Rules []SGRuleCount `json:"rules"`
	// Flows is the number of tracked flows, Capacity the most there may be.
	Flows    int `json:"flows"`
	Capacity int `json:"capacity"`
	// Conntrack are the tracker's counters.
	Conntrack conntrack.Counters `json:"conntrack"`
}

// SGStats returns the rule counters and the tracker's state. A kept
// rule's counts made under an earlier configuration are included whether
// or not the worker has switched to the new one (acl.Counters).
func (s *Switch) SGStats() SGStats {
	var out SGStats
	if ct := s.ct.Load(); ct != nil {
		out.Flows, out.Capacity, out.Conntrack = ct.tab.Len(), ct.tab.Capacity(), ct.tab.Counters()
	}
	p := s.sg.Load()
	if p == nil {
		return out
	}
	ks := make([]*acl.Counters, len(p.ws))
	for i := range p.ws {
		ks[i] = p.ws[i].counters
	}
	for _, r := range p.cls.Snapshot(ks...) {
		out.Rules = append(out.Rules, SGRuleCount{Group: r.Group, Rule: r.Rule, Direction: r.Direction.String(),
			Action: r.Action.String(), Priority: r.Priority, Default: r.Default, Packets: r.Packets, Bytes: r.Bytes})
	}
	return out
}

// FlushFlows deletes every tracked flow (established connections through
// ports in groups must start again); it returns how many.
func (s *Switch) FlushFlows() int {
	if ct := s.ct.Load(); ct != nil {
		return ct.tab.Flush(nil)
	}
	return 0
}

// expireFlows sweeps part of the flow table for idle flows; the learner
// loop calls it about once a second.
func (s *Switch) expireFlows() {
	ct := s.ct.Load()
	if ct == nil {
		return
	}
	s.ctNext, _ = ct.tab.Expire(s.now.Load(), s.ctNext, 1<<16)
}
