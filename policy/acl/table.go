package acl

import (
	"math/bits"
	"slices"
)

// table is the classifier of one set of groups in one direction. All of
// it lives in one slice, mem, so that a small table is a few contiguous
// cache lines and a lookup in a cold table misses as few lines as
// possible. The uint32 fields are offsets into mem:
//
//	v4     n4 entries start<<32 | bitmap: the elementary intervals of the
//	       IPv4 remote address, sorted by start (a binary search compares
//	       whole words: entry <= x<<32 | 0xffffffff iff start <= x)
//	v6     n6 triples start.hi, start.lo, bitmap: the same for IPv6
//	dport  nd entries, destination port (or ICMP type) intervals
//	sport  ns entries, source port (or ICMP code) intervals
//	proto  32 words: the protocol class of protocol p in byte p
//	class  one word per class: its bitmap
//	rules  one word per rank: counter index << 8 | verdict
//	bits   the rule bitmaps (see arena); "bitmap" above is the offset of
//	       one in mem
type table struct {
	mem                                       []uint64
	v4, v6, dport, sport, proto, class, rules uint32
	n4, n6, nd, ns                            uint32
	sum                                       uint32 // summary words per bitmap
	def                                       int32  // counter index of the default deny
}

// match returns the rank of the first rule matching the packet, -1 if
// none: the rule bitmaps of its remote address, protocol and ports are
// ANDed, summary words first, and the lowest set bit wins.
func (t *table) match(remote *[16]byte, k *Key) int {
	m := t.mem
	var a uint64
	if k.IPv6 {
		hi, lo := v6(remote)
		a = search6(m[t.v6:t.v6+3*t.n6], hi, lo)
	} else {
		a = search(m[t.v4:t.v4+t.n4], uint64(v4(remote)))
	}
	ia := int(uint32(a))
	ip := int(uint32(m[t.class+uint32(m[t.proto+uint32(k.Proto>>3)]>>(k.Proto&7*8)&0xff)]))
	id := int(uint32(search(m[t.dport:t.dport+t.nd], uint64(k.DstPort))))
	is := int(uint32(search(m[t.sport:t.sport+t.ns], uint64(k.SrcPort))))
	if t.sum == 0 {
		if x := m[ia] & m[ip] & m[id] & m[is]; x != 0 {
			return bits.TrailingZeros64(x)
		}
		return -1
	}
	sum := int(t.sum)
	for i := range sum {
		agg := m[ia+i] & m[ip+i] & m[id+i] & m[is+i]
		for agg != 0 {
			w := i<<6 | bits.TrailingZeros64(agg)
			agg &= agg - 1
			o := sum + w
			if x := m[ia+o] & m[ip+o] & m[id+o] & m[is+o]; x != 0 {
				return w<<6 | bits.TrailingZeros64(x)
			}
		}
	}
	return -1
}

// search returns the entry of the last interval of e starting at or below
// x: log2(len(e)) dependent loads and no branch on the data. The step is
// added under a mask from the compare's borrow (as search6 does): written
// as "if e[lo+half] <= key { lo += half }", which this comment used to
// say compiled to a conditional move, the compiler emitted a jump, taken
// at random, so about half the levels of every search were mispredicted.
func search(e []uint64, x uint64) uint64 {
	key := x<<32 | 0xffffffff
	lo, n := 0, len(e)
	for n > 1 {
		half := n >> 1
		_, borrow := bits.Sub64(key, e[lo+half], 0) // 1: the entry starts above x
		lo += half &^ -int(borrow)
		n -= half
	}
	return e[lo]
}

// search6 is search over triples (start hi, start lo, bitmap).
func search6(e []uint64, hi, lo uint64) uint64 {
	b, n := 0, len(e)/3
	for n > 1 {
		half := n >> 1
		s := e[3*(b+half) : 3*(b+half)+2]
		_, borrow := bits.Sub64(lo, s[1], 0)
		_, borrow = bits.Sub64(hi, s[0], borrow)
		b += half &^ -int(borrow) // start <= key: no borrow
		n -= half
	}
	return e[3*b+2]
}

