package nat

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/internal/csum"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// Action says what a translation does to a flow's packets, as seen in
// the original direction.
type Action uint8

const (
	// ActSNAT: the source is translated (masquerade, or a hairpin's
	// source changed to the network's gateway).
	ActSNAT Action = 1 << iota
	// ActDNAT: the destination is translated (a port mapping). A packet
	// whose destination changed must be routed after the translation.
	ActDNAT
	// ActHairpin: a container reached a mapped port (or a service
	// backend) of its own network: both are translated and the packet
	// goes back into the network.
	ActHairpin
	// ActLB: the flow is a service's (Table.SetService); ActDNAT is set
	// too, the destination being the backend Maglev chose.
	ActLB
)

// Worker is one worker goroutine's handle on a Table: its counters and
// random state. One goroutine uses a Worker at a time.
type Worker struct {
	t   *Table
	ct  *conntrack.Table
	rng uint64
	n   counts
	pub counters
	// keys is PrepareCommits's scratch: the reply keys it has touched.
	keys [conntrack.BatchSize]conntrack.Key
}

// NewWorker returns a handle for one worker goroutine whose flows live in
// conntrack table ct.
func (t *Table) NewWorker(ct *conntrack.Table) *Worker {
	w := &Worker{t: t, ct: ct}
	t.wmu.Lock()
	w.rng = 0x9e3779b97f4a7c15 * uint64(len(t.workers)+1)
	t.workers = append(t.workers, w)
	t.wmu.Unlock()
	return w
}

func (w *Worker) rand() uint64 { // xorshift64*
	w.rng ^= w.rng >> 12
	w.rng ^= w.rng << 25
	w.rng ^= w.rng >> 27
	return w.rng * 0x2545f4914f6cdd1d
}

func fam(k *conntrack.Key) int {
	if k.IPv6() {
		return 1
	}
	return 0
}

// Commit creates the flow of packet p, which conntrack answered StateNew
// with Conn 0 and policy allows, with its translation, and returns
// conntrack's result for it, what the translation does (0: none) and a
// Reason if the flow could not be created (the packet is dropped).
//
// A flow to a mapped host address and port (Table.AddMap) gets its
// destination translated to the map's target, and a TCP or UDP flow to
// a service (Table.SetService) to the backend its Maglev table gives for
// the hash of the flow's 5-tuple (ActLB|ActDNAT; ReasonNoBackend if no
// backend takes new flows); if it comes from the target's own network
// (a masqueraded network, or a subnet SetInternal names) it also gets
// its source translated to the network's gateway (hairpin) so the reply
// comes back through the switch. Otherwise a flow from a masqueraded network's sources to an
// address outside every network gets its source translated to the
// network's external address. A translated source keeps its port (or
// ICMP identifier) if the flow it makes is unique, else gets another
// from the Config range; the flow's reply key carries it, so conntrack
// finds replies and ICMP errors and the port is free again when the flow
// is gone. Other flows are committed as they are.
//
// Then Translate the packet. Commit loads the published Rules itself
// (one atomic load per new flow) and allocates nothing.
func (w *Worker) Commit(cw *conntrack.Worker, p *conntrack.Packet, now, mark uint32) (conntrack.Result, Action, Reason) {
	rs := w.t.rules.Load()
	if rs.fromSelf(p.Key.Src) {
		// Forged: the switch's own packets are never committed.
		w.n.reasons[ReasonSrcIsUplink]++
		return conntrack.Result{State: conntrack.StateNew}, 0, ReasonSrcIsUplink
	}
	rk, act, sv, b := rs.plan(p)
	if sv != nil && b < 0 {
		sv.st.noBackend.Add(1)
		w.n.reasons[ReasonNoBackend]++
		return conntrack.Result{State: conntrack.StateNew}, act, ReasonNoBackend
	}
	var bst *backendStat
	if act&ActLB != 0 {
		bst = sv.stats[b]
	}
	natOK := false
	switch p.Kind {
	case conntrack.KindTCP, conntrack.KindUDP, conntrack.KindICMPRequest:
		natOK = p.Key.Proto != protoSCTP
	case conntrack.KindOther:
		natOK = !p.Key.IPv6()
	}
	if act == 0 {
		res := cw.Commit(p, nil, now, mark)
		return res, 0, w.commitReason(res)
	}
	if !natOK {
		w.n.reasons[ReasonProto]++
		return conntrack.Result{State: conntrack.StateNew}, act, ReasonProto
	}
	var res conntrack.Result
	var r Reason
	if act&ActSNAT != 0 {
		res, r = w.allocate(cw, rs, p, &rk, now, mark)
	} else {
		res = cw.Commit(p, &rk, now, mark)
		r = w.commitReason(res)
	}
	if r == ReasonNone {
		switch {
		case act&ActLB != 0:
			w.n.lb++
			bst.flows.Add(1)
		case act&ActHairpin != 0:
			w.n.hairpin++
		case act&ActDNAT != 0:
			w.n.dnat++
		default:
			w.n.snat++
		}
	}
	return res, act, r
}

