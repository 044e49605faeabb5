package vswitch

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// neighbors is the ARP/ND table: (router interface, IP) -> MAC. Like the
// MAC table it has one writer (the neighbor manager, under mu) and lock-free
// readers (the workers):
//
//   - Entries live in a fixed slab and never move. A worker finds one
//     through an open-addressing index (slab positions) published with an
//     atomic pointer; the writer builds a new index when entries come or go
//     (rare: a new neighbor, aging) and publishes it whole.
//   - An entry's MAC and its last-confirmed time are atomics, so a changed
//     MAC or a confirmation takes effect in place without a new index.
//   - A removed entry's slot is reused only after every worker has passed
//     an iteration (quiesce), so a worker never reads a recycled entry.
//
// Workers never write entries except the confirmation time: what they learn
// from ARP and ND (a new neighbor, a changed MAC) goes to the manager
// through per-worker event rings, like MAC learning.
//
// Room is shared fairly (issue: one container filled the table with
// solicitations from random sources, and new hosts lost their gateway):
//
//   - A learned entry is stale (nbrStale: created by a packet we did not
//     ask for — a request or solicitation to us, an unsolicited reply or
//     advertisement — or whose MAC such a packet changed) or reachable
//     (nbrReachable: created or confirmed by the answer to a request the
//     glean node sent, see asked), as Linux's NUD_STALE and NUD_REACHABLE.
//   - One interface holds at most ifMax learned entries (a quarter of the
//     table), so a flood on one interface never takes the room of others.
//   - When an interface is at its share, or the table is full, a new
//     entry evicts the longest-unconfirmed of the oldest stale entries of
//     that interface (table full: of the interface with the most stale
//     entries); a reachable one goes only for a new reachable entry, when
//     no stale one is left. With nothing to evict the entry is refused
//     (counted as full). Static entries are never evicted.
type neighbors struct {
	s     *Switch
	max   int
	ifMax int    // learned entries per interface
	age   uint32 // seconds

	// slab is allocated once at its full size (untouched pages cost no
	// memory) so entries never move and workers can hold it unlocked.
	slab []nbrEntry

	mu    sync.Mutex
	used  int // slab entries ever handed out
	free  []uint32
	keys  map[nbrKey]uint32 // slab position
	idx   atomic.Pointer[nbrIndex]
	rings []*eventRing[nbrEvent]

	// lists are the learned entries of each interface (by ID), stale and
	// reachable, in the order they entered that state; eviction takes
	// from their heads. Manager-only, under mu.
	lists []nbrIfLists
	// pending are slab positions of evicted entries, unindexed but not
	// yet reusable (a worker may still read them); deferred are the new
	// entries waiting for them. drain frees them after one quiesce.
	pending  []uint32
	deferred []nbrEvent

	// rmacs is the sorted list of every router interface's MAC: no
	// neighbor may claim one (arp-input, ip6-local read it per vector).
	rmacs atomic.Pointer[[]uint64]

	// asked remembers, direct-mapped and lossy, the neighbors the glean
	// nodes solicited and when (Switch.now, seconds): hash<<32 | time.
	// An answer from a neighbor asked for within nbrAskWindow is
	// solicited and makes a reachable entry; any other packet makes (or
	// leaves) a stale one. Glean nodes write it, arp-input and ip6-local
	// read it.
	asked [nbrAskSlots]atomic.Uint64

	learned, updated, aged, full, evicted atomic.Uint64
}

// Learned entry states (nbrEntry.state; static entries are reachable).
const (
	nbrStale uint32 = iota
	nbrReachable
)

const (
	nbrAskSlots  = 4096
	nbrAskWindow = 3 // seconds an answer to our request counts as solicited
	// victimScan is how many entries from a list's head eviction looks at
	// for the one confirmed longest ago.
	victimScan = 16
)

// nbrList is a doubly linked list of slab entries (positions + 1; 0 ends).
type nbrList struct {
	head, tail uint32
	n          int
}

// nbrIfLists are one interface's learned entries by state, and how many
// new ones wait for a slot (deferred).
type nbrIfLists struct {
	l        [2]nbrList
	reserved int
}

func (l *nbrIfLists) learned() int { return l.l[nbrStale].n + l.l[nbrReachable].n + l.reserved }

type nbrKey struct {
	iface uint16
	a     nbrAddr
}

