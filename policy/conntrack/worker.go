package conntrack

import "sync/atomic"

// Worker is one worker goroutine's handle on a Table: its counters, a
// small cache of free entries and scratch space for TrackBatch. A Worker
// must be used by one goroutine at a time; any number of Workers may use
// the table at once.
type Worker struct {
	t      *Table
	cache  [cacheSize]uint32
	ncache int
	clock  uint64   // next bucket the eviction clock looks at
	n      counts   // this worker's counts, plain
	pub    counters // n as of the last Publish, for Table.Counters
	hashes [BatchSize]uint64
	cand   [BatchSize]uint64
	second [BatchSize]uint16 // packets whose candidate is in the second bucket
	// missBase is n.misses when the last TrackBatch began
	// (PrepareCommits: did any packet of it miss?).
	missBase uint64
	sink     uint64
	// frags remembers first fragments (frag.go).
	frags [fragSlots]fragEntry
}

const cacheSize = 32

// BatchSize is the largest number of packets TrackBatch takes at once (a
// pipeline vector).
const BatchSize = 256

// NewWorker returns a handle for one more worker goroutine.
func (t *Table) NewWorker() *Worker {
	w := &Worker{t: t}
	t.mu.Lock()
	w.clock = uint64(len(t.workers)) * (t.mask + 1) / 8
	t.workers = append(t.workers, w)
	t.mu.Unlock()
	return w
}

// alloc returns a free entry index, evicting a flow if the table is full:
// preferably an expired one, else the least recently seen of the flows in
// the new flow's four buckets (both keys' two: some 16 flows in a full
// table), else of a few buckets under the worker's clock hand. 0 means
// nothing could be freed.
func (w *Worker) alloc(h, rh uint64, now uint32) uint32 {
	t := w.t
	for range 4 {
		if w.ncache > 0 {
			w.ncache--
			return w.cache[w.ncache]
		}
		if i := t.free.pop(); i != 0 {
			return i
		}
		var v victim
		w.t.considerPair(h, now, &v)
		w.t.considerPair(rh, now, &v)
		if !w.evict(&v) {
			w.evictClock(now)
		}
	}
	return 0
}

// release gives entry idx (dead, unlinked, owned by the caller) back.
func (w *Worker) release(idx uint32) {
	w.n.freed++
	if w.ncache < cacheSize {
		w.cache[w.ncache] = idx
		w.ncache++
		return
	}
	w.t.free.push(idx)
}

// victim is an eviction candidate.
type victim struct {
	idx, seq uint32
	age      int32
	expired  bool
}

// consider looks at the entries of bucket b and keeps the better victim
// in v: an expired entry over a live one, else the longer idle.
func (t *Table) consider(b *bucket, now uint32, v *victim) {
	for i := range bucketSlots {
		sw := b.s[i].Load()
		if sw == 0 {
			continue
		}
		idx := uint32(sw) & idxMask
		e := &t.entries[idx]
		s := e.seq.Load()
		if s&3 != 0 { // dead or still being committed
			continue
		}
		st := e.state.Load()
		if uint32(st>>stGenShift)&stGenMask != (s>>2)&stGenMask {
			continue
		}
		age, exp := age(st, now), t.expired(st, now)
		if v.idx == 0 || exp && !v.expired || exp == v.expired && age > v.age {
			*v = victim{idx, s, age, exp}
		}
	}
}

// evictIn evicts the best victim of hash h's two buckets. It reports
// whether it freed an entry.
func (w *Worker) evictIn(h uint64, now uint32) bool {
	var v victim
	w.t.considerPair(h, now, &v)
	return w.evict(&v)
}

func (t *Table) considerPair(h uint64, now uint32, v *victim) {
	b1 := t.bucketOf(h)
	t.consider(&t.buckets[b1], now, v)
	t.consider(&t.buckets[t.second(b1, h)], now, v)
}

func (w *Worker) evict(v *victim) bool {
	if v.idx == 0 {
		return false
	}
	killed, mustFree := w.t.kill(v.idx, v.seq)
	if !killed {
		return false
	}
	if v.expired {
		w.n.expired++
	} else {
		w.n.evicted++
	}
	if mustFree {
		w.release(v.idx)
	}
	return mustFree
}