// plan is Commit's decision for the flow of p, with no side effect: what
// the translation does, the reply key Commit tries first (a masqueraded
// flow's own port; allocate may then pick another), and, for a flow to a
// service, the service and the backend Maglev picked (b < 0: none takes
// new flows; act is then ActLB|ActDNAT and Commit refuses the flow).
// PrepareCommits calls it ahead of Commit.
func (rs *Rules) plan(p *conntrack.Packet) (rk conntrack.Key, act Action, sv *compiledSvc, b int) {
	k := &p.Key
	f := fam(k)
	v6 := f == 1
	rk = k.Reverse()
	if p.Kind == conntrack.KindTCP || p.Kind == conntrack.KindUDP {
		tg, ok := rs.dnat(k.Proto, k.Dst, k.DstPort, v6)
		if !ok {
			if sv = rs.service(k.Proto, k.Dst, k.DstPort, v6); sv != nil {
				if b = sv.lb.Lookup(flowHash(k, rs.cfg.ServiceSeed)); b < 0 {
					return rk, ActLB | ActDNAT, sv, b
				}
				tg, ok = sv.tgts[b], true
				act |= ActLB
			}
		}
		if ok {
			act |= ActDNAT
			rk.Src, rk.SrcPort = tg.addr, tg.port
			if gw, ok := rs.hairpinGW(k.Src, tg.addr, v6, f); ok {
				act |= ActSNAT | ActHairpin
				rk.Dst = gw
			}
		}
	}
	if act == 0 {
		if n := rs.netOf(k.Src, v6); n != nil && n.has[f] && !rs.inside(k.Dst, v6) {
			act |= ActSNAT
			rk.Dst = n.ext[f]
		}
	}
	return rk, act, sv, b
}

// PrepareCommits readies the memory the commits of a vector's new flows
// will read (conntrack's PrepareCommits, for translated flows): call it
// after cw.TrackBatch(ps, res, now) and before the commits. For every
// packet answered StateNew with no flow, it computes the reply key
// Commit will try first (plan) and has cw touch that key's two buckets,
// all the vector's in one loop (conntrack.Worker.PrepareKeys): InUse's
// lookup of a masqueraded flow's reply key and Commit's placing of it
// then find them in cache, instead of each new flow missing on them in
// turn. It changes nothing and counts nothing; after a TrackBatch in
// which no packet missed it costs one compare.
func (w *Worker) PrepareCommits(cw *conntrack.Worker, ps []conntrack.Packet, res []conntrack.Result) {
	if !cw.Missed() {
		return
	}
	rs := w.t.rules.Load()
	ps = ps[:min(len(ps), len(res))]
	keys := w.keys[:0]
	for i := range ps {
		if res[i].Conn != 0 || res[i].State != conntrack.StateNew {
			continue
		}
		if !ps[i].MayStart() {
			continue
		}
		rk, _, sv, b := rs.plan(&ps[i])
		if sv != nil && b < 0 {
			continue
		}
		keys = append(keys, rk)
		if len(keys) == len(w.keys) {
			cw.PrepareKeys(keys)
			keys = keys[:0]
		}
	}
	cw.PrepareKeys(keys)
}

func (w *Worker) commitReason(res conntrack.Result) Reason {
	var r Reason
	switch {
	case res.Conn != 0:
		return ReasonNone
	case res.Reason == conntrack.ReasonTableFull:
		r = ReasonTableFull
	case res.Reason == conntrack.ReasonKeyInUse:
		r = ReasonPortsExhausted
	default:
		r = ReasonNotNew
	}
	w.n.reasons[r]++
	return r
}