type nbrEntry struct {
	// Key: written before the entry is indexed, constant while indexed.
	a     nbrAddr
	iface uint16
	// static entries come from the configuration: never aged, never
	// changed by ARP/ND.
	static bool

	mac  atomic.Uint64 // 48-bit MAC
	seen atomic.Uint32 // Switch.now when last confirmed
	// state is nbrStale or nbrReachable: written by the manager, read by
	// workers (a solicited answer for a stale entry becomes an event).
	state atomic.Uint32
	// prev and next link a learned entry in its interface's list of its
	// state (slab positions + 1). Manager-only.
	prev, next uint32
}

// nbrEvent is a worker's report of a neighbor's MAC (from an ARP packet,
// an NS source link-layer option or an NA target option). confirmed: it
// answers a request we sent (the entry becomes reachable).
type nbrEvent struct {
	iface     uint16
	a         nbrAddr
	mac       uint64
	confirmed bool
}

type nbrIndex struct {
	slot []uint32 // slab position + 1; 0 is empty
	mask uint64
}

const (
	defaultNeighbors = 1 << 16
	defaultNbrAge    = 300 * time.Second
)

func newNeighbors(s *Switch, workers, ring, limit int) *neighbors {
	if limit <= 0 {
		limit = defaultNeighbors
	}
	age := s.opts.NeighborAge
	if age <= 0 {
		age = defaultNbrAge
	}
	n := &neighbors{s: s, max: limit, ifMax: max(1, limit/4), age: uint32(max(1, age/time.Second)), keys: map[nbrKey]uint32{},
		slab: make([]nbrEntry, limit)}
	n.rmacs.Store(new([]uint64))
	for range workers {
		n.rings = append(n.rings, newEventRing[nbrEvent](ring))
	}
	n.idx.Store(&nbrIndex{slot: make([]uint32, 64), mask: 63})
	return n
}

func nbrHash(iface uint16, a nbrAddr) uint64 {
	h := (a.lo ^ uint64(iface)<<48) * 0x9E3779B97F4A7C15
	h ^= a.hi * 0xC2B2AE3D27D4EB4F
	return h ^ h>>29
}

// find is the workers' lookup; nil when the neighbor is unknown.
func (ix *nbrIndex) find(slab []nbrEntry, iface uint16, a nbrAddr) *nbrEntry {
	for i := nbrHash(iface, a) & ix.mask; ; i = (i + 1) & ix.mask {
		s := ix.slot[i]
		if s == 0 {
			return nil
		}
		e := &slab[s-1]
		if e.a == a && e.iface == iface {
			return e
		}
	}
}

// view is what a worker loads once per vector.
func (n *neighbors) view() (*nbrIndex, []nbrEntry) { return n.idx.Load(), n.slab }

// drain applies every queued event. It returns how many there were.
func (n *neighbors) drain() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.s.now.Load()
	added := false
	total := 0
	for _, r := range n.rings {
		total += r.consume(func(e nbrEvent) {
			if n.apply(e, now, false) {
				added = true
			}
		})
	}
	if len(n.pending) > 0 {
		// Evicted entries: unindex them, let every worker move on, then
		// give their slots to the entries that waited.
		n.publish()
		n.quiesce()
		n.release(n.pending)
		n.pending = n.pending[:0]
		for _, e := range n.deferred {
			n.lists[e.iface].reserved--
		}
		for _, e := range n.deferred {
			n.apply(e, now, true)
		}
		n.deferred = n.deferred[:0]
		added = true
	}
	if added {
		n.publish()
	}
	return total
}

// apply records one event; it reports whether an entry was added (the
// index must be republished). final is set for a deferred entry's second
// try: it never waits again. Caller holds mu.
func (n *neighbors) apply(e nbrEvent, now uint32, final bool) bool {
	t := n.s.tables.Load()
	if int(e.iface) >= len(t.ifaces) || !t.ifaces[e.iface].valid {
		return false
	}
	if pos, ok := n.keys[nbrKey{e.iface, e.a}]; ok {
		en := &n.slab[pos]
		if en.static {
			return false
		}
		state := en.state.Load()
		if en.mac.Load() != e.mac {
			en.mac.Store(e.mac)
			n.updated.Add(1)
			state = nbrStale // until confirmed: evicted first, as Linux
		}
		if e.confirmed {
			state = nbrReachable
		}
		n.setState(pos, state)
		en.seen.Store(now)
		return false
	}
	state := nbrStale
	if e.confirmed {
		state = nbrReachable
	}
	n.growLists(e.iface)
	evicted := false
	if n.lists[e.iface].learned() >= n.ifMax {
		v := n.victim(e.iface, e.confirmed)
		if v == 0 {
			n.full.Add(1)
			return false
		}
		n.evict(v - 1)
		evicted = true
	}
	if len(n.free) == 0 && n.used >= len(n.slab) {
		if final {
			n.full.Add(1)
			return false
		}
		if !evicted {
			v := n.anyVictim(e.confirmed)
			if v == 0 {
				n.full.Add(1)
				return false
			}
			n.evict(v - 1)
		}
		n.lists[e.iface].reserved++
		n.deferred = append(n.deferred, e)
		return false
	}
	return n.addState(e.iface, e.a, e.mac, false, state, now)
}

