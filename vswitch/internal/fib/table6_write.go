package fib

import (
	"fmt"
	"net/netip"
	"sync/atomic"
)

// The writer keeps the trie in this shape:
//
//   - A prefix of length d <= 24 is expanded into root entries; one with
//     pos < d <= pos+8 into the slots of the node at pos on its path, if
//     that node exists. Every slot holds the longest such prefix covering
//     it, or what the node inherited from above (node6.inh), with lengths
//     compared as in Table4.
//   - A slot whose subtree would hold a single prefix longer than the slot
//     points to a leaf instead; a second prefix below it splits the leaf
//     into a node at the next position. A node left with no prefix and no
//     child folds back into its parent slot; one left with a single leaf,
//     or a single prefix and no child, becomes that leaf.
//   - A new node or leaf is filled before the slot pointing to it is
//     published; a dropped one goes to its pool's pending list.

// slot names an entry for the writer: a root entry below rootSlots, else
// entry s-rootSlots of the node array (group (s-rootSlots)>>8).
type slot uint64

const rootSlots = tbl24Len

func nodeSlot(g uint32, b uint64) slot { return rootSlots + slot(g)<<8 | slot(b&0xff) }

// group is the node holding slot s; false for a root slot.
func (s slot) group() (uint32, bool) { return uint32((s - rootSlots) >> 8), s >= rootSlots }

func (t *Table6) get(s slot) uint32 {
	if s < rootSlots {
		return t.root.tbl[s]
	}
	return t.nodes.w[s-rootSlots]
}

func (t *Table6) put(s slot, v uint32) {
	if s < rootSlots {
		t.root.store(uint32(s), t.root.tbl[s], v)
		return
	}
	atomic.StoreUint32(&t.nodes.w[s-rootSlots], v)
}

// Insert adds prefix p with next hop nh, or replaces the next hop if p is
// already there. Host bits must be clear.
func (t *Table6) Insert(p netip.Prefix, nh uint32) error {
	if t.root.tbl == nil {
		return errf("insert", ErrClosed)
	}
	k, err := prefix6(p)
	if err == nil {
		err = checkNextHop(nh)
	}
	if err != nil {
		return errf("insert", err)
	}
	_, exists := t.routes[k]
	if k.bits == 0 {
		t.def.Store(nh)
	} else if err := t.insert(k, ent6(nh, int(k.bits)), exists); err != nil {
		return errf("insert", fmt.Errorf("%v: %w", p, err))
	}
	t.routes[k] = nh
	if !exists {
		t.byLen[k.bits]++
	}
	return nil
}

// Delete removes prefix p; the addresses it covered fall back to the
// longest prefix still covering them.
func (t *Table6) Delete(p netip.Prefix) error {
	if t.root.tbl == nil {
		return errf("delete", ErrClosed)
	}
	k, err := prefix6(p)
	if err != nil {
		return errf("delete", err)
	}
	if _, ok := t.routes[k]; !ok {
		return errf("delete", fmt.Errorf("%v: %w", p, ErrNotFound))
	}
	delete(t.routes, k)
	t.byLen[k.bits]--
	if k.bits == 0 {
		t.def.Store(0)
		return nil
	}
	t.delete(k)
	return nil
}

// slotAt is the slot of node g (at position pos) holding address k.
func slotAt(g uint32, pos int, k key6) slot {
	if pos < 64 {
		return nodeSlot(g, k.hi>>(56-pos))
	}
	return nodeSlot(g, k.lo>>(120-pos))
}

// span is the first slot and the number of slots that prefix k, of length
// d, covers in the root or in node g at pos.
func span(g uint32, pos int, k key6) (slot, int) {
	d := int(k.bits)
	if pos == 0 {
		return slot(k.hi >> 40), 1 << (24 - d)
	}
	return slotAt(g, pos, k), 1 << (pos + 8 - d)
}

func (t *Table6) insert(k key6, v uint32, exists bool) error {
	d := int(k.bits)
	if d <= 24 {
		i, n := span(0, 0, k)
		t.set(i, n, v, d, true)
		return nil
	}
	i, pos := slot(k.hi>>40), 24
	for {
		e := t.get(i)
		switch {
		case e&child6 == 0: // the prefix is alone below slot i
			x, ok := t.leaves.alloc()
			if !ok {
				t.collapse(i, k)
				return fmt.Errorf("%d leaves in use: %w", t.leaves.inUse(), ErrTableFull)
			}
			t.leaves.w[x] = newLeaf(k, v, e)
			t.setKid(i, child6|leafBit6|x)
			return nil
		case e&leafBit6 != 0:
			lf := &t.leaves.w[e&idx6]
			if lf.key() == k {
				atomic.StoreUint32(&lf.val, v)
				return nil
			}
			if err := t.split(i, pos, e); err != nil {
				t.collapse(i, k)
				return err
			}
		default:
			g := e & idx6
			if d <= pos+8 {
				i, n := span(g, pos, k)
				t.set(i, n, v, d, true)
				if !exists {
					t.meta[g].local++
				}
				return nil
			}
			i, pos = slotAt(g, pos, k), pos+8
		}
	}
}

