package fib

import (
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
)

// Table4 is an IPv4 longest-prefix-match table, DIR-24-8 as in DPDK's
// rte_lpm. One writer, any number of concurrent Lookups; see the package
// comment for the contract.
//
// Entry layout (tbl24 and tbl8 alike), 32 bits:
//
//	bit 31     extended: a tbl24 entry whose bits 0-23 name a tbl8 group
//	bits 24-29 length of the prefix that wrote the entry (1-32)
//	bits 0-23  next hop
//
// An all-zero entry has no route: the lookup answers the default route.
type Table4 struct {
	tbl24 dir24
	tbl8  pool[uint32]
	def   atomic.Uint32 // next hop of 0.0.0.0/0, 0 if none

	// Writer only.
	routes map[uint64]uint32 // addr<<8 | bits -> next hop, every prefix
	byLen  [33]int           // prefixes of each length
	long   []uint16          // per tbl8 group: prefixes longer than /24 in it
}

const (
	ext4    = 1 << 31
	nhMask  = 1<<24 - 1
	depthSh = 24
)

func ent4(nh uint32, bits int) uint32 { return uint32(bits)<<depthSh | nh }
func depth4(e uint32) int             { return int(e >> depthSh & 0x3f) }
func key4(addr uint32, bits int) uint64 {
	return uint64(addr)<<8 | uint64(bits)
}

// NewTable4 returns an empty table. Its tbl24 is reserved address space;
// memory is committed page by page as routes are written.
func NewTable4(l Limits) (*Table4, error) {
	t := &Table4{routes: make(map[uint64]uint32)}
	if err := t.tbl24.open(); err != nil {
		return nil, err
	}
	t.tbl8.init(256, 4, 0, l.groups(DefaultGroups4))
	return t, nil
}

// Close releases the table's memory. No Lookup may be running or start
// after it: tbl24 is unmapped. Close is idempotent.
func (t *Table4) Close() error {
	if t.tbl24.tbl == nil {
		return nil
	}
	t.routes, t.long = nil, nil
	t.tbl8.close()
	return t.tbl24.close()
}

// Lookup returns the next hop of the longest prefix containing addr (host
// byte order: 10.0.0.1 is 0x0a000001), or 0 if none, the default route
// included, does. It takes no lock and allocates nothing; it may run
// concurrently with the writer.
func (t *Table4) Lookup(addr uint32) uint32 {
	e := atomic.LoadUint32(&t.tbl24.tbl[addr>>8])
	if e&ext4 != 0 {
		e = atomic.LoadUint32(&(*t.tbl8.cur.Load())[(e&^ext4)<<8|addr&0xff])
	}
	if e == 0 {
		return t.def.Load()
	}
	return e & nhMask
}

// LookupBatch sets nh[i] to Lookup(addr[i]) for every i < len(nh); addr
// must be at least as long as nh. It works a vector at a time
// (lookupBatch): every tbl24 entry first, so that their cache misses
// overlap, then the tbl8 entries and the default route.
func (t *Table4) LookupBatch(nh, addr []uint32) {
	for len(nh) > batch4 {
		t.lookupBatch(nh[:batch4], addr[:batch4])
		nh, addr = nh[batch4:], addr[batch4:]
	}
	t.lookupBatch(nh, addr)
}

// batch4 is the most addresses lookupBatch answers at once: a vector.
const batch4 = 256

