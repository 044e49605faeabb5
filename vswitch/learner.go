package vswitch

import (
	"sync"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/pipeline"
)

// learnEvent asks the learner to bind key (domain, source MAC) to a port.
type learnEvent struct {
	key  uint64
	port uint16
}

// learnRing carries one worker's learn events to the learner.
type learnRing = eventRing[learnEvent]

func newLearnRing(n int) *learnRing { return newEventRing[learnEvent](n) }

// learner is the single writer of the MAC table. Its methods run with mu
// held: from its own goroutine (draining rings, aging) and from the control
// plane (flushes, static entries, purges).
type learner struct {
	mu    sync.Mutex
	s     *Switch
	rings []*learnRing
	macs  atomic.Pointer[macTable]

	brCount   []int    // entries per bridge ID
	domBridge []uint16 // bridge ID of each domain ID with entries
	limitHit  []uint64 // learn events refused by the MAC limit, per bridge ID
	// Per port index: learned (dynamic) entries in the table, flushed
	// ones included until reclaimed, and learn events refused by the
	// port's MAC limit.
	portCount    []int
	portLimitHit []uint64
	sweepPos     int
	stale        bool // a port was flushed since the last full sweep

	learned, moved, aged, purged atomic.Uint64

	// guards are the IP source and RA guards of the ports with port
	// security (portsec_ip.go), which l2-input loads once per vector.
	// They are published with each tables, just before them, by
	// applyLocked; kept here because they belong to no table the
	// learner writes, but like the MAC table are the switch's per-port
	// state every worker reads.
	guards atomic.Pointer[portGuards]

	// unfused turns the fused paths off (l2-fwd's tx of known unicast,
	// vxlan-encap's underlay, ip4-forward's hand-off to vxlan-decap):
	// every packet takes the node-by-node path, for the tests that
	// compare the two.
	unfused atomic.Bool
}

func newLearner(s *Switch, workers, ringSize int) *learner {
	l := &learner{s: s, portCount: make([]int, pipeline.MaxPorts), portLimitHit: make([]uint64, pipeline.MaxPorts)}
	for range workers {
		l.rings = append(l.rings, newLearnRing(ringSize))
	}
	l.macs.Store(newMACTable(minBuckets))
	l.guards.Store(new(portGuards))
	return l
}

// drain processes every queued learn event and returns how many there
// were. Caller holds mu.
func (l *learner) drain() int {
	t := l.s.tables.Load()
	now := l.s.now.Load()
	n := 0
	for _, r := range l.rings {
		n += r.consume(func(e learnEvent) { l.learn(t, e, now) })
	}
	return n
}

func (l *learner) valid(v uint64) bool {
	return valSeq(v) == uint16(l.s.portSeq[valPort(v)].Load())
}

func (l *learner) learn(t *tables, e learnEvent, now uint32) {
	dom := uint16(e.key >> 48)
	if int(dom) >= len(t.domains) || !t.domains[dom].valid {
		return
	}
	d := &t.domains[dom]
	pe := &t.ports[e.port]
	if !pe.up || pe.bridge != d.bridge || !pe.carriesDomain(d.vlan, dom) {
		return
	}
	mt := l.macs.Load()
	seq := uint16(l.s.portSeq[e.port].Load())
	_, old, found := mt.lookup(e.key)
	valid := found && l.valid(old)
	if valid && (valStaticOf(old) || valPort(old) == e.port) {
		return
	}
	if !found || valStaticOf(old) || valPort(old) != e.port {
		// One more entry on e.port: within its limit?
		if !l.portRoom(t, e.port, now) {
			return
		}
		// portRoom may have reclaimed e.key's stale entry.
		mt = l.macs.Load()
		_, old, found = mt.lookup(e.key)
		valid = found && l.valid(old)
	}
	if found {
		l.insert(dom, d.bridge, e.key, packVal(e.port, seq, false, now))
		l.s.fpath.set(e.key, e.port)
		if valid {
			l.moved.Add(1)
		}
		return
	}
	b := d.bridge
	l.domBridge = growTo(l.domBridge, int(dom))
	l.brCount = growTo(l.brCount, int(b))
	l.limitHit = growTo(l.limitHit, int(b))
	if l.brCount[b] >= t.bridges[b].limit {
		if !l.stale {
			l.limitHit[b]++
			return
		}
		l.sweep(0, len(mt.b), now) // reclaim flushed entries first
		if l.brCount[b] >= t.bridges[b].limit {
			l.limitHit[b]++
			return
		}
	}
	l.insert(dom, b, e.key, packVal(e.port, seq, false, now))
	l.s.fpath.set(e.key, e.port)
	l.learned.Add(1)
}