// split replaces leaf entry e in slot i by a node at pos holding the leaf's
// prefix.
func (t *Table6) split(i slot, pos int, e uint32) error {
	g, ok := t.nodes.alloc()
	if !ok {
		return fmt.Errorf("%d nodes in use: %w", t.nodes.inUse(), ErrTableFull)
	}
	x := e & idx6
	lf := t.leaves.w[x]
	for len(t.meta) <= int(g) {
		t.meta = append(t.meta, node6{})
	}
	m := &t.meta[g]
	*m = node6{up: i, inh: lf.fb, pos: uint8(pos)}
	grp := t.nodes.w[g<<8 : g<<8+256]
	for j := range grp {
		grp[j] = lf.fb // unpublished: plain stores (see pool)
	}
	k := lf.key()
	if int(k.bits) <= pos+8 {
		j, n := span(0, pos, k)
		for j -= rootSlots; n > 0; j, n = j+1, n-1 {
			grp[j] = lf.val
		}
		m.local = 1
		t.leaves.release(x)
	} else {
		grp[slotAt(0, pos, k)-rootSlots] = e
		m.kids = 1
	}
	t.put(i, child6|g)
	return nil
}

func (t *Table6) delete(k key6) {
	d := int(k.bits)
	v := t.cover(k)
	if d <= 24 {
		i, n := span(0, 0, k)
		t.set(i, n, v, d, false)
		return
	}
	i, pos := slot(k.hi>>40), 24
	for {
		e := t.get(i)
		switch {
		case e&child6 == 0:
			panic(fmt.Sprintf("fib: %v recorded but not in the trie", k.prefix()))
		case e&leafBit6 != 0: // k's own leaf
			t.setKid(i, t.leaves.w[e&idx6].fb)
			t.leaves.release(e & idx6)
			t.collapse(i, k)
			return
		}
		g := e & idx6
		if d <= pos+8 {
			i, n := span(g, pos, k)
			t.set(i, n, v, d, false)
			t.meta[g].local--
			t.collapse(nodeSlot(g, 0), k)
			return
		}
		i, pos = slotAt(g, pos, k), pos+8
	}
}

// cover is the route entry of the longest prefix shorter than k containing
// it, 0 if there is none but the default route.
func (t *Table6) cover(k key6) uint32 {
	for b := int(k.bits) - 1; b > 0; b-- {
		if t.byLen[b] == 0 {
			continue
		}
		if nh, ok := t.routes[k.masked(b)]; ok {
			return ent6(nh, b)
		}
	}
	return 0
}

// set writes route entry v, of a /d, into slots [i, i+n) wherever
// replaces says so: into route slots, into the fallback of leaves, and
// into nodes below that inherited what v replaces.
func (t *Table6) set(i slot, n int, v uint32, d int, ins bool) {
	for ; n > 0; i, n = i+1, n-1 {
		e := t.get(i)
		switch {
		case e&child6 == 0:
			if e != v && replaces(depth6(e), d, ins) {
				t.put(i, v)
			}
		case e&leafBit6 != 0:
			lf := &t.leaves.w[e&idx6]
			if lf.fb != v && replaces(depth6(lf.fb), d, ins) {
				atomic.StoreUint32(&lf.fb, v)
			}
		default:
			g := e & idx6
			if m := &t.meta[g]; m.inh != v && replaces(depth6(m.inh), d, ins) {
				m.inh = v
				t.set(nodeSlot(g, 0), 256, v, d, ins)
			}
		}
	}
}

// setKid writes slot i, counting the children of the node holding it.
func (t *Table6) setKid(i slot, v uint32) {
	if g, ok := i.group(); ok {
		if v&child6 != 0 {
			t.meta[g].kids++
		} else {
			t.meta[g].kids--
		}
	}
	t.put(i, v)
}

// collapse folds the node holding slot i, and then its ancestors, into
// their parent slots while it holds no prefix and no child (the slot gets
// what the node inherited), no prefix and one child that is a leaf (the
// slot gets the leaf), or one prefix and no child (the slot gets a new
// leaf for the prefix). k is any address below i.
func (t *Table6) collapse(i slot, k key6) {
	for {
		g, ok := i.group()
		if !ok {
			return
		}
		m := &t.meta[g]
		switch {
		case m.local == 0 && m.kids == 0:
			t.setKid(m.up, m.inh)
		case m.local == 0 && m.kids == 1:
			v := t.onlyKid(g)
			if v&leafBit6 == 0 {
				return
			}
			t.put(m.up, v)
		case m.local == 1 && m.kids == 0:
			v, ok := t.leafFor(g, k)
			if !ok {
				return
			}
			t.put(m.up, v)
		default:
			return
		}
		t.nodes.release(g)
		i = m.up
	}
}

// onlyKid is the child entry of a node with one child.
func (t *Table6) onlyKid(g uint32) uint32 {
	for _, e := range t.nodes.w[g<<8 : g<<8+256] {
		if e&child6 != 0 {
			return e
		}
	}
	panic("fib: node child count out of sync")
}

// leafFor builds a leaf for the single prefix expanded into node g, of
// which k is any address, and returns its entry; false if no leaf is left.
func (t *Table6) leafFor(g uint32, k key6) (uint32, bool) {
	m := &t.meta[g]
	pos := int(m.pos)
	for j, e := range t.nodes.w[g<<8 : g<<8+256] {
		if d := depth6(e); d > pos {
			x, ok := t.leaves.alloc()
			if !ok {
				return 0, false
			}
			k = k.masked(pos)
			if pos < 64 {
				k.hi |= uint64(j) << (56 - pos)
			} else {
				k.lo |= uint64(j) << (120 - pos)
			}
			t.leaves.w[x] = newLeaf(k.masked(d), e, m.inh)
			return child6 | leafBit6 | x, true
		}
	}
	panic("fib: node prefix count out of sync")
}
