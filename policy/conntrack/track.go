package conntrack

// Track parses pkt (an IPv4 or IPv6 packet from its IP header) into p for
// zone and looks its flow up, updating the flow's state. It allocates
// nothing and takes no lock.
//
// A packet that starts a flow gets StateNew with Conn 0: if policy allows
// the flow, pass the same p to Commit (OVS's ct(commit)). A packet of a
// committed flow gets its entry in Conn, its direction, and
// StateEstablished once the flow has seen a reply (StateNew before). An
// ICMP error quoting a packet of a flow gets that flow's entry and
// StateRelated.
func (w *Worker) Track(p *Packet, pkt []byte, zone uint16, now uint32) Result {
	Parse(p, pkt, zone)
	return w.TrackParsed(p, now)
}

// TrackParsed is Track for a packet Parse already filled p from.
func (w *Worker) TrackParsed(p *Packet, now uint32) Result {
	if p.Frag != FragNone {
		w.fragment(p, now)
	}
	if p.Reason != ReasonNone {
		return w.refuse(p.Reason)
	}
	return w.track(p, p.Key.hash(w.t.seed), 0, now)
}

// TrackBatch tracks a vector of parsed packets (at most BatchSize; more
// are done in pieces), writing res[i] for ps[i], and publishes the
// worker's counters. It does what TrackParsed does for each, but in
// passes, so that the cache misses of a whole vector overlap instead of
// coming one after the other (Go has no prefetch instruction; a tight
// loop of independent loads is the next best thing: the CPU keeps as
// many in flight as it has miss buffers):
//
//  1. hash every key (arithmetic only);
//  2. touch every key's first bucket;
//  3. find each key's candidate slot in it by tag (in cache now; findFirst,
//     with no branch on a tag); the few keys with none there have their
//     second bucket touched and searched the same way;
//  4. touch every candidate entry: the line of its sequence and state
//     words and the line of the key that matched (both keys' lines with
//     Config.BothKeys);
//  5. track each packet, starting from its candidate: a candidate whose
//     key matches is the lookup, already done; else the full lookup.
//
// A candidate is only a hint, checked like any slot (sequence, key,
// sequence again), so a slot that changed meanwhile costs a lookup, never
// a wrong answer.
func (w *Worker) TrackBatch(ps []Packet, res []Result, now uint32) {
	w.missBase = w.n.misses
	for len(ps) > 0 {
		n := min(len(ps), BatchSize)
		w.trackBatch(ps[:n], res[:n], now)
		ps, res = ps[n:], res[n:]
	}
	w.Publish()
}

