package vswitch

import (
	"math/bits"
	"sync/atomic"
)

// The MAC table maps a 64-bit key (learning domain << 48 | MAC) to a 64-bit
// result, both packed as in VPP's l2fib. It is a two-choice hash: a key may
// live in either of two 4-slot buckets of one cache line each. There is one
// writer at a time (the learner, under its mutex) and any number of lock-free
// readers (workers):
//
//   - insert writes the value, then the key; delete clears the key, then the
//     value; a move rewrites the value only.
//   - a reader loads the key, the value, then the key again, and only
//     believes the value if the key did not change in between.
//   - workers also refresh an entry's timestamp with a compare-and-swap on the
//     value, which fails harmlessly if the writer changed it meanwhile.
//
// The table grows by building a doubled copy and publishing it with an
// atomic pointer; readers load the pointer once per vector.
//
// The key re-check does not catch one interleaving: while a reader is
// between its two key loads, the writer frees the slot, gives it to another
// key and then back to the first one. The reader may then take the second
// key's value for one frame. That needs four writer operations inside two
// loads and costs at most one frame sent to a wrong port of the same
// domain: l2-output drops a frame whose output port does not carry its
// domain, so a bridge or VLAN is never crossed. A per-bucket sequence count
// would close it at the price of two more loads per lookup.
//
// Result layout: bits 0-15 port index, 16-31 the port's flush sequence when
// learned, bit 32 static, bit 33 bound (a static entry of port security: a
// frame from another port with this source is dropped), bits 34-63
// last-seen time in seconds (30 bits: 34 years).
type macTable struct {
	b     []macBucket
	shift uint
	count int // entries; writer only
}

const (
	bucketSlots = 4
	hashK1      = 0x9E3779B97F4A7C15
	minBuckets  = 256
	valStatic   = 1 << 32
	valBound    = 1 << 33
	tsShift     = 34
	tsMask      = 1<<30 - 1
)

type macBucket struct {
	key [bucketSlots]atomic.Uint64
	val [bucketSlots]atomic.Uint64
}

func newMACTable(buckets int) *macTable {
	n := max(minBuckets, 1<<bits.Len(uint(buckets-1)))
	return &macTable{b: make([]macBucket, n), shift: uint(64 - bits.TrailingZeros(uint(n)))}
}

// macKey packs a learning domain and a MAC (as the low 48 bits of mac).
func macKey(domain uint16, mac uint64) uint64 { return uint64(domain)<<48 | mac&(1<<48-1) }

func packVal(port, seq uint16, static bool, ts uint32) uint64 {
	v := uint64(port) | uint64(seq)<<16 | uint64(ts&tsMask)<<tsShift
	if static {
		v |= valStatic
	}
	return v
}

func valPort(v uint64) uint16   { return uint16(v) }
func valSeq(v uint64) uint16    { return uint16(v >> 16) }
func valStaticOf(v uint64) bool { return v&valStatic != 0 }
func valBoundOf(v uint64) bool  { return v&valBound != 0 }
func valTS(v uint64) uint32     { return uint32(v >> tsShift) }
func withTS(v uint64, ts uint32) uint64 {
	return v&^(tsMask<<tsShift) | uint64(ts&tsMask)<<tsShift
}

func (t *macTable) buckets(key uint64) (*macBucket, *macBucket) {
	h := key * hashK1
	b1 := h >> (t.shift & 63)
	return &t.b[b1], &t.b[t.second(b1, h)]
}

// second is a key's second bucket: a hash-chosen, never-zero distance from
// its first one.
func (t *macTable) second(b1, h uint64) uint64 {
	mask := uint64(len(t.b) - 1)
	return (b1 + 1 + (h>>7)&(mask>>1)) & mask
}

// first is the index of key's first bucket. Inserts prefer it, so most keys
// are found there with one cache line.
func (t *macTable) first(key uint64) uint64 { return (key * hashK1) >> (t.shift & 63) }

// getAt is the data path's lookup, for a key whose first bucket b1 the
// caller computed (and touched) already.
func (t *macTable) getAt(b1, key uint64) (uint64, bool) {
	if v, ok := t.b[b1].get(key); ok {
		return v, true
	}
	return t.getSecond(b1, key)
}

