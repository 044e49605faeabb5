package ipam

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
)

// Lease is the set of addresses one owner holds in a pool.
type Lease struct {
	Pool string `json:"pool"`
	// Owner is an opaque holder id, e.g. "cni/NETWORK/CONTAINERID/IFNAME".
	Owner string `json:"owner"`
	// Addrs holds one address per pool range, in range order, each with
	// its range's subnet prefix length (e.g. 10.22.0.5/16).
	Addrs []netip.Prefix `json:"addrs"`
}

func (l Lease) clone() Lease {
	l.Addrs = slices.Clone(l.Addrs)
	return l
}

// RangeStats counts the addresses of one range.
type RangeStats struct {
	Subnet netip.Prefix `json:"subnet"`
	// Size is the number of allocatable addresses, in decimal (an IPv6
	// range may hold more than 2^64).
	Size string `json:"size"`
	Used int    `json:"used"`
	// Free is Size - Used, capped at the largest uint64.
	Free uint64 `json:"free"`
}

// Allocator indexes one pool's leases and hands out addresses. It is not
// safe for concurrent use: the daemon serializes its calls.
type Allocator struct {
	pool   Pool
	ranges []*arange
	leases map[string]Lease // by owner
}

// arange is one range compiled for allocation.
type arange struct {
	subnet     netip.Prefix
	is4        bool
	start, end u128
	gw         u128
	gwIn       bool   // the gateway is allocatable but for being the gateway
	excl       []span // excluded, merged, sorted, clipped to [start, end]
	size       u128   // allocatable addresses
	blockBits  int
	used       map[u128]string // address -> owner
	blockUsed  map[u128]int    // block's first address -> leases in it
	hint       u128            // the last address handed out automatically
	hasHint    bool
}

// span is an inclusive interval of addresses.
type span struct{ lo, hi u128 }

// NewAllocator indexes the leases of pool p, which must be valid. A lease
// of another pool, outside the pool, conflicting with another lease (the
// same address, or the same owner twice) is an error wrapping ErrInvalid:
// a stored configuration with such leases is damaged.
//
// Round-robin allocation continues after the highest leased address of
// each range (the last address handed out is not stored).
func NewAllocator(p Pool, leases []Lease) (*Allocator, error) {
	p = p.clone()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	a := &Allocator{pool: p, leases: make(map[string]Lease, len(leases))}
	for i, r := range p.Ranges {
		a.ranges = append(a.ranges, compileRange(r, p.BlockBits[i]))
	}
	for _, l := range leases {
		if err := a.restore(l); err != nil {
			return nil, err
		}
	}
	for _, r := range a.ranges {
		for x := range r.used {
			if !r.hasHint || r.hint.less(x) {
				r.hint, r.hasHint = x, true
			}
		}
	}
	return a, nil
}

func compileRange(r Range, blockBits int) *arange {
	ar := &arange{
		subnet:    r.Subnet,
		is4:       r.Subnet.Addr().Is4(),
		start:     fromAddr(r.Start),
		end:       fromAddr(r.End),
		gw:        fromAddr(r.Gateway),
		blockBits: blockBits,
		used:      make(map[u128]string),
		blockUsed: make(map[u128]int),
	}
	for _, x := range r.Exclude {
		lo, hi := prefixSpan(x)
		if lo.less(ar.start) {
			lo = ar.start
		}
		if ar.end.less(hi) {
			hi = ar.end
		}
		if hi.less(lo) {
			continue
		}
		// Exclude is sorted by address: merge with the previous span.
		if n := len(ar.excl); n > 0 && !ar.excl[n-1].hi.add1().less(lo) {
			if ar.excl[n-1].hi.less(hi) {
				ar.excl[n-1].hi = hi
			}
			continue
		}
		ar.excl = append(ar.excl, span{lo, hi})
	}
	ar.size = ar.end.sub(ar.start).add1()
	for _, x := range ar.excl {
		ar.size = ar.size.sub(x.hi.sub(x.lo).add1())
	}
	ar.gwIn = !ar.gw.less(ar.start) && !ar.end.less(ar.gw) && !ar.excluded(ar.gw)
	if ar.gwIn {
		ar.size = ar.size.sub1()
	}
	return ar
}

// excludedSpan returns the excluded span holding x.
func (r *arange) excludedSpan(x u128) (span, bool) {
	k := sort.Search(len(r.excl), func(k int) bool { return !r.excl[k].hi.less(x) })
	if k < len(r.excl) && !x.less(r.excl[k].lo) {
		return r.excl[k], true
	}
	return span{}, false
}