// allocate picks the translated source port (TCP, UDP, UDP-Lite, DCCP:
// rk.DstPort; an ICMP query: the identifier, rk.SrcPort; other
// protocols: none) for the flow of p whose reply key is rk, and commits
// the flow. A candidate is skipped if a port mapping claims it on the
// translated address, or if conntrack has a live flow with the reply key
// it makes (InUse); Commit's clash check catches two workers that chose
// the same one at once, and the loser tries the next.
func (w *Worker) allocate(cw *conntrack.Worker, rs *Rules, p *conntrack.Packet, rk *conntrack.Key, now, mark uint32) (conntrack.Result, Reason) {
	var port *uint16
	var rng PortRange
	switch {
	case p.Kind == conntrack.KindICMPRequest:
		port, rng = &rk.SrcPort, rs.cfg.ICMP
	case p.Kind == conntrack.KindOther:
	case p.Key.Proto == protoTCP:
		port, rng = &rk.DstPort, rs.cfg.TCP
	default:
		port, rng = &rk.DstPort, rs.cfg.UDP
	}
	try := func(v uint16) (conntrack.Result, bool) {
		if port != nil {
			*port = v
			if port == &rk.DstPort {
				if _, mapped := rs.dnat(rk.Proto, rk.Dst, v, rk.IPv6()); mapped {
					return conntrack.Result{}, false
				}
				if rs.service(rk.Proto, rk.Dst, v, rk.IPv6()) != nil {
					return conntrack.Result{}, false
				}
			}
		}
		if cw.InUse(rk, now) {
			return conntrack.Result{}, false
		}
		res := cw.Commit(p, rk, now, mark)
		return res, res.Reason != conntrack.ReasonKeyInUse
	}
	if port == nil {
		if res, ok := try(0); ok {
			return res, w.commitReason(res)
		}
		w.n.reasons[ReasonPortsExhausted]++
		return conntrack.Result{State: conntrack.StateNew}, ReasonPortsExhausted
	}
	// The flow's own port first (Linux keeps it when it can).
	if own := *port; own >= rng.Min && own <= rng.Max {
		if res, ok := try(own); ok {
			return res, w.commitReason(res)
		}
	}
	size := uint64(rng.Max) - uint64(rng.Min) + 1
	att := uint64(rs.cfg.MaxAttempts)
	if size <= att {
		// Small range: all of it, from a random place.
		start := w.rand() % size
		for i := range size {
			w.n.retries++
			if res, ok := try(rng.Min + uint16((start+i)%size)); ok {
				return res, w.commitReason(res)
			}
		}
	} else {
		for range att {
			w.n.retries++
			if res, ok := try(rng.Min + uint16(w.rand()%size)); ok {
				return res, w.commitReason(res)
			}
		}
	}
	w.n.reasons[ReasonPortsExhausted]++
	return conntrack.Result{State: conntrack.StateNew}, ReasonPortsExhausted
}

// Translate rewrites packet pkt (from its IP header), which conntrack
// tracked into p with result res (and Commit, for a new flow), to what
// its flow's translation makes it: a packet of direction d gets the
// reverse of the flow's key of the other direction (nf_nat_packet's
// rule), an ICMP error (StateRelated) gets its quoted packet and its own
// addresses translated back (RewriteICMPError). partial says the L4
// checksum is partial (pipeline.OffloadCsumPartial). It returns what it
// changed (ActSNAT: the source, ActDNAT: the destination) or, if it
// could not, a Reason (drop the packet: it must not leave untranslated).
// A packet without a flow (Conn 0) or of an untranslated flow is left
// alone. It reads the flow's keys from conntrack (Table.Get), takes no
// lock and allocates nothing.
func (w *Worker) Translate(pkt []byte, p *conntrack.Packet, res conntrack.Result, partial bool) (Action, Reason) {
	if res.Conn == 0 || res.State == conntrack.StateInvalid || res.State == conntrack.StateUntracked {
		return 0, ReasonNone
	}
	if (p.Kind == conntrack.KindTCP || p.Kind == conntrack.KindUDP) && p.Key.Flags&conntrack.KeyIPv6 == 0 {
		if a, r, ok := w.translate4(pkt, p, res, partial); ok {
			return a, r
		}
	}
	return w.translateSlow(pkt, p, res, partial)
}