// trackBatch is TrackBatch for at most BatchSize packets, without the
// Publish. The hash (Key.hash) is written out in its loop rather than
// called (the compiler does not inline it, and a call per packet per
// pass is a good part of what the tracker costs on a hit); the first
// buckets' tag search is findFirst, one call for the vector.
func (w *Worker) trackBatch(ps []Packet, res []Result, now uint32) {
	t := w.t
	n := len(ps)
	res = res[:n]
	hs, cand := w.hashes[:n], w.cand[:n]
	seed, shift := t.seed, t.shift&63
	buckets := t.buckets
	var sink uint64
	// Hash every key, then touch every first bucket in a loop of its own:
	// the loads are independent, so a vector's misses overlap, and the
	// tighter the loop, the more of them the CPU keeps in flight (hashing
	// in the same loop, 9 instructions fewer, was slower at 1M flows:
	// 111-179 cpu-ns per packet against 89-120, security groups,
	// interleaved).
	var frag Frag
	for i := range ps {
		k := &ps[i].Key
		hs[i] = mum(mum(k.Src.Hi^hp0^seed, k.Src.Lo^hp1)^hp4,
			mum(k.Dst.Hi^hp2, k.Dst.Lo^hp3^seed)^k.word4()^hp1) // Key.hash
		frag |= ps[i].Frag
	}
	if frag != FragNone { // rare: a vector with fragments (frag.go)
		w.fragments(ps, hs, now)
	}
	for _, h := range hs {
		sink += buckets[h>>shift].s[0].Load()
	}
	nsecond := findFirst(buckets, shift, hs, cand)
	if nsecond > 0 {
		second := w.second[:0]
		for i, c := range cand {
			if c == 0 {
				second = append(second, uint16(i))
			}
		}
		for _, i := range second {
			h := hs[i]
			sink += buckets[t.second(h>>shift, h)].s[0].Load()
		}
		for _, i := range second {
			h := hs[i]
			cand[i] = buckets[t.second(h>>shift, h)].find(uint32(h))
		}
	}
	ents := t.entries
	if t.bothKeys {
		for _, c := range cand {
			e := &ents[uint32(c)&idxMask]
			sink += uint64(e.seq.Load()) + e.key1[4].Load()
		}
	} else {
		// The first line only: an original packet's key is there, and so
		// is a plain flow's reply key, reversed (stPlain). A reply packet
		// of a translated flow reads the second line in the last pass,
		// uncovered: a table of translated flows sets BothKeys.
		for _, c := range cand {
			sink += uint64(ents[uint32(c)&idxMask].seq.Load())
		}
	}
	w.sink += sink
	hits := uint64(0)
	for i := range ps {
		p, c := &ps[i], cand[i]
		// The common case inline, as update does it: the candidate holds
		// the key, the flow is live, and the packet changes no TCP state.
		// Anything else goes to slow, which starts over.
		if c == 0 || p.Reason != ReasonNone || p.Kind == KindICMPError {
			res[i] = w.slow(p, hs[i], c, now)
			continue
		}
		idx, d := uint32(c)&idxMask, Dir(c>>31&1)
		e := &ents[idx]
		k := &p.Key
		s := e.seq.Load()
		old := e.state.Load()
		// The key to compare with: the original's for an original
		// packet; for a reply, the original's reversed if the flow is
		// plain (one line read), else the reply key. old is this
		// generation's (checked below), so its stPlain is.
		kw := &e.key0
		sh, sl, dh, dl, w4 := k.Src.Hi, k.Src.Lo, k.Dst.Hi, k.Dst.Lo, k.word4()
		if d == Reply {
			if old&stPlain != 0 {
				sh, sl, dh, dl, w4 = dh, dl, sh, sl, swapPorts(w4)
			} else {
				kw = &e.key1
			}
		}
		if s&1 != 0 || (kw[4].Load()^w4)|(kw[1].Load()^sl)|(kw[3].Load()^dl)|
			(kw[0].Load()^sh)|(kw[2].Load()^dh) != 0 || e.seq.Load() != s ||
			uint32(old>>stGenShift)&stGenMask != s>>2&stGenMask || t.expired(old, now) {
			res[i] = w.slow(p, hs[i], c, now)
			continue
		}
		isTCP := old>>stClassShft&3 == classTCP
		if isTCP && p.Kind == KindTCP && (old&stTCPMask != uint64(TCPEstablished) || tcpClass(p.TCPFlags) != tcpAck) {
			res[i] = w.slow(p, hs[i], c, now) // a segment that may change the state
			continue
		}
		nw := old | uint64(d)<<4 // stReplied
		if int32(now-uint32(old>>stTimeShift)) > 0 {
			nw = nw&^(0xffffffff<<stTimeShift) | uint64(now)<<stTimeShift
		}
		if nw != old && !e.state.CompareAndSwap(old, nw) {
			res[i] = w.slow(p, hs[i], c, now)
			continue
		}
		hits++
		r := Result{Conn: idx, Dir: d, State: StateNew + State(nw>>4&1)} // StateEstablished if replied
		if isTCP {
			r.TCP = TCPState(old & stTCPMask)
		}
		res[i] = r
	}
	w.n.hits += hits
}

// slow answers packet p of hash h, whose candidate slot word is c (0:
// none), the way TrackParsed does: what trackBatch's inline case does
// not take.
func (w *Worker) slow(p *Packet, h, c uint64, now uint32) Result {
	if p.Reason != ReasonNone {
		return w.refuse(p.Reason)
	}
	return w.track(p, h, c, now)
}

// refuse counts and answers a packet Parse did not accept.
func (w *Worker) refuse(r Reason) Result {
	w.n.reasons[r]++
	if r == ReasonFragment || r == ReasonICMPUntracked {
		return Result{State: StateUntracked, Reason: r}
	}
	return Result{State: StateInvalid, Reason: r}
}

func (w *Worker) invalid(res Result, r Reason) Result {
	w.n.reasons[r]++
	res.State, res.Reason = StateInvalid, r
	return res
}

func tcpOf(st uint64) TCPState {
	if st>>stClassShft&3 != classTCP {
		return TCPNone
	}
	return TCPState(st & stTCPMask)
}