// getSecond looks key up in its second bucket, given its first, b1 (only
// computed when the first misses). Hot loops probe the first bucket
// inline (t.b[b1].get) and call this on a miss: getAt is too large for
// Go to inline.
func (t *macTable) getSecond(b1, key uint64) (uint64, bool) {
	return t.b[t.second(b1, key*hashK1)].get(key)
}

// touchAt reads the first word of bucket b so that a lookup soon after hits
// the cache. The L2 node touches every bucket a vector needs in one tight
// loop before any lookup: with so few instructions per load the CPU keeps
// many cache misses in flight (Go has no prefetch instruction), where the
// lookups themselves, with their data-dependent branches, would take them
// one at a time.
func (t *macTable) touchAt(b uint64) uint64 { return t.b[b].key[0].Load() }

// get looks key up in one bucket. A slot's value is believed only if its
// key is still the same after the value was read.
func (bk *macBucket) get(key uint64) (uint64, bool) {
	for i := range bucketSlots {
		if bk.key[i].Load() == key {
			v := bk.val[i].Load()
			return v, bk.key[i].Load() == key
		}
	}
	return 0, false
}

// refresh replaces key's value old by new if it is still old (a worker
// updating the last-seen time; losing a race with the learner is harmless).
func (t *macTable) refresh(key, old, new uint64) {
	if s, v, ok := t.lookup(key); ok && v == old {
		s.CompareAndSwap(old, new)
	}
}

// lookup returns the value of key and its slot.
func (t *macTable) lookup(key uint64) (slot *atomic.Uint64, val uint64, ok bool) {
	a, b := t.buckets(key)
	if s, v, ok := a.find(key); ok {
		return s, v, true
	}
	return b.find(key)
}

// index returns the slot holding key, or -1.
func (bk *macBucket) index(key uint64) int {
	for i := range bucketSlots {
		if bk.key[i].Load() == key {
			return i
		}
	}
	return -1
}

func (bk *macBucket) find(key uint64) (*atomic.Uint64, uint64, bool) {
	if i := bk.index(key); i >= 0 {
		v := bk.val[i].Load()
		if bk.key[i].Load() == key {
			return &bk.val[i], v, true
		}
	}
	return nil, 0, false
}

// Writer side. Only the learner (holding its mutex) calls these.

// put inserts or overwrites key. It returns false if both buckets are full
// (the caller grows the table and retries) and whether the key was new.
func (t *macTable) put(key, val uint64) (ok, added bool) {
	a, b := t.buckets(key)
	if s, _, found := a.find(key); found {
		s.Store(val)
		return true, false
	}
	if s, _, found := b.find(key); found {
		s.Store(val)
		return true, false
	}
	for _, bk := range [2]*macBucket{a, b} {
		for i := range bucketSlots {
			if bk.key[i].Load() == 0 {
				bk.val[i].Store(val)
				bk.key[i].Store(key)
				t.count++
				return true, true
			}
		}
	}
	return false, false
}

// del removes key and reports whether it was there.
func (t *macTable) del(key uint64) bool {
	a, b := t.buckets(key)
	for _, bk := range [2]*macBucket{a, b} {
		for i := range bucketSlots {
			if bk.key[i].Load() == key {
				bk.key[i].Store(0)
				bk.val[i].Store(0)
				t.count--
				return true
			}
		}
	}
	return false
}

// slots is the table's capacity in entries.
func (t *macTable) slots() int { return len(t.b) * bucketSlots }

// each calls fn for every entry in buckets [from, to); fn returns true to
// delete the entry.
func (t *macTable) each(from, to int, fn func(key, val uint64) (del bool)) {
	for bi := from; bi < to && bi < len(t.b); bi++ {
		bk := &t.b[bi]
		for i := range bucketSlots {
			k := bk.key[i].Load()
			if k == 0 {
				continue
			}
			if fn(k, bk.val[i].Load()) {
				bk.key[i].Store(0)
				bk.val[i].Store(0)
				t.count--
			}
		}
	}
}

// grown returns a copy of t with at least twice the buckets, or more if
// needed to place every entry.
func (t *macTable) grown() *macTable {
	for n := 2 * len(t.b); ; n *= 2 {
		nt := newMACTable(n)
		ok := true
		t.each(0, len(t.b), func(k, v uint64) bool {
			if ok {
				ok, _ = nt.put(k, v)
			}
			return false
		})
		if ok {
			return nt
		}
	}
}
