package acl

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// A field table cuts one dimension of the packet (remote address,
// destination port, source port) into elementary intervals: the pieces
// between consecutive rule boundaries, inside which every value matches
// the same set of rules. starts[i] is where interval i begins (starts[0]
// is 0); ids[i] is the offset, in the table's bitmap arena, of the bitmap
// of the rules matching it. A lookup is a binary search.

type field16 struct {
	starts []uint16
	ids    []uint32
}

type field32 struct {
	starts []uint32
	ids    []uint32
}

type field128 struct {
	starts []u128
	ids    []uint32
}

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) next() u128 {
	lo, c := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + c, lo}
}

// The searches keep the loop free of unpredictable branches: the compiler
// turns the conditional add into a conditional move, so a lookup costs
// log2(intervals) dependent loads and no mispredictions.

func (f *field16) find(x uint16) uint32 {
	s := f.starts
	lo, n := 0, len(s)
	for n > 1 {
		half := n >> 1
		if s[lo+half] <= x {
			lo += half
		}
		n -= half
	}
	return f.ids[lo]
}

func (f *field32) find(x uint32) uint32 {
	s := f.starts
	lo, n := 0, len(s)
	for n > 1 {
		half := n >> 1
		if s[lo+half] <= x {
			lo += half
		}
		n -= half
	}
	return f.ids[lo]
}

func (f *field128) find(hi, lo64 uint64) uint32 {
	s := f.starts
	lo, n := 0, len(s)
	for n > 1 {
		half := n >> 1
		if m := s[lo+half]; m.hi < hi || m.hi == hi && m.lo <= lo64 {
			lo += half
		}
		n -= half
	}
	return f.ids[lo]
}

func (f *field16) bytes() int  { return cap(f.starts)*2 + cap(f.ids)*4 }
func (f *field32) bytes() int  { return cap(f.starts)*4 + cap(f.ids)*4 }
func (f *field128) bytes() int { return cap(f.starts)*16 + cap(f.ids)*4 }

// span is one rule's range in one dimension, both ends inclusive, values
// widened to 128 bits so that one builder serves every field.
type span struct {
	lo, hi u128
	rank   int
}

// event is a boundary of a span during the sweep: at pos, the rule of
// rank gains (+1) or loses (-1) one covering span.
type event struct {
	pos  u128
	rank int
	d    int32
}

// arena interns rule bitmaps for one table. Each bitmap takes stride
// words: sum summary words (bit j of the summary set when word j is not
// zero: the aggregated bit vector of Baboescu and Varghese) followed by
// words words of rule bits, bit r for the rule of rank r.
type arena struct {
	words, sum, stride int
	bits               []uint64
	seen               map[string]uint32 // bitmap bytes -> offset
	key                []byte
	limit              int // bytes
	err                error
}

func newArena(rules, limit int) *arena {
	words := max(1, (rules+63)/64)
	sum := (words + 63) / 64
	return &arena{words: words, sum: sum, stride: sum + words, seen: make(map[string]uint32), limit: limit}
}

// intern returns the offset of a bitmap equal to b (words long), adding
// it if new.
func (a *arena) intern(b []uint64) uint32 {
	a.key = a.key[:0]
	for _, w := range b {
		a.key = binary.LittleEndian.AppendUint64(a.key, w)
	}
	if off, ok := a.seen[string(a.key)]; ok {
		return off
	}
	if (len(a.bits)+a.stride)*8 > a.limit {
		a.err = ErrTooLarge
		return 0
	}
	off := uint32(len(a.bits))
	var sum [1]uint64
	s := sum[:0]
	if a.sum > 1 {
		s = make([]uint64, a.sum)
	} else {
		s = sum[:]
	}
	for j, w := range b {
		if w != 0 {
			s[j>>6] |= 1 << (j & 63)
		}
	}
	a.bits = append(a.bits, s...)
	a.bits = append(a.bits, b...)
	a.seen[string(a.key)] = off
	return off
}

// sweep cuts [0, maxv] into elementary intervals of the spans and returns
// their starts and bitmap offsets, adjacent intervals with the same
// bitmap merged. A rule may have several spans, overlapping or not (a
// remote group has one per member address).
func (a *arena) sweep(spans []span, maxv u128) ([]u128, []uint32) {
	ev := make([]event, 0, 2*len(spans))
	for _, s := range spans {
		ev = append(ev, event{s.lo, s.rank, 1})
		if s.hi != maxv {
			ev = append(ev, event{s.hi.next(), s.rank, -1})
		}
	}
	slices.SortFunc(ev, func(x, y event) int {
		if x.pos.less(y.pos) {
			return -1
		}
		if y.pos.less(x.pos) {
			return 1
		}
		return 0
	})
	cnt := make([]int32, a.words*64)
	cur := make([]uint64, a.words)
	var starts []u128
	var ids []uint32
	pos := u128{}
	for i := 0; ; {
		for ; i < len(ev) && ev[i].pos == pos; i++ {
			e := ev[i]
			cnt[e.rank] += e.d
			if cnt[e.rank] > 0 {
				cur[e.rank>>6] |= 1 << (e.rank & 63)
			} else {
				cur[e.rank>>6] &^= 1 << (e.rank & 63)
			}
		}
		id := a.intern(cur)
		if len(ids) == 0 || ids[len(ids)-1] != id {
			starts, ids = append(starts, pos), append(ids, id)
		}
		if i == len(ev) {
			return starts, ids
		}
		pos = ev[i].pos
	}
}

func (a *arena) field16(spans []span) field16 {
	st, ids := a.sweep(spans, u128{0, 0xffff})
	f := field16{make([]uint16, len(st)), ids}
	for i, s := range st {
		f.starts[i] = uint16(s.lo)
	}
	return f
}

func (a *arena) field32(spans []span) field32 {
	st, ids := a.sweep(spans, u128{0, 0xffffffff})
	f := field32{make([]uint32, len(st)), ids}
	for i, s := range st {
		f.starts[i] = uint32(s.lo)
	}
	return f
}

func (a *arena) field128(spans []span) field128 {
	st, ids := a.sweep(spans, u128{^uint64(0), ^uint64(0)})
	return field128{st, ids}
}

// span helpers: every narrower field keeps its values in lo.

func span16(lo, hi uint16, rank int) span {
	return span{u128{0, uint64(lo)}, u128{0, uint64(hi)}, rank}
}

func span32(lo, hi uint32, rank int) span {
	return span{u128{0, uint64(lo)}, u128{0, uint64(hi)}, rank}
}

func prefix4(a [4]byte, n int) (lo, hi uint32) {
	x := binary.BigEndian.Uint32(a[:])
	if n == 0 {
		return 0, ^uint32(0)
	}
	m := ^uint32(0) >> n
	return x &^ m, x | m
}

func prefix6(a [16]byte, n int) (lo, hi u128) {
	x := u128{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])}
	var m u128
	switch {
	case n == 0:
		m = u128{^uint64(0), ^uint64(0)}
	case n < 64:
		m = u128{^uint64(0) >> n, ^uint64(0)}
	case n < 128:
		m = u128{0, ^uint64(0) >> (n - 64)}
	}
	return u128{x.hi &^ m.hi, x.lo &^ m.lo}, u128{x.hi | m.hi, x.lo | m.lo}
}