// track tracks packet p of hash h. hint is a slot word that may hold
// p's key (TrackBatch's candidate), 0 if none.
func (w *Worker) track(p *Packet, h, hint uint64, now uint32) Result {
	t := w.t
	for range 4 { // a retry after the entry changed under us
		var idx, seq uint32
		var d Dir
		ok := false
		if hint != 0 { // the lookup TrackBatch did, checked
			idx, d = uint32(hint)&idxMask, Dir(hint>>31&1)
			e := &t.entries[idx]
			seq = e.seq.Load()
			ok = seq&1 == 0 && e.keyIs(d, &p.Key, p.Key.word4()) && e.seq.Load() == seq
			hint = 0
		}
		if !ok {
			if idx, d, seq, ok = t.lookup(&p.Key, h); !ok {
				break
			}
		}
		if res, done := w.update(p, idx, d, seq, now); done {
			return res
		}
	}
	return w.miss(p)
}

// update applies packet p to entry idx, found holding p's key in
// direction d with sequence word seq, and answers it. done is false if
// the entry was deleted and reused since the lookup (look again).
func (w *Worker) update(p *Packet, idx uint32, d Dir, seq uint32, now uint32) (res Result, done bool) {
	t := w.t
	e := &t.entries[idx]
	gen := seq >> 2 & stGenMask
	old := e.state.Load()
	if uint32(old>>stGenShift)&stGenMask != gen {
		return res, false
	}
	if t.expired(old, now) {
		w.expire(idx, seq)
		return w.miss(p), true
	}
	res = Result{Conn: idx, Dir: d, TCP: tcpOf(old)}
	if p.Kind == KindICMPError { // p.Key is already in the error's direction
		w.n.hits++
		w.n.related++
		res.State = StateRelated
		return res, true
	}
	for range 8 { // compare-and-swap the state word
		nw := old
		if d == Reply {
			nw |= stReplied
		}
		if p.Kind == KindTCP && old>>stClassShft&3 == classTCP {
			fin := Original
			if old&stFinReply != 0 {
				fin = Reply
			}
			st, cls := TCPState(old&stTCPMask), tcpClass(p.TCPFlags)
			ns, nf, valid, reopen := st, fin, true, false
			if st != TCPEstablished || cls != tcpAck { // the common case changes nothing
				ns, nf, valid, reopen = tcpNext(st, fin, d, cls)
			}
			if reopen {
				// A new connection on the tuple of a closed one:
				// drop the old flow; the SYN is new, for policy to see.
				if killed, mustFree := t.kill(idx, seq); killed {
					w.n.deleted++
					if mustFree {
						w.release(idx)
					}
				}
				return w.miss(p), true
			}
			if !valid {
				w.n.hits++
				return w.invalid(res, ReasonTCPTransition), true
			}
			nw = nw&^(stTCPMask|stFinReply) | uint64(ns)
			if nf == Reply {
				nw |= stFinReply
			}
			res.TCP = ns
		}
		if int32(now-uint32(old>>stTimeShift)) > 0 { // never backwards
			nw = nw&^(0xffffffff<<stTimeShift) | uint64(now)<<stTimeShift
		}
		if nw == old || e.state.CompareAndSwap(old, nw) {
			w.n.hits++
			res.State = StateNew
			if nw&stReplied != 0 {
				res.State = StateEstablished
			}
			return res, true
		}
		old = e.state.Load()
		if uint32(old>>stGenShift)&stGenMask != gen {
			break
		}
	}
	return res, false
}

func (w *Worker) expire(idx, seq uint32) {
	if killed, mustFree := w.t.kill(idx, seq); killed {
		w.n.expired++
		if mustFree {
			w.release(idx)
		}
	}
}

// miss answers a packet that matched no flow.
func (w *Worker) miss(p *Packet) Result {
	w.n.misses++
	switch p.Kind {
	case KindTCP:
		if _, ok := tcpFirst(tcpClass(p.TCPFlags), w.t.loose); !ok {
			return w.invalid(Result{}, ReasonTCPNoSYN)
		}
	case KindICMPReply, KindICMPError:
		return w.invalid(Result{}, ReasonNoFlow)
	}
	return Result{State: StateNew}
}

