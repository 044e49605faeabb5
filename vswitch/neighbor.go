package vswitch

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
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
type neighbors struct {
	s   *Switch
	max int
	age uint32 // seconds

	// slab is allocated once at its full size (untouched pages cost no
	// memory) so entries never move and workers can hold it unlocked.
	slab []nbrEntry

	mu    sync.Mutex
	used  int // slab entries ever handed out
	free  []uint32
	keys  map[nbrKey]uint32 // slab position
	idx   atomic.Pointer[nbrIndex]
	rings []*eventRing[nbrEvent]

	learned, updated, aged, full atomic.Uint64
}

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
}

// nbrEvent is a worker's report of a neighbor's MAC (from an ARP packet,
// an NS source link-layer option or an NA target option).
type nbrEvent struct {
	iface uint16
	a     nbrAddr
	mac   uint64
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
	n := &neighbors{s: s, max: limit, age: uint32(max(1, age/time.Second)), keys: map[nbrKey]uint32{},
		slab: make([]nbrEntry, limit)}
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
			if n.apply(e, now) {
				added = true
			}
		})
	}
	if added {
		n.publish()
	}
	return total
}

// apply records one event; it reports whether an entry was added (the
// index must be republished). Caller holds mu.
func (n *neighbors) apply(e nbrEvent, now uint32) bool {
	t := n.s.tables.Load()
	if int(e.iface) >= len(t.ifaces) || !t.ifaces[e.iface].valid {
		return false
	}
	if pos, ok := n.keys[nbrKey{e.iface, e.a}]; ok {
		en := &n.slab[pos]
		if en.static {
			return false
		}
		if en.mac.Load() != e.mac {
			en.mac.Store(e.mac)
			n.updated.Add(1)
		}
		en.seen.Store(now)
		return false
	}
	return n.add(e.iface, e.a, e.mac, false, now)
}

// add puts a new entry in the slab (not yet indexed). Caller holds mu.
func (n *neighbors) add(iface uint16, a nbrAddr, mac uint64, static bool, now uint32) bool {
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
	n.keys[nbrKey{iface, a}] = pos
	n.learned.Add(1)
	return true
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
			freed = append(freed, pos)
		}
	}
	n.publish()
	for _, w := range n.s.workers {
		w.Quiesce()
	}
	for _, pos := range freed {
		e := &n.slab[pos]
		e.iface, e.static = 0, false
		n.free = append(n.free, pos)
	}
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
	now := n.s.now.Load()
	added := false
	for k, mac := range want {
		if pos, ok := n.keys[k]; ok {
			e := &n.slab[pos]
			e.static = true // written under mu; workers only read MAC and seen
			e.mac.Store(mac)
			continue
		}
		if n.add(k.iface, k.a, mac, true, now) {
			added = true
		}
	}
	if added {
		n.publish()
	}
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