// lookupBatch is LookupBatch for at most batch4 addresses, in three
// passes. The first loads every tbl24 entry. The second resolves the
// entries that answer alone and lists, without a branch, the ones that
// point to a tbl8 group; the third loads those tbl8 entries from the
// list. A tbl8 entry is a second cache miss that can only start once its
// tbl24 entry has arrived; loaded from a list of them alone, the loop
// between two of them is a few instructions and the misses of a whole
// vector overlap, where a pass over every address with a branch on each
// entry kept only the two or three of them in flight that fit the
// out-of-order window, and mispredicted the branch on each. A vector
// with no tbl8 entry at all (a table without prefixes longer than /24)
// skips the list.
func (t *Table4) lookupBatch(nh, addr []uint32) {
	addr = addr[:len(nh)]
	tbl24 := t.tbl24.tbl
	var seen uint32 // every entry's bits or'ed: ext4 set if any needs tbl8
	for i, a := range addr {
		e := atomic.LoadUint32(&tbl24[a>>8])
		nh[i] = e
		seen |= e
	}
	def := t.def.Load()
	if seen&ext4 == 0 { // no tbl8 entry (always so in a table without prefixes longer than /24)
		for i, e := range nh {
			if e == 0 {
				e = def
			}
			nh[i] = e & nhMask
		}
		return
	}
	var pos [batch4]uint8
	var idx [batch4]uint32
	k := 0
	for i, e := range nh {
		pos[k&(batch4-1)] = uint8(i)
		idx[k&(batch4-1)] = (e&^ext4)<<8 | addr[i]&0xff
		k += int(e >> 31) // 1 if e&ext4 != 0 (ext4 is the top bit)
		if e == 0 {
			e = def
		}
		nh[i] = e & nhMask
	}
	tbl8 := *t.tbl8.cur.Load() // loaded after every tbl24 entry: holds every group they name
	for j, x := range idx[:k] {
		e := atomic.LoadUint32(&tbl8[x])
		if e == 0 {
			e = def
		}
		nh[pos[j]] = e & nhMask
	}
}

// Len is the number of prefixes, the default route included.
func (t *Table4) Len() int { return len(t.routes) }

// Get returns the next hop of exactly prefix p.
func (t *Table4) Get(p netip.Prefix) (uint32, bool) {
	addr, bits, err := prefix4(p)
	if err != nil {
		return 0, false
	}
	nh, ok := t.routes[key4(addr, bits)]
	return nh, ok
}

// Walk calls fn for every prefix, ordered by address and then by length
// (10.0.0.0/8 before 10.0.0.0/16 before 10.1.0.0/16), until fn returns
// false. fn may change the table: Walk iterates over a copy.
func (t *Table4) Walk(fn func(netip.Prefix, uint32) bool) {
	keys := make([]uint64, 0, len(t.routes))
	for k := range t.routes {
		keys = append(keys, k)
	}
	slices.Sort(keys) // addr<<8|bits sorts by address, then length
	nhs := make([]uint32, len(keys))
	for i, k := range keys {
		nhs[i] = t.routes[k]
	}
	for i, k := range keys {
		a := uint32(k >> 8)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), int(k&0xff))
		if !fn(p, nhs[i]) {
			return
		}
	}
}

// MemoryBytes is the memory the table holds: resident tbl24 pages, the
// tbl8 array (live, pending and free groups), and the control-side record
// of prefixes (estimated).
func (t *Table4) MemoryBytes() int {
	if t.tbl24.tbl == nil {
		return 0
	}
	return t.tbl24.bytes() + t.tbl8.bytes() + cap(t.long)*2 + len(t.routes)*ctlBytesPerRoute4
}

// Groups returns the tbl8 groups in use (pending ones included) and the
// groups the array has room for.
func (t *Table4) Groups() (used, capacity int) {
	if t.tbl24.tbl == nil {
		return 0, 0
	}
	return t.tbl8.inUse(), t.tbl8.units()
}

// Reclaim frees the tbl8 groups folded away since the last Reclaim for
// reuse, and gives empty tbl24 pages back to the kernel. Call it only after
// every Lookup that started before the folding has returned, and with that
// ordering made visible to the writer (the switch waits for its workers'
// epoch, which is an atomic): until then the groups sit on a pending list
// and are not reused.
func (t *Table4) Reclaim() {
	if t.tbl24.tbl == nil {
		return
	}
	t.tbl8.reclaim()
	if n := t.tbl8.units(); n < len(t.long) {
		t.long = slices.Clip(t.long[:n])
	}
	t.tbl24.releaseEmpty()
}

// errf wraps err with the operation that failed.
func errf(op string, err error) error { return fmt.Errorf("fib: %s: %w", op, err) }
