package fib

import (
	"cmp"
	"net/netip"
	"slices"
	"sync/atomic"
)

// Table6 is an IPv6 longest-prefix-match table: a multibit trie with a
// 24-bit first level (the root, like Table4's tbl24) and 8-bit strides
// below, leaf-pushed like DPDK's rte_lpm6, in which a slot whose subtree
// holds a single prefix points to a leaf instead of a chain of nodes. One
// writer, any number of concurrent Lookups; see the package comment for the
// contract.
//
// Entry layout, 32 bits:
//
//	bit 31 = 0: a route: bits 24-30 its length - 1, bits 0-23 its next hop
//	            (all zero: no route, the lookup answers the default route)
//	bit 31 = 1: a child: bit 30 set for a leaf, bits 0-29 the leaf index;
//	            clear for a node, bits 0-29 the node's group index
type Table6 struct {
	root   dir24
	nodes  pool[uint32]  // groups of 256 entries
	leaves pool[leaf6]   // leaf 0 is never used
	def    atomic.Uint32 // next hop of ::/0, 0 if none

	// Writer only.
	meta   []node6 // per group
	routes map[key6]uint32
	byLen  [129]int // prefixes of each length
}

// leaf6 holds the only prefix below a slot, in 32 bytes so that it never
// straddles two cache lines. val and fb change under readers (atomic); the
// rest is written before the leaf is published and never after.
type leaf6 struct {
	hi, lo     uint64 // the prefix
	val        uint32 // its route entry
	fb         uint32 // the slot's entry for addresses outside the prefix
	shHi, shLo uint8  // address a is inside if (a.hi^hi)>>shHi | (a.lo^lo)>>shLo == 0
}

func newLeaf(k key6, val, fb uint32) leaf6 {
	d := int(k.bits)
	return leaf6{hi: k.hi, lo: k.lo, val: val, fb: fb, shHi: uint8(64 - min(d, 64)), shLo: uint8(128 - max(d, 64))}
}

// entry is the route entry the leaf gives an address: its prefix's if the
// address is inside, the slot's fallback if not.
func (lf *leaf6) entry(hi, lo uint64) uint32 {
	if (hi^lf.hi)>>lf.shHi|(lo^lf.lo)>>lf.shLo == 0 {
		return atomic.LoadUint32(&lf.val)
	}
	return atomic.LoadUint32(&lf.fb)
}

// key is the leaf's prefix.
func (lf *leaf6) key() key6 { return key6{lf.hi, lf.lo, uint8(128 - int(lf.shHi) - int(lf.shLo))} }

// node6 is the writer's bookkeeping of a node.
type node6 struct {
	up    slot   // the parent slot
	inh   uint32 // route entry inherited from the parent slot: the longest prefix covering the whole node
	pos   uint8  // first address bit of the node's stride: 24, 32, ..., 120
	local uint16 // prefixes expanded into the node's slots
	kids  uint16 // slots pointing to a child
}

const (
	child6    = 1 << 31
	leafBit6  = 1 << 30
	idx6      = 1<<30 - 1
	leafBytes = 32
)

func ent6(nh uint32, bits int) uint32 { return uint32(bits-1)<<depthSh | nh }
func depth6(e uint32) int {
	if e == 0 {
		return 0
	}
	return int(e>>depthSh&0x7f) + 1
}

// NewTable6 returns an empty table. Its root is reserved address space,
// committed page by page as routes are written.
func NewTable6(l Limits) (*Table6, error) {
	t := &Table6{routes: make(map[key6]uint32)}
	if err := t.root.open(); err != nil {
		return nil, err
	}
	t.nodes.init(256, 4, 0, l.groups(DefaultGroups6))
	t.leaves.init(1, leafBytes, 1, 1+l.leaves())
	return t, nil
}

// Close releases the table's memory. No Lookup may be running or start
// after it: the root is unmapped. Close is idempotent.
func (t *Table6) Close() error {
	if t.root.tbl == nil {
		return nil
	}
	t.meta, t.routes = nil, nil
	t.nodes.close()
	t.leaves.close()
	return t.root.close()
}

// Lookup returns the next hop of the longest prefix containing the
// address whose first and last 8 bytes, big endian, are hi and lo, or 0 if
// none, the default route included, does. It takes no lock and allocates
// nothing; it may run concurrently with the writer.
//
// Lookup is too big to inline, and a call per address keeps the CPU from
// overlapping the cache misses of consecutive lookups: a forwarding node
// should look up its whole vector of packets with one LookupBatch, several
// times faster (see BenchmarkLookup6).
func (t *Table6) Lookup(hi, lo uint64) uint32 {
	e := atomic.LoadUint32(&t.root.tbl[hi>>40])
	switch e >> 30 {
	case child6 >> 30:
		e = t.descend(e, hi, lo)
	case (child6 | leafBit6) >> 30:
		e = (*t.leaves.cur.Load())[e&idx6].entry(hi, lo)
	}
	if e == 0 {
		return t.def.Load()
	}
	return e & nhMask
}