// add puts a new entry in the slab (not yet indexed): a static one, or a
// learned one as reachable (takeover's import: what the predecessor had).
// It fails, counted as full, when the slab or the interface's share is
// full. Caller holds mu.
func (n *neighbors) add(iface uint16, a nbrAddr, mac uint64, static bool, now uint32) bool {
	if !static {
		n.growLists(iface)
		if n.lists[iface].learned() >= n.ifMax {
			n.full.Add(1)
			return false
		}
	}
	return n.addState(iface, a, mac, static, nbrReachable, now)
}

// addState is add with the learned entry's state, and no share check.
func (n *neighbors) addState(iface uint16, a nbrAddr, mac uint64, static bool, state uint32, now uint32) bool {
	var pos uint32
	if k := len(n.free); k > 0 {
		pos, n.free = n.free[k-1], n.free[:k-1]
	} else {
		if n.used >= len(n.slab) {
			n.full.Add(1)
			return false
		}
		pos = uint32(n.used)
		n.used++
	}
	e := &n.slab[pos]
	e.a, e.iface, e.static = a, iface, static
	e.mac.Store(mac)
	e.seen.Store(now)
	if static {
		state = nbrReachable
	}
	e.state.Store(state)
	n.keys[nbrKey{iface, a}] = pos
	if !static {
		n.link(pos)
		n.learned.Add(1)
	}
	return true
}

// growLists makes n.lists cover interface iface.
func (n *neighbors) growLists(iface uint16) {
	if int(iface) >= len(n.lists) {
		n.lists = append(n.lists, make([]nbrIfLists, int(iface)+1-len(n.lists))...)
	}
}

// link appends learned entry pos to its interface's list of its state.
func (n *neighbors) link(pos uint32) {
	e := &n.slab[pos]
	n.growLists(e.iface)
	l := &n.lists[e.iface].l[e.state.Load()]
	e.prev, e.next = l.tail, 0
	if l.tail != 0 {
		n.slab[l.tail-1].next = pos + 1
	} else {
		l.head = pos + 1
	}
	l.tail = pos + 1
	l.n++
}

