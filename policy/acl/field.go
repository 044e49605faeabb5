package acl

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

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
// words words of rule bits, bit r for the rule of rank r. A table of at
// most 64 rules has no summary word.
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
	if words == 1 {
		sum = 0 // one word is its own summary
	}
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
	n := len(a.bits)
	a.bits = append(a.bits, make([]uint64, a.sum)...)
	if a.sum > 0 {
		for j, w := range b {
			if w != 0 {
				a.bits[n+j>>6] |= 1 << (j & 63)
			}
		}
	}
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

// u128 is an IPv6 address, or any field value widened, as a number.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) next() u128 {
	lo, c := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + c, lo}
}