func (r *arange) excluded(x u128) bool {
	_, ok := r.excludedSpan(x)
	return ok
}

// check says why x may not be leased in r (nil if it may).
func (r *arange) check(pool string, a netip.Addr) error {
	x := fromAddr(a)
	switch {
	case x.less(r.start) || r.end.less(x):
		return errorf(ErrNotInRange, "pool %s: %s is outside the range %s-%s of %s", pool, a, r.start.addr(r.is4), r.end.addr(r.is4), r.subnet)
	case x == r.gw:
		return errorf(ErrNotInRange, "pool %s: %s is the gateway of %s", pool, a, r.subnet)
	case r.excluded(x):
		return errorf(ErrNotInRange, "pool %s: %s is excluded from %s", pool, a, r.subnet)
	}
	return nil
}

func (r *arange) blockStart(x u128) u128 {
	bits := r.blockBits
	if r.is4 {
		bits += 96
	}
	m := hostMask(bits)
	return u128{x.hi &^ m.hi, x.lo &^ m.lo}
}

func (r *arange) take(x u128, owner string) {
	r.used[x] = owner
	r.blockUsed[r.blockStart(x)]++
}

func (r *arange) free(x u128) {
	delete(r.used, x)
	b := r.blockStart(x)
	if r.blockUsed[b]--; r.blockUsed[b] <= 0 {
		delete(r.blockUsed, b)
	}
}

// restore indexes a stored lease.
func (a *Allocator) restore(l Lease) error {
	p := a.pool.Name
	if l.Pool != p {
		return errorf(ErrInvalid, "pool %s: a lease of pool %q (owner %q)", p, l.Pool, l.Owner)
	}
	if l.Owner == "" {
		return errorf(ErrInvalid, "pool %s: a lease without owner", p)
	}
	if _, dup := a.leases[l.Owner]; dup {
		return errorf(ErrInvalid, "pool %s: owner %q holds two leases", p, l.Owner)
	}
	if len(l.Addrs) != len(a.ranges) {
		return errorf(ErrInvalid, "pool %s: lease of %q has %d addresses; want one per range (%d)", p, l.Owner, len(l.Addrs), len(a.ranges))
	}
	for i, ad := range l.Addrs {
		r := a.ranges[i]
		if ad.Bits() != r.subnet.Bits() || !r.subnet.Contains(ad.Addr()) {
			return errorf(ErrInvalid, "pool %s: lease of %q: %s is not an address of %s", p, l.Owner, ad, r.subnet)
		}
		if err := r.check(p, ad.Addr()); err != nil {
			return errorf(ErrInvalid, "lease of %q: %v", l.Owner, err)
		}
		if other, used := r.used[fromAddr(ad.Addr())]; used {
			return errorf(ErrInvalid, "pool %s: %s is leased to both %q and %q", p, ad.Addr(), other, l.Owner)
		}
	}
	a.record(l.clone())
	return nil
}

func (a *Allocator) record(l Lease) {
	for i, ad := range l.Addrs {
		a.ranges[i].take(fromAddr(ad.Addr()), l.Owner)
	}
	a.leases[l.Owner] = l
}