// unlink takes learned entry pos out of its list.
func (n *neighbors) unlink(pos uint32) {
	e := &n.slab[pos]
	l := &n.lists[e.iface].l[e.state.Load()]
	if e.prev != 0 {
		n.slab[e.prev-1].next = e.next
	} else {
		l.head = e.next
	}
	if e.next != 0 {
		n.slab[e.next-1].prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = 0, 0
	l.n--
}

// setState moves learned entry pos to the list of state (to its tail
// when the state changes).
func (n *neighbors) setState(pos uint32, state uint32) {
	if n.slab[pos].state.Load() == state {
		return
	}
	n.unlink(pos)
	n.slab[pos].state.Store(state)
	n.link(pos)
}

// victim picks the entry of interface iface to evict (slab position + 1,
// 0 for none): among the first victimScan stale entries (the oldest to
// become stale) the one confirmed longest ago; when none is stale and
// reach is set, the same among the reachable ones.
func (n *neighbors) victim(iface uint16, reach bool) uint32 {
	if int(iface) >= len(n.lists) {
		return 0
	}
	ls := &n.lists[iface]
	if v := n.oldest(&ls.l[nbrStale]); v != 0 || !reach {
		return v
	}
	return n.oldest(&ls.l[nbrReachable])
}

func (n *neighbors) oldest(l *nbrList) uint32 {
	now := n.s.now.Load()
	best, bestAge := uint32(0), uint32(0)
	for p, k := l.head, 0; p != 0 && k < victimScan; p, k = n.slab[p-1].next, k+1 {
		if age := now - n.slab[p-1].seen.Load(); best == 0 || age > bestAge {
			best, bestAge = p, age
		}
	}
	return best
}

// anyVictim picks the entry to evict when the table is full: a stale one
// of the interface with the most stale entries, or, when reach is set
// and none is stale, a reachable one of the interface with the most.
func (n *neighbors) anyVictim(reach bool) uint32 {
	for st := nbrStale; st <= nbrReachable; st++ {
		if st == nbrReachable && !reach {
			break
		}
		best := -1
		for i := range n.lists {
			if c := n.lists[i].l[st].n; c > 0 && (best < 0 || c > n.lists[best].l[st].n) {
				best = i
			}
		}
		if best >= 0 {
			return n.oldest(&n.lists[best].l[st])
		}
	}
	return 0
}

// evict unindexes learned entry pos (at the next publish); its slot is
// reused after the workers have moved on (drain). Caller holds mu.
func (n *neighbors) evict(pos uint32) {
	e := &n.slab[pos]
	delete(n.keys, nbrKey{e.iface, e.a})
	n.unlink(pos)
	n.pending = append(n.pending, pos)
	n.evicted.Add(1)
}

// quiesce waits until every worker has passed an iteration.
func (n *neighbors) quiesce() {
	for _, w := range n.s.workers {
		w.Quiesce()
	}
}

// release returns unindexed slots, which no worker reads any more, to the
// free list.
func (n *neighbors) release(pos []uint32) {
	for _, p := range pos {
		e := &n.slab[p]
		e.iface, e.static = 0, false
		n.free = append(n.free, p)
	}
}

// badSenderMAC reports whether mac can never be a neighbor's: not unicast
// (broadcast, multicast), all zero, or a router interface's own (rmacs,
// sorted). arp-input and ip6-local drop ARP and ND packets that claim
// one, as neigh/add refuses it.
func badSenderMAC(mac uint64, rmacs []uint64) bool {
	if mac == 0 || mac>>40&1 != 0 {
		return true
	}
	_, own := slices.BinarySearch(rmacs, mac)
	return own
}

// badSender4 reports whether ip can never be a neighbor on interface e: a
// martian address (this network, loopback, multicast, class E, limited
// broadcast), one of e's own (with proxy ARP, the gateway it answers as
// too), or the network or broadcast address of one of e's subnets
// shorter than /31.
func badSender4(e *ifaceEntry, ip uint32) bool {
	if martian4(ip) || e.proxy && ip == proxyGW4 {
		return true
	}
	for _, a := range e.addr4 {
		if ip == a.ip {
			return true
		}
		if ^a.mask >= 3 && ip&a.mask == a.ip&a.mask && (ip&^a.mask == 0 || ip|a.mask == ^uint32(0)) {
			return true
		}
	}
	return false
}

// badSender6 is badSender4 for IPv6: the unspecified and loopback
// addresses, multicast, one of e's own, or the subnet-router anycast
// address (host part zero) of one of its subnets shorter than /127.
func badSender6(e *ifaceEntry, a nbrAddr) bool {
	if a.hi == 0 && a.lo <= 1 || proto.IsMulticast6(a.hi, a.lo) || e.has6(a) {
		return true
	}
	for _, x := range e.addr6 {
		if x.bits < 127 && prefixMatch6(x.a, a, x.bits) && hostZero6(a, x.bits) {
			return true
		}
	}
	return false
}

// hostZero6 reports whether the bits of a after the first bits are zero.
func hostZero6(a nbrAddr, bits int) bool {
	if bits >= 64 {
		return a.lo<<(bits-64) == 0
	}
	return a.lo == 0 && a.hi<<bits == 0
}

// ask records that a glean node solicited neighbor a on interface iface
// at now (Switch.now).
func (n *neighbors) ask(iface uint16, a nbrAddr, now uint32) {
	h := nbrHash(iface, a)
	n.asked[h&(nbrAskSlots-1)].Store(h>>32<<32 | uint64(now))
}

// wasAsked reports whether a was solicited on iface within nbrAskWindow
// of now (a colliding slot may forget it: then the answer counts as
// unsolicited, and the entry stays stale until the next refresh).
func (n *neighbors) wasAsked(iface uint16, a nbrAddr, now uint32) bool {
	h := nbrHash(iface, a)
	v := n.asked[h&(nbrAskSlots-1)].Load()
	return v != 0 && v>>32 == h>>32 && now-uint32(v) <= nbrAskWindow
}

// publish builds and publishes a new index of every live entry. Caller
// holds mu.
func (n *neighbors) publish() {
	size := 64
	for size < 2*len(n.keys) {
		size *= 2
	}
	ix := &nbrIndex{slot: make([]uint32, size), mask: uint64(size - 1)}
	for k, pos := range n.keys {
		i := nbrHash(k.iface, k.a) & ix.mask
		for ix.slot[i] != 0 {
			i = (i + 1) & ix.mask
		}
		ix.slot[i] = pos + 1
	}
	n.idx.Store(ix)
}

// remove unindexes entries; their slots are reused after the workers have
// moved on. Caller holds mu.
func (n *neighbors) remove(keys []nbrKey) {
	if len(keys) == 0 {
		return
	}
	var freed []uint32
	for _, k := range keys {
		if pos, ok := n.keys[k]; ok {
			delete(n.keys, k)
			if !n.slab[pos].static {
				n.unlink(pos)
			}
			freed = append(freed, pos)
		}
	}
	n.publish()
	n.quiesce()
	n.release(freed)
}

// ageStep removes learned entries not confirmed within the age.
func (n *neighbors) ageStep(now uint32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var old []nbrKey
	for k, pos := range n.keys {
		e := &n.slab[pos]
		switch {
		case e.static:
			e.seen.Store(now) // never stale: forwarding does not probe it
		case now-e.seen.Load() > n.age:
			old = append(old, k)
		}
	}
	n.aged.Add(uint64(len(old)))
	n.remove(old)
}

// flush removes the learned entries of one interface (0: all).
func (n *neighbors) flush(iface uint16) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var gone []nbrKey
	for k, pos := range n.keys {
		if !n.slab[pos].static && (iface == 0 || k.iface == iface) {
			gone = append(gone, k)
		}
	}
	n.remove(gone)
}

