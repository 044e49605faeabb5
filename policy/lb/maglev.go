package lb

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// DefaultSize is the default lookup table size M, a prime (the paper's
// and Katran's default): at 100 backends each holds about 655 slots, so
// weights are honoured to within 0.2% and a change of one backend
// disturbs little.
const DefaultSize = 65537

// MaxSize is the largest table size (32 MiB of slots).
const MaxSize = 1 << 24

// MaxBackends is the largest number of backends in one table: a slot
// holds a backend's index in 16 bits.
const MaxBackends = 1 << 16

// Errors of New, wrapped with context.
var (
	ErrSize      = errors.New("lb: table size is not a prime in 2-16777216")
	ErrTooMany   = errors.New("lb: more than 65536 backends")
	ErrDuplicate = errors.New("lb: two backends have the same key")
)

// Backend is one target of the table.
type Backend struct {
	// Key names the backend; its permutation is derived from it alone,
	// so it must be the same on every host that should agree (an
	// address:port, not a local ID). Backends are ordered by Key, which
	// makes the table independent of the order they are given in.
	Key string
	// Weight: the backend's share of slots is Weight over the sum of the
	// weights of the backends that take part. 0 takes no slots.
	Weight uint32
	// Drained: no slots, whatever the weight (no new flows; the caller's
	// existing flows are its own business).
	Drained bool
}

// Active reports whether b takes part in the table.
func (b *Backend) Active() bool { return b.Weight != 0 && !b.Drained }

// Table is a built, immutable Maglev lookup table: M slots, each the
// index (in the slice given to New) of an active backend. It is safe for
// any number of readers.
type Table struct {
	slots []uint16
	count []int // slots held, per backend, in the caller's order
}

// New builds the table of size M (0: DefaultSize) for backends. Every
// slot belongs to an active backend; if there are none the table is
// empty and Lookup returns -1. If at least M backends are active, the
// first M in Key order hold one slot each and the others none; below
// that, every active backend holds at least one.
func New(backends []Backend, size int) (*Table, error) {
	if size == 0 {
		size = DefaultSize
	}
	if size < 2 || size > MaxSize || !prime(size) {
		return nil, fmt.Errorf("%w: %d", ErrSize, size)
	}
	if len(backends) > MaxBackends {
		return nil, fmt.Errorf("%w: %d", ErrTooMany, len(backends))
	}
	order := make([]int, len(backends))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(backends[a].Key, backends[b].Key) })
	for i := 1; i < len(order); i++ {
		if backends[order[i]].Key == backends[order[i-1]].Key {
			return nil, fmt.Errorf("%w: %q", ErrDuplicate, backends[order[i]].Key)
		}
	}
	t := &Table{count: make([]int, len(backends))}
	act := order[:0]
	var maxW, sumW uint64
	for _, i := range order {
		if b := &backends[i]; b.Active() {
			act = append(act, i)
			maxW = max(maxW, uint64(b.Weight))
			sumW += uint64(b.Weight)
		}
	}
	if len(act) == 0 {
		return t, nil
	}
	m := uint64(size)
	// Each active backend's place in its permutation (offset + j*skip
	// mod M: skip < M and M prime, so it visits every slot).
	type perm struct{ cur, skip uint64 }
	ps := make([]perm, len(act))
	for p, i := range act {
		h1, h2 := permHashes(backends[i].Key)
		ps[p] = perm{h1 % m, h2%(m-1) + 1}
	}
	filled := make([]uint64, (size+63)/64)
	t.slots = make([]uint16, size)
	place := func(p int) {
		i, pm := act[p], &ps[p]
		c := pm.cur
		for filled[c>>6]&(1<<(c&63)) != 0 {
			if c += pm.skip; c >= m {
				c -= m
			}
		}
		filled[c>>6] |= 1 << (c & 63)
		t.slots[c] = uint16(i)
		t.count[i]++
		if c += pm.skip; c >= m {
			c -= m
		}
		pm.cur = c
	}
	// Turns: round 0 gives every active backend one; round r >= 1 gives
	// a backend of weight w one more when floor(r*w/W) grows (W the
	// largest weight), so a backend of weight W has one every round and
	// its share of turns, hence of slots, is its weight's. Within a
	// round, backends go in Key order.
	n := 0
	for p := 0; p < len(act) && n < size; p++ {
		place(p)
		n++
	}
	if sumW*8 >= maxW*uint64(len(act)) {
		// Even weights (the mean at least W/8): rounds over every active
		// backend, an accumulator of r*w mod W each (Katran's scheme).
		acc := make([]uint64, len(act))
		for n < size {
			for p := 0; p < len(act) && n < size; p++ {
				if acc[p] += uint64(backends[act[p]].Weight); acc[p] >= maxW {
					acc[p] -= maxW
					place(p)
					n++
				}
			}
		}
		return t, nil
	}
	// Uneven weights: a tiny weight beside a huge one would make the
	// rounds above visit every backend for up to M rounds. A heap ordered
	// by (round, position) yields the same turns in the same order,
	// visiting only the backends that have one: a backend of weight w
	// has its k-th turn after round 0 in round ceil(k*W/w).
	h := make(turnHeap, len(act))
	for p := range act {
		w := uint64(backends[act[p]].Weight)
		h[p] = turn{(maxW + w - 1) / w, int32(p), 1}
	}
	slices.SortFunc(h, func(a, b turn) int {
		if a.round != b.round {
			return cmp.Compare(a.round, b.round)
		}
		return cmp.Compare(a.pos, b.pos)
	}) // sorted is a heap
	for ; n < size; n++ {
		tu := &h[0]
		place(int(tu.pos))
		tu.k++
		w := uint64(backends[act[tu.pos]].Weight)
		tu.round = (tu.k*maxW + w - 1) / w
		h.down(0)
	}
	return t, nil
}