// LookupBatch sets nh[i] to Lookup(hi[i], lo[i]) for every i < len(nh);
// hi and lo must be at least as long as nh. It takes no lock, allocates
// nothing and may run concurrently with the writer, like Lookup.
//
// It works in two passes, as VPP's vector nodes do: the first loads the
// root entries of all addresses, whose cache misses then overlap; the
// second resolves leaves, branching on entries already loaded (a
// mispredicted branch there costs a few cycles, not a memory latency),
// and leaves the rare nodes to descend.
func (t *Table6) LookupBatch(nh []uint32, hi, lo []uint64) {
	hi, lo = hi[:len(nh)], lo[:len(nh)]
	root := t.root.tbl
	for i, h := range hi {
		nh[i] = atomic.LoadUint32(&root[h>>40])
	}
	// Loaded after every root entry: holds every leaf they name.
	leaves := *t.leaves.cur.Load()
	def := t.def.Load()
	for i, e := range nh {
		switch e >> 30 {
		case child6 >> 30:
			e = t.descend(e, hi[i], lo[i])
		case (child6 | leafBit6) >> 30:
			e = leaves[e&idx6].entry(hi[i], lo[i])
		}
		if e == 0 {
			e = def
		}
		nh[i] = e & nhMask
	}
}

// descend resolves node entry e for an address: down the nodes to the
// first entry that is not a node, and through the leaf if it is one.
func (t *Table6) descend(e uint32, hi, lo uint64) uint32 {
	ents := *t.nodes.cur.Load()
	h, l := hi<<24|lo>>40, lo<<24 // the address from bit 24 on
	for e>>30 == child6>>30 {
		e = atomic.LoadUint32(&ents[uint(e&idx6)<<8|uint(h>>56)])
		h, l = h<<8|l>>56, l<<8
	}
	if e>>30 == (child6|leafBit6)>>30 {
		e = (*t.leaves.cur.Load())[e&idx6].entry(hi, lo) // loaded after e: holds its leaf
	}
	return e
}

// Len is the number of prefixes, the default route included.
func (t *Table6) Len() int { return len(t.routes) }

// Get returns the next hop of exactly prefix p.
func (t *Table6) Get(p netip.Prefix) (uint32, bool) {
	k, err := prefix6(p)
	if err != nil {
		return 0, false
	}
	nh, ok := t.routes[k]
	return nh, ok
}

// Walk calls fn for every prefix, ordered by address and then by length,
// until fn returns false. fn may change the table: Walk iterates over a
// copy.
func (t *Table6) Walk(fn func(netip.Prefix, uint32) bool) {
	keys := make([]key6, 0, len(t.routes))
	for k := range t.routes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key6) int {
		return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo), cmp.Compare(a.bits, b.bits))
	})
	nhs := make([]uint32, len(keys))
	for i, k := range keys {
		nhs[i] = t.routes[k]
	}
	for i, k := range keys {
		if !fn(k.prefix(), nhs[i]) {
			return
		}
	}
}

// MemoryBytes is the memory the table holds: resident root pages, the
// node array (live, pending and free groups) with the writer's node
// bookkeeping, the leaf array, and the control-side record of prefixes
// (estimated).
func (t *Table6) MemoryBytes() int {
	if t.root.tbl == nil {
		return 0
	}
	return t.root.bytes() + t.nodes.bytes() + t.leaves.bytes() + cap(t.meta)*24 + len(t.routes)*ctlBytesPerRoute6
}

// Nodes returns the nodes and the leaves in use, pending ones included.
func (t *Table6) Nodes() (nodes, leaves int) {
	if t.root.tbl == nil {
		return 0, 0
	}
	return t.nodes.inUse(), t.leaves.inUse()
}

// Reclaim frees the nodes and leaves dropped since the last Reclaim for
// reuse, and gives empty root pages back to the kernel. Call it only after every Lookup that started before they were
// dropped has returned, with that ordering made visible to the writer (see
// Table4.Reclaim); until then they sit on a pending list.
func (t *Table6) Reclaim() {
	if t.root.tbl == nil {
		return
	}
	t.nodes.reclaim()
	t.leaves.reclaim()
	if n := t.nodes.units(); n < len(t.meta) {
		t.meta = slices.Clip(t.meta[:n])
	}
	t.root.releaseEmpty()
}