func (t *table) memoryBytes() int { return cap(t.mem)*8 + 64 }

func sortRules(rs []*crule) { slices.SortFunc(rs, ruleOrder) }

// build compiles the rules of one set of groups and one direction.
func (t *table) build(rs []*crule, limit int) error {
	rs = slices.Clone(rs)
	sortRules(rs)
	ar := newArena(len(rs), limit)
	var s4, s6, sa, sb []span
	for rank, r := range rs {
		for _, v := range r.v4 {
			s4 = append(s4, span32(v[0], v[1], rank))
		}
		for _, v := range r.v6 {
			s6 = append(s6, span{v[0], v[1], rank})
		}
		sa = append(sa, span16(r.a[0], r.a[1], rank))
		sb = append(sb, span16(r.b[0], r.b[1], rank))
	}
	st4, id4 := ar.sweep(s4, u128{0, 0xffffffff})
	st6, id6 := ar.sweep(s6, u128{^uint64(0), ^uint64(0)})
	sta, ida := ar.sweep(sa, u128{0, 0xffff})
	stb, idb := ar.sweep(sb, u128{0, 0xffff})

	// Protocols: every protocol a rule names is a class with its own
	// bitmap; the others share class 0, the rules for any protocol.
	var byProto [256][]int
	for rank, r := range rs {
		byProto[r.proto] = append(byProto[r.proto], rank)
	}
	anyp := make([]uint64, ar.words)
	for _, rank := range byProto[ProtoAny] {
		anyp[rank>>6] |= 1 << (rank & 63)
	}
	classes := []uint32{ar.intern(anyp)}
	var classOf [256]byte
	for p := 1; p < 256; p++ {
		if len(byProto[p]) == 0 {
			continue
		}
		b := slices.Clone(anyp)
		for _, rank := range byProto[p] {
			b[rank>>6] |= 1 << (rank & 63)
		}
		classOf[p] = byte(len(classes)) // at most 256 classes: 255 protocols and "other"
		classes = append(classes, ar.intern(b))
	}
	if ar.err != nil {
		return ar.err
	}

	// Lay out mem; bitmap offsets from the arena move by bitsAt.
	at := 0
	place := func(n int) uint32 { o := at; at += n; return uint32(o) }
	t.n4, t.n6, t.nd, t.ns = uint32(len(st4)), uint32(len(st6)), uint32(len(sta)), uint32(len(stb))
	t.rules = place(len(rs))
	t.proto = place(32)
	t.class = place(len(classes))
	t.dport = place(len(sta))
	t.sport = place(len(stb))
	t.v4 = place(len(st4))
	t.v6 = place(3 * len(st6))
	bitsAt := place(len(ar.bits))
	if at*8 > limit {
		return ErrTooLarge
	}
	m := make([]uint64, at)
	for rank, r := range rs {
		v := VerdictAllow
		if r.deny {
			v = VerdictDeny
		}
		m[int(t.rules)+rank] = uint64(r.idx)<<8 | uint64(v)
	}
	for p, c := range classOf {
		m[int(t.proto)+p>>3] |= uint64(c) << (p & 7 * 8)
	}
	for i, c := range classes {
		m[int(t.class)+i] = uint64(c + bitsAt)
	}
	packed := func(at uint32, st []u128, ids []uint32) {
		for i := range st {
			m[int(at)+i] = st[i].lo<<32 | uint64(ids[i]+bitsAt)
		}
	}
	packed(t.dport, sta, ida)
	packed(t.sport, stb, idb)
	packed(t.v4, st4, id4)
	for i := range st6 {
		m[int(t.v6)+3*i], m[int(t.v6)+3*i+1], m[int(t.v6)+3*i+2] = st6[i].hi, st6[i].lo, uint64(id6[i]+bitsAt)
	}
	copy(m[bitsAt:], ar.bits)
	t.mem, t.sum = m, uint32(ar.sum)
	return nil
}
