package acl

import (
	"runtime"
	"sync/atomic"
)

// Counters are one worker's packet and byte counters for every counter
// index of one Classifier, in the house style of the pipeline's node
// counters: the worker adds to plain words (Count: no atomic and no lock
// on the packet path) and copies them every few vectors to published
// atomics (Publish), which the control plane reads with Snapshot at any
// time. A Counters belongs to one worker; only Publish's copies may be
// read by others.
//
// When the control plane publishes a new Classifier it gives each worker
// new Counters made with NewCounters(prev), prev being that worker's
// current ones; the worker calls Adopt once, when it switches, which adds
// prev's totals into the new counters under the same group and rule names
// (and, for default denies, the same groups and direction), so the counts
// of a rule survive a reconfiguration that keeps it. Until the worker has
// adopted them (an idle worker may not for a long time), Snapshot adds
// prev's published totals itself, so a rule's count never reads as zero
// after another rule changed. A worker must count
// with the Counters of the Classifier it looked up in: the control plane
// publishes the two together (one atomic pointer to a pair).
type Counters struct {
	info  []RuleInfo               // of the classifier these count for
	local []uint64                 // packets of index i at 2i, bytes at 2i+1
	pub   []atomic.Uint64          // published copy of local
	prev  atomic.Pointer[Counters] // until Adopt
	carry []int32                  // for each index of prev, the index here or -1; never changes
	// state tells Snapshot whether local (and pub) hold prev's totals:
	// stFresh (not yet: Snapshot adds prev's), stAdopting (in the middle:
	// Snapshot waits), stAdopted.
	state atomic.Uint32
}

const (
	stFresh uint32 = iota
	stAdopting
	stAdopted
)

// counterKey identifies a counter across classifiers.
type counterKey struct {
	group, rule string
	dir         Direction
	def         bool
}

func keyOf(r *RuleInfo) counterKey {
	k := counterKey{group: r.Group, rule: r.Rule, def: r.Default}
	if r.Default { // a rule's name is unique in its group whatever its direction
		k.dir = r.Direction
	}
	return k
}

// NewCounters returns zeroed counters for c. prev, when not nil, is the
// worker's counters for the classifier c replaces; see Adopt.
func (c *Classifier) NewCounters(prev *Counters) *Counters {
	n := len(c.info)
	k := &Counters{info: c.info, local: make([]uint64, 2*n), pub: make([]atomic.Uint64, 2*n)}
	if prev == nil {
		return k
	}
	idx := make(map[counterKey]int32, n)
	for i := range c.info {
		idx[keyOf(&c.info[i])] = int32(i)
	}
	k.prev.Store(prev)
	k.carry = make([]int32, len(prev.info))
	for i := range prev.info {
		j, ok := idx[keyOf(&prev.info[i])]
		if !ok {
			j = -1
		}
		k.carry[i] = j
	}
	return k
}

// Count charges one packet of the given length to counter index i, as
// returned by Lookup; NoRule is ignored. Only the owning worker calls it.
func (k *Counters) Count(i int32, bytes int) {
	if uint(i) >= uint(len(k.local))/2 {
		return
	}
	w := k.local[2*i : 2*i+2 : 2*i+2]
	w[0]++
	w[1] += uint64(bytes)
}

// Publish makes the worker's counts visible to Snapshot. The worker calls
// it every few vectors and when it goes idle, not per packet: it costs an
// atomic store per changed word.
func (k *Counters) Publish() {
	for i, v := range k.local {
		if k.pub[i].Load() != v {
			k.pub[i].Store(v)
		}
	}
}

// Adopt adds the totals of the counters these replace (the prev of
// NewCounters, and theirs in turn if the worker skipped a generation) and
// forgets them. The worker that owned prev calls it once, after its last
// Count on prev; it allocates nothing.
func (k *Counters) Adopt() {
	p := k.prev.Load()
	if p == nil {
		return
	}
	k.state.Store(stAdopting)
	p.Adopt()
	for i, j := range k.carry {
		if j >= 0 {
			k.local[2*j] += p.local[2*i]
			k.local[2*j+1] += p.local[2*i+1]
		}
	}
	k.Publish()
	k.state.Store(stAdopted)
	k.prev.Store(nil) // the chain of older generations can go
}

// published returns k's published counts per index (packets at 2i, bytes
// at 2i+1), with the totals of the counters k replaces that k's worker
// has not adopted yet carried over as Adopt would. It may run beside the
// worker: it reads again if an Adopt ran meanwhile, and waits out one in
// progress (Adopt is a few loops over the counters).
func (k *Counters) published() []uint64 {
	out := make([]uint64, len(k.pub))
	for {
		s1 := k.state.Load()
		if s1 == stAdopting {
			runtime.Gosched()
			continue
		}
		for i := range out {
			out[i] = k.pub[i].Load()
		}
		if s1 == stFresh {
			if p := k.prev.Load(); p != nil {
				pv := p.published()
				for i, j := range k.carry {
					if j >= 0 {
						out[2*j] += pv[2*i]
						out[2*j+1] += pv[2*i+1]
					}
				}
			}
		}
		if k.state.Load() == s1 {
			return out
		}
	}
}

// RuleCount is a counter index's description and its totals.
type RuleCount struct {
	RuleInfo
	Packets, Bytes uint64
}

// Snapshot sums the published counts of the workers' Counters (all made
// by c.NewCounters) per counter index. It may run at any time, beside the
// workers.
func (c *Classifier) Snapshot(workers ...*Counters) []RuleCount {
	out := make([]RuleCount, len(c.info))
	for i := range out {
		out[i].RuleInfo = c.info[i]
	}
	for _, k := range workers {
		if len(k.info) != len(c.info) || len(k.info) > 0 && &k.info[0] != &c.info[0] {
			continue // counters of another classifier
		}
		v := k.published()
		for i := range out {
			out[i].Packets += v[2*i]
			out[i].Bytes += v[2*i+1]
		}
	}
	return out
}

// PublishIndex publishes counter index i alone (its packets and bytes):
// for a worker that counts few distinct indexes per vector and keeps its
// own list of them, so that publishing costs two atomic stores per index
// it touched rather than one load per counter of the classifier (Publish).
// Out-of-range indexes, NoRule among them, are ignored.
func (k *Counters) PublishIndex(i int32) {
	if uint(i) >= uint(len(k.local))/2 {
		return
	}
	k.pub[2*i].Store(k.local[2*i])
	k.pub[2*i+1].Store(k.local[2*i+1])
}