// evictClock evicts the best victim of the next few non-empty buckets
// under the worker's clock hand.
func (w *Worker) evictClock(now uint32) bool {
	t := w.t
	var v victim
	for range 64 {
		t.consider(&t.buckets[w.clock&t.mask], now, &v)
		w.clock++
		if v.idx != 0 && w.clock%4 == 0 {
			break
		}
	}
	return w.evict(&v)
}

// counts are a worker's counters, written with plain stores: an atomic
// store is an XCHG on amd64, a full barrier costing more than a whole
// lookup. Publish copies them where Table.Counters reads them.
type counts struct {
	hits, misses, created, related   uint64
	evicted, expired, deleted, freed uint64
	clashes, failed, fragments       uint64
	reasons                          [numReasons]uint64
}

// Publish makes the worker's counters visible to Table.Counters. A node
// that calls Track or TrackParsed per packet calls it once per vector;
// TrackBatch calls it itself.
func (w *Worker) Publish() {
	n, p := &w.n, &w.pub
	p.hits.Store(n.hits)
	p.misses.Store(n.misses)
	p.created.Store(n.created)
	p.related.Store(n.related)
	p.evicted.Store(n.evicted)
	p.expired.Store(n.expired)
	p.deleted.Store(n.deleted)
	p.freed.Store(n.freed)
	p.clashes.Store(n.clashes)
	p.failed.Store(n.failed)
	p.fragments.Store(n.fragments)
	for i := range n.reasons {
		if n.reasons[i] != 0 {
			p.reasons[i].Store(n.reasons[i])
		}
	}
}

// counters are the published copy of a worker's counts, or the control
// plane's own (atomic adds).
type counters struct {
	hits, misses, created, related   atomic.Uint64
	evicted, expired, deleted, freed atomic.Uint64
	clashes, failed, fragments       atomic.Uint64
	reasons                          [numReasons]atomic.Uint64
}

// NumReasons is the number of Reason values.
const NumReasons = int(numReasons)

// Counters are the table's counters, summed over its workers and the
// control plane.
type Counters struct {
	// Hits: packets that matched a flow (Related ones included).
	Hits uint64
	// Misses: trackable packets that matched no flow.
	Misses uint64
	// New: flows committed (clash losers included).
	New uint64
	// Related: ICMP errors matched to the flow they quote.
	Related uint64
	// Evicted: flows removed to make room for a new one before their
	// timeout.
	Evicted uint64
	// Expired: flows removed after their timeout (found by a lookup, the
	// eviction or Expire).
	Expired uint64
	// Deleted: flows removed by Delete, Flush, or a TCP SYN reopening a
	// closed connection's tuple.
	Deleted uint64
	// Clashes: the same flow committed at once on two workers (one
	// entry kept, the other dropped).
	Clashes uint64
	// CommitFailed: Commit could not place a flow.
	CommitFailed uint64
	// Fragments: fragments after the first that were given their first
	// fragment's ports and tracked with its flow (see "Fragments" in the
	// package doc); the others count under Reasons[ReasonFragment].
	Fragments uint64
	// Reasons counts packets per Reason: invalid ones, and untracked
	// ones (ReasonFragment, ReasonICMPUntracked).
	Reasons [NumReasons]uint64

	freed uint64
}

func (c *counters) addTo(s *Counters) {
	s.Hits += c.hits.Load()
	s.Misses += c.misses.Load()
	s.New += c.created.Load()
	s.Related += c.related.Load()
	s.Evicted += c.evicted.Load()
	s.Expired += c.expired.Load()
	s.Deleted += c.deleted.Load()
	s.Clashes += c.clashes.Load()
	s.CommitFailed += c.failed.Load()
	s.Fragments += c.fragments.Load()
	s.freed += c.freed.Load()
	for i := range c.reasons {
		s.Reasons[i] += c.reasons[i].Load()
	}
}

// Counters sums the counters of the control plane and of every worker
// as of its last Publish.
func (t *Table) Counters() Counters {
	var s Counters
	t.mu.Lock()
	for _, w := range t.workers {
		w.pub.addTo(&s)
	}
	t.mu.Unlock()
	t.ctl.addTo(&s)
	return s
}

// Len is the number of flows in the table, from the counters (exact
// when every worker has published since its last Track or Commit).
func (t *Table) Len() int {
	c := t.Counters()
	return int(c.New - c.freed)
}
