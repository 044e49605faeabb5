package conntrack

// PrepareCommits readies the memory the coming commits of a vector will
// touch, so that their cache misses overlap instead of coming one after
// another: call it after TrackBatch(ps, res, now), with the same slices,
// and before committing any of the packets it answered new. It changes
// nothing in the table, counts nothing and may be skipped; after a
// TrackBatch in which no packet missed it costs one compare.
//
// A new flow's commit looks its original key up again (TrackBatch left
// both of its buckets in cache), takes an entry, and then puts and
// clash-checks its reply key in that key's two buckets, which nothing
// has read yet: two random lines, misses of a few hundred nanoseconds
// each on a virtual machine at a million flows (BenchmarkMemoryFloor),
// taken one flow after another. For every packet answered StateNew with
// no flow that could start one (not an ICMP reply or error, nothing
// malformed), PrepareCommits touches the two buckets of its key reversed
// (Commit's reply key when the caller passes none; a translator chooses
// its own later) in one loop of independent loads, as TrackBatch's
// passes do. Touching, ahead, the entries alloc hands out next and, in a
// full table, the entries eviction weighs, measured no better
// (BenchmarkNewFlows's batch cases), and is not done.
func (w *Worker) PrepareCommits(ps []Packet, res []Result) {
	if w.n.misses == w.missBase {
		return // no packet of the last TrackBatch missed
	}
	ps = ps[:min(len(ps), len(res))]
	for len(ps) > 0 {
		n := min(len(ps), BatchSize)
		w.prepare(ps[:n], res[:n])
		ps, res = ps[n:], res[n:]
	}
}

// prepare is PrepareCommits for at most BatchSize packets.
func (w *Worker) prepare(ps []Packet, res []Result) {
	t := w.t
	rhs := w.hashes[:0] // TrackBatch's scratch, free again
	for i := range ps {
		if res[i].Conn != 0 || res[i].State != StateNew {
			continue
		}
		p := &ps[i]
		if !p.MayStart() {
			continue
		}
		rk := p.Key.Reverse()
		rhs = append(rhs, rk.hash(t.seed))
	}
	w.touch(rhs)
}

// MayStart reports whether a packet of p's kind can start a flow: TCP,
// UDP, an ICMP query or another protocol, not an ICMP reply or error nor
// anything Parse refused. (Commit also wants a TCP segment to be a SYN,
// unless Config.TCPLoose.) A node preparing commits skips the others.
func (p *Packet) MayStart() bool {
	switch p.Kind {
	case KindTCP, KindUDP, KindICMPRequest, KindOther:
		return true
	}
	return false
}

// touch loads the first word of both buckets of every hash in hs.
func (w *Worker) touch(hs []uint64) {
	t := w.t
	shift, buckets := t.shift&63, t.buckets
	var sink uint64
	for _, h := range hs {
		b1 := h >> shift
		sink += buckets[b1].s[0].Load() + buckets[t.second(b1, h)].s[0].Load()
	}
	w.sink += sink
}

// Missed reports whether a packet of the worker's last TrackBatch missed
// (a caller that prepares commits itself skips a vector with none).
func (w *Worker) Missed() bool { return w.n.misses != w.missBase }

// PrepareKeys is PrepareCommits for reply keys a translator chose: it
// touches the two buckets of every key in keys (the reply keys that
// InUse will look up and Commit place and clash-check) in one loop of
// independent loads. Like PrepareCommits it changes nothing.
func (w *Worker) PrepareKeys(keys []Key) {
	seed := w.t.seed
	for len(keys) > 0 {
		n := min(len(keys), BatchSize)
		hs := w.hashes[:n]
		for i := range hs {
			hs[i] = keys[i].hash(seed)
		}
		w.touch(hs)
		keys = keys[n:]
	}
}