// sync makes the static entries match the configuration and drops entries
// of interfaces that exist no more. It runs after t is published.
func (n *neighbors) sync(t *tables, l3 *l3Config) {
	n.mu.Lock()
	defer n.mu.Unlock()
	want := map[nbrKey]uint64{}
	if l3 != nil {
		for _, s := range l3.neighs {
			id := n.s.l3.ifIDs.ids[l3.ifaces[s.iface-1].Name]
			want[nbrKey{id, addrKey(s.addr)}] = s.mac
		}
	}
	var gone []nbrKey
	for k, pos := range n.keys {
		e := &n.slab[pos]
		_, wanted := want[k]
		if int(k.iface) >= len(t.ifaces) || !t.ifaces[k.iface].valid || e.static && !wanted {
			gone = append(gone, k)
		}
	}
	n.remove(gone)
	n.syncRouterMACs(t)
	now := n.s.now.Load()
	added := false
	var room []nbrKey // static entries waiting for a learned one's slot
	for k, mac := range want {
		if pos, ok := n.keys[k]; ok {
			e := &n.slab[pos]
			if !e.static {
				n.unlink(pos)
			}
			e.static = true // written under mu; workers only read MAC and seen
			e.state.Store(nbrReachable)
			e.mac.Store(mac)
			continue
		}
		if len(n.free) == 0 && n.used >= len(n.slab) {
			room = append(room, k)
			continue
		}
		if n.add(k.iface, k.a, mac, true, now) {
			added = true
		}
	}
	if len(room) > 0 {
		// The table is full of learned entries: static ones (the
		// configuration) take their slots.
		for range room {
			v := n.anyVictim(true)
			if v == 0 {
				break
			}
			n.evict(v - 1)
		}
		n.publish()
		n.quiesce()
		n.release(n.pending)
		n.pending = n.pending[:0]
		for _, k := range room {
			if n.add(k.iface, k.a, want[k], true, now) {
				added = true
			}
		}
	}
	if added {
		n.publish()
	}
}

// syncRouterMACs publishes the MACs of t's router interfaces for the
// workers' sender checks (badSenderMAC).
func (n *neighbors) syncRouterMACs(t *tables) {
	var macs []uint64
	for i := range t.ifaces {
		if e := &t.ifaces[i]; e.valid {
			macs = append(macs, mac48(e.mac[:]))
		}
	}
	slices.Sort(macs)
	n.rmacs.Store(&macs)
}