// Commit creates the flow of packet p, which Track (or TrackParsed, or
// TrackBatch) just answered StateNew with Conn 0, and returns the packet's
// result against the new entry. mark is stored in the entry (Mark).
//
// reply is the key packets of the reply direction will have, if address
// translation makes it differ from p.Key.Reverse(); nil means no
// translation. The entry is found under either key.
//
// If another worker committed the same flow meanwhile, Commit returns
// that flow's entry. If reply is the key of another flow, Commit returns
// Conn 0 and ReasonKeyInUse. If the table is full, Commit evicts a flow (see the
// package doc); if even that fails it returns Conn 0 and
// ReasonTableFull. A packet that cannot start a flow (a TCP segment
// without SYN, an ICMP reply or error, an unparsed packet) gets
// StateInvalid.
func (w *Worker) Commit(p *Packet, reply *Key, now uint32, mark uint32) Result {
	t := w.t
	var flow uint64
	switch p.Kind {
	case KindTCP:
		st, ok := tcpFirst(tcpClass(p.TCPFlags), t.loose)
		if !ok {
			return Result{State: StateInvalid, Reason: ReasonTCPNoSYN}
		}
		flow = classTCP<<stClassShft | uint64(st)
	case KindUDP:
		flow = classUDP << stClassShft
	case KindICMPRequest:
		flow = classICMP << stClassShft
	case KindOther:
		flow = classOther << stClassShft
	default:
		r := p.Reason
		if r == ReasonNone {
			r = ReasonNoFlow
		}
		return Result{State: StateInvalid, Reason: r}
	}
	return w.commitKeys(&p.Key, reply, now, mark, flow)
}

// Restore commits a flow as another table held it (a hitless restart
// hands the flows of the old process over): its keys, TCP state, whether
// it was replied, its mark and label, last seen at lastSeen on this
// table's clock (times are modular: now minus the flow's age). It reports
// whether the flow is in the table now (false: the table is full, or a key
// is another flow's).
func (w *Worker) Restore(f *Flow, lastSeen uint32) bool {
	flow := uint64(classOther) << stClassShft
	switch {
	case f.Orig.Proto == protoTCP:
		flow = classTCP<<stClassShft | uint64(f.TCP)&stTCPMask
	case f.Orig.Proto == protoUDP:
		flow = classUDP << stClassShft
	case f.Orig.isICMP():
		flow = classICMP << stClassShft
	}
	if f.Replied {
		flow |= stReplied
	}
	if _, _, _, ok := w.t.lookup(&f.Orig, f.Orig.hash(w.t.seed)); ok {
		return false // here already (commitKeys would answer with it)
	}
	r := w.commitKeys(&f.Orig, &f.Reply, lastSeen, f.Mark, flow)
	if r.State != StateNew || r.Reason != ReasonNone || r.Conn == 0 {
		return false
	}
	w.t.entries[r.Conn].label.Store(f.Label)
	return true
}

// commitKeys commits a flow of original key k (reply key: reply, or k
// reversed) with state bits flow.
func (w *Worker) commitKeys(k, reply *Key, now uint32, mark uint32, flow uint64) Result {
	t := w.t
	h := k.hash(t.seed)
	if idx, d, _, ok := t.lookup(k, h); ok {
		return t.resultOf(idx, d)
	}
	rk := k.Reverse()
	if reply != nil {
		rk = *reply
	}
	rh := rk.hash(t.seed)
	if plainReply(k, &rk) {
		flow |= stPlain
	}

	idx := w.alloc(h, rh, now)
	if idx == 0 {
		w.n.failed++
		w.n.reasons[ReasonTableFull]++
		return Result{State: StateNew, Reason: ReasonTableFull}
	}
	w.n.created++
	e := &t.entries[idx]
	gen := e.seq.Load()>>2 + 1
	seq := gen<<2 | 2 // live, being committed
	e.fill(k, &rk, mark, packState(now, gen, flow))
	e.seq.Store(seq)

	w0, w1 := slotWord(h, Original, idx), slotWord(rh, Reply, idx)
	ok := w.place(h, w0, now) && w.place(rh, w1, now)
	if ok {
		w.checkClash(idx, seq, k, h, Original)
		w.checkClash(idx, seq, &rk, rh, Reply)
	} else {
		w.n.failed++
		w.n.reasons[ReasonTableFull]++
		e.seq.CompareAndSwap(seq, seq|1)
	}
	if e.seq.CompareAndSwap(seq, seq&^2) {
		return Result{Conn: idx, Dir: Original, State: StateNew, TCP: tcpOf(flow)}
	}
	// Killed before done: by a clash, a flush, or our own failure.
	t.unlinkSlot(h, w0)
	t.unlinkSlot(rh, w1)
	w.release(idx)
	if !ok {
		return Result{State: StateNew, Reason: ReasonTableFull}
	}
	if idx, d, _, ok := t.lookup(k, h); ok {
		return t.resultOf(idx, d) // the same flow, committed by another worker
	}
	w.n.reasons[ReasonKeyInUse]++
	return Result{State: StateNew, Reason: ReasonKeyInUse}
}