// Allocate gives owner one address of each range of the pool.
//
// An owner that holds a lease gets it back unchanged; if want names other
// addresses, the error wraps ErrConflict.
//
// want lists addresses the owner asks for, at most one per address
// family. An address held by another owner is ErrInUse; one that is not
// allocatable (outside the range, the gateway, excluded, no range of its
// family) is ErrNotInRange. Ranges without a wanted address get a free
// one: the search goes on after the last address handed out in that
// range (in blocks mode: in this host's blocks of it), wrapping at its
// end (round-robin), so an address just released is not reused at once.
//
// blocks is nil when the whole pool is this host's. Otherwise blocks[i]
// are the blocks of range i this host holds, and every address comes
// from them, wanted ones too: another host may hand out the addresses of
// the other blocks. When they have no free address the error wraps
// ErrNeedBlock and NeedBlockRange tells the range; the caller claims
// another block and retries. A wanted address outside them is
// ErrNeedBlock too, and WantedBlock tells the block that holds it: the
// caller claims that block (or refuses the address when another host
// holds it) and retries. A range with no free address at all is
// ErrExhausted.
//
// Nothing changes when Allocate fails.
func (a *Allocator) Allocate(owner string, want []netip.Addr, blocks [][]netip.Prefix) (Lease, error) {
	if owner == "" {
		return Lease{}, errorf(ErrInvalid, "pool %s: an empty owner", a.pool.Name)
	}
	wanted := make([]netip.Addr, len(a.ranges))
	for _, w := range want {
		w = w.Unmap()
		if !w.IsValid() {
			return Lease{}, errorf(ErrInvalid, "pool %s: an invalid wanted address", a.pool.Name)
		}
		i := a.rangeIndex(w)
		if i < 0 {
			return Lease{}, errorf(ErrNotInRange, "pool %s has no %s range for %s", a.pool.Name, family(w), w)
		}
		if wanted[i].IsValid() {
			return Lease{}, errorf(ErrInvalid, "pool %s: two wanted %s addresses (%s, %s)", a.pool.Name, family(w), wanted[i], w)
		}
		wanted[i] = w
	}
	if l, ok := a.leases[owner]; ok {
		for i, w := range wanted {
			if w.IsValid() && l.Addrs[i].Addr() != w {
				return Lease{}, errorf(ErrConflict, "pool %s: %q already holds %s, not %s", a.pool.Name, owner, l.Addrs[i].Addr(), w)
			}
		}
		return l.clone(), nil
	}
	picked := make([]u128, len(a.ranges))
	for i, r := range a.ranges {
		if w := wanted[i]; w.IsValid() {
			if err := r.check(a.pool.Name, w); err != nil {
				return Lease{}, err
			}
			x := fromAddr(w)
			if other, used := r.used[x]; used {
				return Lease{}, errorf(ErrInUse, "pool %s: %s is in use by %q", a.pool.Name, w, other)
			}
			if blocks != nil && !inBlocks(blocks, i, w) {
				b := a.pool.BlockOf(i, w)
				return Lease{}, &needBlockError{ipamError{ErrNeedBlock, fmt.Sprintf("pool %s: %s is in block %s, which this host does not hold", a.pool.Name, w, b)}, i, b, w}
			}
			picked[i] = x
			continue
		}
		if !(u128{0, uint64(len(r.used))}).less(r.size) { // used >= size
			return Lease{}, errorf(ErrExhausted, "pool %s: no free address in %s (%s-%s, %d in use)", a.pool.Name, r.subnet, r.start.addr(r.is4), r.end.addr(r.is4), len(r.used))
		}
		var spans []span
		if blocks != nil {
			if i < len(blocks) {
				spans = r.blockSpans(blocks[i])
			}
		} else {
			spans = []span{{r.start, r.end}}
		}
		x, ok := r.search(spans)
		if !ok {
			if blocks != nil {
				return Lease{}, &needBlockError{ipamError{ErrNeedBlock, "pool " + a.pool.Name + ": no free address in this host's blocks of " + r.subnet.String()}, i, netip.Prefix{}, netip.Addr{}}
			}
			// Unreachable while the index is consistent: size says there is one.
			return Lease{}, errorf(ErrExhausted, "pool %s: no free address in %s", a.pool.Name, r.subnet)
		}
		picked[i] = x
	}
	l := Lease{Pool: a.pool.Name, Owner: owner, Addrs: make([]netip.Prefix, len(a.ranges))}
	for i, r := range a.ranges {
		l.Addrs[i] = netip.PrefixFrom(picked[i].addr(r.is4), r.subnet.Bits())
		if !wanted[i].IsValid() {
			r.hint, r.hasHint = picked[i], true
		}
	}
	a.record(l)
	return l.clone(), nil
}

// inBlocks tells whether blocks[i] holds ad.
func inBlocks(blocks [][]netip.Prefix, i int, ad netip.Addr) bool {
	return i < len(blocks) && slices.ContainsFunc(blocks[i], func(b netip.Prefix) bool { return b.Contains(ad) })
}

// rangeIndex is the index of the range of a's family, or -1.
func (a *Allocator) rangeIndex(ad netip.Addr) int {
	for i, r := range a.ranges {
		if r.is4 == ad.Is4() {
			return i
		}
	}
	return -1
}