// NeighborEntry is one ARP/ND table entry as shown by neigh/show.
type NeighborEntry struct {
	Interface string `json:"interface"`
	Addr      string `json:"addr"`
	MAC       string `json:"mac"`
	Static    bool   `json:"static,omitempty"`
	// Age is the seconds since the entry was last confirmed.
	Age uint32 `json:"age"`
}

// NeighborStats are the ARP/ND table's size, limits and counters
// (neigh/stats, the vswitch_neighbor_* metrics).
type NeighborStats struct {
	Entries   int `json:"entries"`
	Static    int `json:"static"`
	Stale     int `json:"stale"`
	Reachable int `json:"reachable"`
	// Limit is the table's size (Options.Neighbors); InterfaceLimit the
	// most learned entries one interface holds.
	Limit          int `json:"limit"`
	InterfaceLimit int `json:"interface_limit"`
	// Learned counts entries created from ARP/ND, Updated MAC changes,
	// Aged entries removed unconfirmed for the age, Evicted learned
	// entries removed for a new one, and Full new entries refused for
	// want of room (nothing evictable).
	Learned uint64 `json:"learned"`
	Updated uint64 `json:"updated"`
	Aged    uint64 `json:"aged"`
	Evicted uint64 `json:"evicted"`
	Full    uint64 `json:"full"`
	// Interfaces are the learned entries per interface, by name.
	Interfaces []NeighborIfaceStats `json:"interfaces"`
}

// NeighborIfaceStats is one router interface's share of the table.
type NeighborIfaceStats struct {
	Interface string `json:"interface"`
	Stale     int    `json:"stale"`
	Reachable int    `json:"reachable"`
}

// NeighborStats reports the ARP/ND table's size, limits and counters.
func (s *Switch) NeighborStats() NeighborStats {
	n := s.nbr
	t := s.tables.Load()
	n.mu.Lock()
	st := NeighborStats{Entries: len(n.keys), Limit: n.max, InterfaceLimit: n.ifMax,
		Learned: n.learned.Load(), Updated: n.updated.Load(), Aged: n.aged.Load(), Evicted: n.evicted.Load(), Full: n.full.Load()}
	for i := range n.lists {
		l := &n.lists[i]
		st.Stale += l.l[nbrStale].n
		st.Reachable += l.l[nbrReachable].n
		if l.l[nbrStale].n+l.l[nbrReachable].n > 0 && i < len(t.ifaces) && t.ifaces[i].valid {
			st.Interfaces = append(st.Interfaces, NeighborIfaceStats{Interface: t.ifaces[i].name,
				Stale: l.l[nbrStale].n, Reachable: l.l[nbrReachable].n})
		}
	}
	n.mu.Unlock()
	st.Static = st.Entries - st.Stale - st.Reachable
	slices.SortFunc(st.Interfaces, func(a, b NeighborIfaceStats) int { return strings.Compare(a.Interface, b.Interface) })
	return st
}

// Neighbors lists the ARP/ND table, sorted by interface and address.
func (s *Switch) Neighbors() []NeighborEntry {
	n := s.nbr
	t := s.tables.Load()
	now := s.now.Load()
	n.mu.Lock()
	out := make([]NeighborEntry, 0, len(n.keys))
	for k, pos := range n.keys {
		e := &n.slab[pos]
		name := ""
		if int(k.iface) < len(t.ifaces) {
			name = t.ifaces[k.iface].name
		}
		out = append(out, NeighborEntry{Interface: name, Addr: k.a.addr().String(), MAC: formatMAC(e.mac.Load()),
			Static: e.static, Age: now - e.seen.Load()})
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b NeighborEntry) int {
		if a.Interface != b.Interface {
			if a.Interface < b.Interface {
				return -1
			}
			return 1
		}
		return netip.MustParseAddr(a.Addr).Compare(netip.MustParseAddr(b.Addr))
	})
	return out
}

// FlushNeighbors forgets the learned ARP/ND entries of one router interface
// ("" for all). Static entries stay.
func (s *Switch) FlushNeighbors(iface string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var id uint16
	if iface != "" {
		var ok bool
		if id, ok = s.l3.ifIDs.ids[iface]; !ok {
			return &ConfigError{Path: "interface", Msg: "no interface " + iface}
		}
	}
	s.nbr.flush(id)
	return nil
}