// place puts slot word sw for hash h into its buckets. If both are
// full, it moves a slot of theirs to its other bucket (one cuckoo step),
// and failing that evicts from them.
func (w *Worker) place(h, sw uint64, now uint32) bool {
	for range 4 {
		if w.t.insertSlot(h, sw) || w.t.displace(h) && w.t.insertSlot(h, sw) {
			return true
		}
		w.evictIn(h, now)
	}
	return false
}

// checkClash looks for another entry holding key k (hash h), which entry
// idx (sequence seq) holds in direction d, because another worker
// committed the same flow (or a translation chose a key in use) at the
// same time. A committed entry wins over one being committed; of two
// being committed, the lower index wins; if the other finishes its commit
// while we try to kill it, it has won after all. Both committers run this
// check after placing their keys, so at least one sees the other.
func (w *Worker) checkClash(idx, seq uint32, k *Key, h uint64, d Dir) {
	for {
		m := w.t.moves.Load()
		if w.scanClash(idx, seq, k, h) || w.t.moves.Load() == m {
			return
		}
		// A cuckoo move ran during the scan: the other entry may have
		// been in neither bucket when read. Scan again.
	}
}

// scanClash is one pass of checkClash over k's buckets. It reports
// whether entry idx lost (and is killed).
func (w *Worker) scanClash(idx, seq uint32, k *Key, h uint64) (lost bool) {
	t := w.t
	w4 := k.word4()
	b1 := t.bucketOf(h)
	for _, bi := range [2]uint64{b1, t.second(b1, h)} {
		b := &t.buckets[bi]
		for i := range bucketSlots {
			sw := b.s[i].Load()
			oi := uint32(sw) & idxMask
			if sw == 0 || uint32(sw>>32) != uint32(h) || oi == idx {
				continue
			}
			o := &t.entries[oi]
			od := Dir(sw >> 31 & 1)
			for counted := false; ; {
				os := o.seq.Load()
				if os&1 != 0 || !o.keyIs(od, k, w4) {
					break
				}
				if o.seq.Load() != os {
					// Committed, killed or reused while we read its
					// key: look again (skipping it would miss a flow
					// that just finished committing).
					continue
				}
				if !counted {
					w.n.clashes++
					counted = true
				}
				if os&2 == 0 || oi < idx {
					t.kill(idx, seq) // we lose; Commit frees our entry
					return true
				}
				if killed, mustFree := t.kill(oi, os); killed {
					if mustFree {
						w.release(oi)
					}
					break
				}
				// Its sequence changed under us: its committer finished
				// (then it wins) or someone killed it. Look again.
			}
		}
	}
	return false
}

// resultOf answers a packet that found entry idx in direction d without
// changing it.
func (t *Table) resultOf(idx uint32, d Dir) Result {
	st := t.entries[idx].state.Load()
	res := Result{Conn: idx, Dir: d, State: StateNew, TCP: tcpOf(st)}
	if st&stReplied != 0 || d == Reply {
		res.State = StateEstablished
	}
	return res
}

// InUse reports whether a flow holds key k (in either direction): the
// question a NAT port allocator asks about a candidate reply key before
// passing it to Commit, as Linux's nf_nat_used_tuple does. A flow found
// past its timeout is deleted, counted as expired, and does not count,
// so a translated port is free again as soon as its flow has expired,
// whether or not the ager has been by. It takes no lock and allocates
// nothing. The answer may be stale by the time the caller commits:
// Commit's clash check is what guarantees that no two flows share a key
// (it returns ReasonKeyInUse to the loser).
func (w *Worker) InUse(k *Key, now uint32) bool {
	t := w.t
	for range 4 {
		idx, _, seq, ok := t.lookup(k, k.hash(t.seed))
		if !ok {
			return false
		}
		st := t.entries[idx].state.Load()
		if uint32(st>>stGenShift)&stGenMask != seq>>2&stGenMask {
			continue // deleted and reused since the lookup
		}
		if seq&2 != 0 || !t.expired(st, now) {
			return true
		}
		w.expire(idx, seq)
	}
	return false
}

func init() {
	if stReplied != 1<<4 || Reply != 1 || StateEstablished != StateNew+1 {
		panic("conntrack: trackBatch's replied bit is Reply<<4, StateEstablished StateNew+1")
	}
}
