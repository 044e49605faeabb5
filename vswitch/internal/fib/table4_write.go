package fib

import (
	"fmt"
	"net/netip"
	"sync/atomic"
)

// The writer follows DPDK: every entry remembers the length of the prefix
// that wrote it. Inserting a /d overwrites the entries of its range whose
// length is at most d; deleting it rewrites those whose length is exactly d
// with the longest prefix still covering it (or empties them: the default
// route is not in the entries). A prefix longer than /24 lives in the tbl8
// group of its /24, created on demand from the tbl24 entry it replaces and
// folded back into tbl24 when its last such prefix goes.

// Insert adds prefix p with next hop nh, or replaces the next hop if p is
// already there. Host bits must be clear.
func (t *Table4) Insert(p netip.Prefix, nh uint32) error {
	if t.tbl24.tbl == nil {
		return errf("insert", ErrClosed)
	}
	addr, bits, err := prefix4(p)
	if err == nil {
		err = checkNextHop(nh)
	}
	if err != nil {
		return errf("insert", err)
	}
	k := key4(addr, bits)
	_, exists := t.routes[k]
	switch {
	case bits == 0:
		t.def.Store(nh)
	case bits <= 24:
		t.set24(addr>>8, 1<<(24-bits), ent4(nh, bits), bits, true)
	default:
		if err := t.insert8(addr, bits, ent4(nh, bits), exists); err != nil {
			return errf("insert", fmt.Errorf("%v: %w", p, err))
		}
	}
	t.routes[k] = nh
	if !exists {
		t.byLen[bits]++
	}
	return nil
}

// Delete removes prefix p; the addresses it covered fall back to the
// longest prefix still covering them.
func (t *Table4) Delete(p netip.Prefix) error {
	if t.tbl24.tbl == nil {
		return errf("delete", ErrClosed)
	}
	addr, bits, err := prefix4(p)
	if err != nil {
		return errf("delete", err)
	}
	k := key4(addr, bits)
	if _, ok := t.routes[k]; !ok {
		return errf("delete", fmt.Errorf("%v: %w", p, ErrNotFound))
	}
	delete(t.routes, k)
	t.byLen[bits]--
	switch {
	case bits == 0:
		t.def.Store(0)
	case bits <= 24:
		t.set24(addr>>8, 1<<(24-bits), t.cover(addr, bits), bits, false)
	default:
		i := addr >> 8
		g := t.tbl24.tbl[i] &^ ext4
		t.set8(g, addr&0xff, 1<<(32-bits), t.cover(addr, bits), bits, false)
		if t.long[g]--; t.long[g] == 0 {
			// Only entries of /24 or shorter are left, all the same.
			t.tbl24.store(i, ext4|g, t.tbl8.w[g<<8])
			t.tbl8.release(g)
		}
	}
	return nil
}

// cover is the entry of the longest prefix shorter than bits containing
// addr, 0 if there is none but the default route.
func (t *Table4) cover(addr uint32, bits int) uint32 {
	for b := bits - 1; b > 0; b-- {
		if t.byLen[b] == 0 {
			continue
		}
		a := addr &^ (1<<(32-b) - 1)
		if nh, ok := t.routes[key4(a, b)]; ok {
			return ent4(nh, b)
		}
	}
	return 0
}

// replaces says whether an entry written by a /have is rewritten by an
// insert (ins) or delete of a /d.
func replaces(have, d int, ins bool) bool { return have == d || ins && have < d }

// set24 writes v into tbl24 entries [i, i+n), and into the tbl8 groups
// they point to, wherever replaces says so.
func (t *Table4) set24(i, n, v uint32, d int, ins bool) {
	for ; n > 0; i, n = i+1, n-1 {
		e := t.tbl24.tbl[i]
		if e&ext4 != 0 {
			t.set8(e&^ext4, 0, 256, v, d, ins)
		} else if e != v && replaces(depth4(e), d, ins) {
			t.tbl24.store(i, e, v)
		}
	}
}

// set8 is set24 for entries [j, j+n) of group g.
func (t *Table4) set8(g, j, n, v uint32, d int, ins bool) {
	grp := t.tbl8.w[g<<8 : g<<8+256]
	for ; n > 0; j, n = j+1, n-1 {
		if e := grp[j]; e != v && replaces(depth4(e), d, ins) {
			atomic.StoreUint32(&grp[j], v)
		}
	}
}

// insert8 writes v, the entry of a prefix longer than /24, into the tbl8
// group of its /24, creating the group if needed: filled completely, then
// published in tbl24.
func (t *Table4) insert8(addr uint32, bits int, v uint32, exists bool) error {
	i, j, n := addr>>8, addr&0xff, uint32(1)<<(32-bits)
	e := t.tbl24.tbl[i]
	if e&ext4 != 0 {
		g := e &^ ext4
		t.set8(g, j, n, v, bits, true)
		if !exists {
			t.long[g]++
		}
		return nil
	}
	g, ok := t.tbl8.alloc()
	if !ok {
		return fmt.Errorf("%d tbl8 groups in use: %w", t.tbl8.inUse(), ErrTableFull)
	}
	for len(t.long) <= int(g) {
		t.long = append(t.long, 0)
	}
	t.long[g] = 1
	grp := t.tbl8.w[g<<8 : g<<8+256]
	for k := range grp {
		grp[k] = e // unpublished: plain stores (see pool)
	}
	for ; n > 0; j, n = j+1, n-1 {
		grp[j] = v
	}
	t.tbl24.store(i, e, ext4|g)
	return nil
}