// translateSlow is Translate without the fast path (translate4).
func (w *Worker) translateSlow(pkt []byte, p *conntrack.Packet, res conntrack.Result, partial bool) (Action, Reason) {
	if res.Conn == 0 || res.State == conntrack.StateInvalid || res.State == conntrack.StateUntracked {
		return 0, ReasonNone
	}
	var ks [2]conntrack.Key
	ok := w.ct.Keys(res.Conn, &ks[0], &ks[1])
	return w.translate(pkt, p, res, partial, &ks, ok)
}

// translate4 is Translate for what most translated packets are: a TCP or
// UDP segment over IPv4 without options, not a fragment, its header all
// in pkt, of a flow whose entry still holds its key. It reads only the
// other direction's key (conntrack.Table.OtherIPv4) and writes the addresses,
// ports and checksums in place, as setTuple does, with the packet's
// header fields checked here once instead of by locate and shapeOf. It
// reports ok false, having changed nothing, for anything else, which
// translateSlow then takes (errors included); fast_test.go's
// TestTranslateFastAsSlow checks that both answer and write alike.
func (w *Worker) translate4(pkt []byte, p *conntrack.Packet, res conntrack.Result, partial bool) (Action, Reason, bool) {
	cur := &p.Key
	if len(pkt) < 20 || pkt[0] != 0x45 {
		return 0, ReasonNone, false
	}
	osrc, odst, ow, ok := w.ct.OtherIPv4(res.Conn, res.Dir, cur)
	if !ok {
		return 0, ReasonNone, false
	}
	// The packet goes to the other key's reverse: source odst:odp,
	// destination osrc:osp.
	osp, odp := uint16(ow), uint16(ow>>16)
	var a Action
	if odst != uint32(cur.Src.Lo) || odp != cur.SrcPort {
		a |= ActSNAT
	}
	if osrc != uint32(cur.Dst.Lo) || osp != cur.DstPort {
		a |= ActDNAT
	}
	if a == 0 {
		return 0, ReasonNone, true
	}
	end := len(pkt)
	if tot := int(binary.BigEndian.Uint16(pkt[2:])); tot != 0 {
		if tot < 20 {
			return 0, ReasonNone, false
		}
		end = min(tot, end)
	}
	proto := pkt[9]
	csumAt, need := 16, 40 // TCP
	if proto == protoUDP {
		csumAt, need = 6, 28
	}
	if binary.BigEndian.Uint16(pkt[6:])&0x1fff != 0 || proto != cur.Proto || proto != protoTCP && proto != protoUDP || end < need {
		return 0, ReasonNone, false
	}
	// Addresses: the delta (the 16-bit halves of ~old and new: the same
	// ones'-complement sum as putAddr's) goes into the IPv4 header
	// checksum and the pseudo header's part of the L4 checksum.
	var d uint64
	if os := binary.BigEndian.Uint32(pkt[12:]); os != odst {
		binary.BigEndian.PutUint32(pkt[12:], odst)
		d = uint64(^os>>16) + uint64(^os&0xffff) + uint64(odst>>16) + uint64(odst&0xffff)
	}
	if od := binary.BigEndian.Uint32(pkt[16:]); od != osrc {
		binary.BigEndian.PutUint32(pkt[16:], osrc)
		d += uint64(^od>>16) + uint64(^od&0xffff) + uint64(osrc>>16) + uint64(osrc&0xffff)
	}
	if d != 0 {
		put16(pkt[10:], fix(binary.BigEndian.Uint16(pkt[10:]), d))
	}
	l4 := pkt[20:end]
	pd := put16(l4, odp) + put16(l4[2:], osp)
	ck := l4[csumAt:]
	c := binary.BigEndian.Uint16(ck)
	switch {
	case partial:
		if d != 0 {
			put16(ck, csum.Fold(uint64(c)+d))
		}
	case c == 0 && proto == protoUDP: // no checksum
	case d+pd != 0:
		nc := fix(c, d+pd)
		if nc == 0 && proto == protoUDP {
			nc = 0xffff
		}
		put16(ck, nc)
	}
	w.n.translated++
	return a, ReasonNone, true
}