// blockSpans clips blocks to the range, sorted and merged.
func (r *arange) blockSpans(blocks []netip.Prefix) []span {
	spans := make([]span, 0, len(blocks))
	for _, b := range blocks {
		if !b.IsValid() || b.Addr().Is4() != r.is4 {
			continue
		}
		lo, hi := prefixSpan(b)
		if lo.less(r.start) {
			lo = r.start
		}
		if r.end.less(hi) {
			hi = r.end
		}
		if !hi.less(lo) {
			spans = append(spans, span{lo, hi})
		}
	}
	slices.SortFunc(spans, func(x, y span) int {
		switch {
		case x.lo.less(y.lo):
			return -1
		case y.lo.less(x.lo):
			return 1
		}
		return 0
	})
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && !out[n-1].hi.add1().less(s.lo) {
			if out[n-1].hi.less(s.hi) {
				out[n-1].hi = s.hi
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// search finds a free address in spans (sorted, disjoint, inside the
// range), starting after the hint and wrapping around. Each step either
// returns, passes a used address, the gateway, or jumps over an excluded
// span, so the work is bounded by the leases and excludes, not by the
// size of the range.
func (r *arange) search(spans []span) (u128, bool) {
	from := r.start
	if r.hasHint && r.hint.less(r.end) {
		from = r.hint.add1()
	}
	k := sort.Search(len(spans), func(k int) bool { return !spans[k].hi.less(from) })
	order := make([]span, 0, len(spans)+1)
	if k < len(spans) && spans[k].lo.less(from) {
		// Split the span holding from: its tail first, its head last.
		order = append(order, span{from, spans[k].hi})
		order = append(order, spans[k+1:]...)
		order = append(order, spans[:k]...)
		order = append(order, span{spans[k].lo, from.sub1()})
	} else {
		order = append(order, spans[k:]...)
		order = append(order, spans[:k]...)
	}
	for _, s := range order {
		if x, ok := r.scan(s); ok {
			return x, true
		}
	}
	return u128{}, false
}

// scan returns the first free address of s.
func (r *arange) scan(s span) (u128, bool) {
	for x := s.lo; ; {
		next := x
		if xs, ok := r.excludedSpan(x); ok {
			next = xs.hi
		} else if _, used := r.used[x]; !used && x != r.gw {
			return x, true
		}
		if !next.less(s.hi) {
			return u128{}, false
		}
		x = next.add1()
	}
}

// Release gives back owner's lease and returns it; false if owner holds none.
func (a *Allocator) Release(owner string) (Lease, bool) {
	l, ok := a.leases[owner]
	if !ok {
		return Lease{}, false
	}
	for i, ad := range l.Addrs {
		a.ranges[i].free(fromAddr(ad.Addr()))
	}
	delete(a.leases, owner)
	return l, true
}

// Lease returns owner's lease.
func (a *Allocator) Lease(owner string) (Lease, bool) {
	l, ok := a.leases[owner]
	return l.clone(), ok
}

// Leases returns every lease, sorted by owner.
func (a *Allocator) Leases() []Lease {
	out := make([]Lease, 0, len(a.leases))
	for _, o := range slices.Sorted(maps.Keys(a.leases)) {
		out = append(out, a.leases[o].clone())
	}
	return out
}

// Holder returns the owner of the lease holding addr.
func (a *Allocator) Holder(addr netip.Addr) (string, bool) {
	addr = addr.Unmap()
	i := a.rangeIndex(addr)
	if i < 0 {
		return "", false
	}
	o, ok := a.ranges[i].used[fromAddr(addr)]
	return o, ok
}

// Stats counts each range's addresses, in range order.
func (a *Allocator) Stats() []RangeStats {
	out := make([]RangeStats, len(a.ranges))
	for i, r := range a.ranges {
		used := u128{0, uint64(len(r.used))}
		out[i] = RangeStats{Subnet: r.subnet, Size: r.size.String(), Used: len(r.used), Free: r.size.sub(used).uint64Sat()}
	}
	return out
}

// UsedInBlock counts the leases of range i inside block.
func (a *Allocator) UsedInBlock(i int, block netip.Prefix) int {
	if i < 0 || i >= len(a.ranges) || !block.IsValid() {
		return 0
	}
	r := a.ranges[i]
	if block.Addr().Is4() != r.is4 {
		return 0
	}
	if block.Bits() == r.blockBits {
		return r.blockUsed[fromAddr(block.Masked().Addr())]
	}
	n := 0
	for x := range r.used {
		if block.Contains(x.addr(r.is4)) {
			n++
		}
	}
	return n
}

// Pool returns (a copy of) the allocator's pool, defaults filled in.
func (a *Allocator) Pool() Pool { return a.pool.clone() }