// portRoom reports whether port p may learn one more MAC, reclaiming
// flushed entries first if it is at its limit; if not, the refusal is
// counted.
func (l *learner) portRoom(t *tables, p uint16, now uint32) bool {
	lim := int(t.ports[p].macLimit)
	if lim == 0 || l.portCount[p] < lim {
		return true
	}
	if l.stale {
		l.sweep(0, len(l.macs.Load().b), now)
		if l.portCount[p] < lim {
			return true
		}
	}
	l.portLimitHit[p]++
	return false
}

// insert adds a key or overwrites its value, growing the table when it is
// 3/4 full or the key's buckets are full, and keeps the per-port counts of
// dynamic entries.
func (l *learner) insert(dom, b uint16, key, val uint64) {
	mt := l.macs.Load()
	if _, old, found := mt.lookup(key); found && !valStaticOf(old) {
		l.portCount[valPort(old)]--
	}
	if !valStaticOf(val) {
		l.portCount[valPort(val)]++
	}
	if (mt.count+1)*4 > mt.slots()*3 {
		mt = mt.grown()
		l.macs.Store(mt)
	}
	ok, added := mt.put(key, val)
	for !ok {
		mt = mt.grown()
		l.macs.Store(mt)
		ok, added = mt.put(key, val)
	}
	if added {
		l.domBridge = growTo(l.domBridge, int(dom))
		l.brCount = growTo(l.brCount, int(b))
		l.domBridge[dom] = b
		l.brCount[b]++
	}
}

func (l *learner) remove(key uint64) {
	mt := l.macs.Load()
	if _, old, found := mt.lookup(key); found && !valStaticOf(old) {
		l.portCount[valPort(old)]--
	}
	if mt.del(key) {
		l.brCount[l.domBridge[uint16(key>>48)]]--
	}
	l.s.fpath.forget(key)
}

// sweep ages and reclaims entries in buckets [from, to): entries of retired
// domains, entries whose port was flushed, and dynamic entries idle for
// longer than their bridge's age — unless the fast path forwarded frames
// from the MAC since the last look, which refreshes them.
func (l *learner) sweep(from, to int, now uint32) {
	t := l.s.tables.Load()
	mt := l.macs.Load()
	var refresh []uint64
	mt.each(from, to, func(k, v uint64) bool {
		dom := uint16(k >> 48)
		del := false
		switch {
		case int(dom) >= len(t.domains) || !t.domains[dom].valid:
			l.purged.Add(1)
			del = true
		case !l.valid(v):
			del = true
		case !valStaticOf(v) && (now-valTS(v))&tsMask > t.bridges[t.domains[dom].bridge].ageSec:
			if l.s.fpath.active(k) {
				refresh = append(refresh, k)
				break
			}
			l.aged.Add(1)
			del = true
		}
		if del {
			l.brCount[l.domBridge[dom]]--
			if !valStaticOf(v) {
				l.portCount[valPort(v)]--
			}
			l.s.fpath.forget(k)
		}
		return del
	})
	for _, k := range refresh {
		if s, v, ok := mt.lookup(k); ok {
			s.Store(withTS(v, now))
		}
	}
	if from == 0 && to >= len(mt.b) {
		l.stale = false
	}
}

// ageStep sweeps the next slice of the table so that a whole pass takes
// about ten calls (one a second) however large the table is.
func (l *learner) ageStep(now uint32) {
	mt := l.macs.Load()
	n := len(mt.b)
	chunk := max(n/10, 4096)
	if l.sweepPos >= n {
		l.sweepPos = 0
	}
	from := l.sweepPos
	l.sweepPos += chunk
	l.sweep(from, l.sweepPos, now)
	if l.sweepPos >= n && from == 0 {
		l.stale = false
	}
}