func (w *Worker) translate(pkt []byte, p *conntrack.Packet, res conntrack.Result, partial bool, ks *[2]conntrack.Key, ok bool) (Action, Reason) {
	d := res.Dir & 1
	cur, other := &ks[d], &ks[d^1]
	if !ok || *cur != p.Key {
		w.n.reasons[ReasonStale]++
		return 0, ReasonStale
	}
	// want = other.Reverse(), without the copy: an ICMP query keeps its
	// identifier in SrcPort both ways, and its type is never written.
	wsrc, wdst, wsp, wdp := other.Dst, other.Src, other.DstPort, other.SrcPort
	icmp := p.Kind == conntrack.KindICMPRequest || p.Kind == conntrack.KindICMPReply ||
		p.Kind == conntrack.KindICMPError && (cur.Proto == protoICMP || cur.Proto == protoICMPv6)
	if icmp {
		wsp, wdp = other.SrcPort, cur.DstPort
	}
	var a Action
	if wsrc != cur.Src || wsp != cur.SrcPort {
		a |= ActSNAT
	}
	if wdst != cur.Dst || wdp != cur.DstPort {
		a |= ActDNAT
	}
	if a == 0 {
		return 0, ReasonNone
	}
	var r Reason
	if p.Kind == conntrack.KindICMPError {
		want := other.Reverse()
		r = RewriteICMPError(pkt, cur, &want, partial)
	} else {
		r = rewrite(pkt, cur.Proto, cur.IPv6(), wsrc, wdst, wsp, wdp, partial)
		if r == ReasonFragment && p.Frag.Later() {
			// A piece after the first, tracked with its first fragment's
			// flow (conntrack's fragment table): its addresses only.
			r = rewriteFragment(pkt, cur.IPv6(), wsrc, wdst)
		}
	}
	if r != ReasonNone {
		w.n.reasons[r]++
		return 0, r
	}
	w.n.translated++
	return a, ReasonNone
}

// counts are a worker's counters, plain; Publish copies them for
// Table.Counters (as conntrack's).
type counts struct {
	snat, dnat, hairpin, lb, retries, translated uint64
	reasons                                      [numReasons]uint64
}

type counters struct {
	snat, dnat, hairpin, lb, retries, translated atomic.Uint64
	reasons                                      [numReasons]atomic.Uint64
}

// Counters are the NAT counters summed over the workers.
type Counters struct {
	// SNAT, DNAT, Hairpin: flows created with each translation (port
	// maps' in DNAT and Hairpin); LB: flows created by services, hairpin
	// or not (per service and backend: Table.ServiceCounters).
	SNAT, DNAT, Hairpin, LB uint64
	// Retries: candidate ports tried after a flow's own was taken.
	Retries uint64
	// Translated: packets rewritten.
	Translated uint64
	// Reasons: packets refused, per Reason.
	Reasons [NumReasons]uint64
}

// Publish makes the worker's counters visible to Table.Counters; a node
// calls it once per vector.
func (w *Worker) Publish() {
	n, p := &w.n, &w.pub
	p.snat.Store(n.snat)
	p.dnat.Store(n.dnat)
	p.hairpin.Store(n.hairpin)
	p.lb.Store(n.lb)
	p.retries.Store(n.retries)
	p.translated.Store(n.translated)
	for i := range n.reasons {
		if n.reasons[i] != 0 {
			p.reasons[i].Store(n.reasons[i])
		}
	}
}

// Counters sums the workers' counters as of their last Publish.
func (t *Table) Counters() Counters {
	var s Counters
	t.wmu.Lock()
	defer t.wmu.Unlock()
	for _, w := range t.workers {
		p := &w.pub
		s.SNAT += p.snat.Load()
		s.DNAT += p.dnat.Load()
		s.Hairpin += p.hairpin.Load()
		s.LB += p.lb.Load()
		s.Retries += p.retries.Load()
		s.Translated += p.translated.Load()
		for i := range p.reasons {
			s.Reasons[i] += p.reasons[i].Load()
		}
	}
	return s
}

// Wants reports whether a new flow of p would be translated: its
// destination is a mapped host port or a service, or its source is in a masqueraded
// network and its destination outside every network. A caller that
// cannot translate a packet (conntrack found it invalid, or it is a
// non-first fragment) drops it when Wants says so, rather than let it
// leave untranslated with a private source or past a port map.
func (w *Worker) Wants(p *conntrack.Packet) bool {
	rs := w.t.rules.Load()
	k := &p.Key
	v6 := k.IPv6()
	if _, ok := rs.dnat(k.Proto, k.Dst, k.DstPort, v6); ok {
		return true
	}
	if rs.service(k.Proto, k.Dst, k.DstPort, v6) != nil {
		return true
	}
	n := rs.netOf(k.Src, v6)
	return n != nil && n.has[fam(k)] && !rs.inside(k.Dst, v6)
}