// Lookup returns the index of the backend that owns hash h, or -1 if
// the table is empty. The slot is chosen from the high bits of h (h*M >>
// 64, Lemire's reduction: a multiply, not a division), so h must be
// well mixed there. It allocates nothing and reads one slot.
func (t *Table) Lookup(h uint64) int {
	if len(t.slots) == 0 {
		return -1
	}
	i, _ := bits.Mul64(h, uint64(len(t.slots)))
	return int(t.slots[i])
}

// Size returns M, the number of slots (0 for an empty table).
func (t *Table) Size() int { return len(t.slots) }

// Slots returns how many slots backend i (its index in New's slice)
// holds: its share of new flows is Slots(i)/Size().
func (t *Table) Slots(i int) int { return t.count[i] }

// Slot returns the backend of slot s (tests and diagnostics).
func (t *Table) Slot(s int) int { return int(t.slots[s]) }

// turn is an active backend's next turn: its round, its position in Key
// order among the active backends, and how many extra turns (after
// round 0's) it has had.
type turn struct {
	round uint64
	pos   int32
	k     uint64
}

type turnHeap []turn

func (h turnHeap) less(a, b int) bool {
	return h[a].round < h[b].round || h[a].round == h[b].round && h[a].pos < h[b].pos
}

func (h turnHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func prime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// permHashes returns the two hashes of a backend key that give its
// offset and skip. They are fixed functions of the key (no per-process
// seed), so every host, and the same host after a restart, builds the
// same table from the same backends.
func permHashes(key string) (uint64, uint64) {
	return strHash(key, 0x243f6a8885a308d3), strHash(key, 0x13198a2e03707344)
}

// strHash is a seeded 64-bit string hash: 8 bytes at a time through a
// 64x64->128 multiply (wyhash's mum), then murmur3's finalizer.
func strHash(s string, seed uint64) uint64 {
	const p0, p1, p2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	h := seed ^ uint64(len(s))*p0
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = mum(h^w^p1, p2)
		s = s[8:]
	}
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	h = mum(h^w^p2, p1)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
