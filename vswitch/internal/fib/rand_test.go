package fib

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// randPrefix4 draws prefixes that overlap a lot: mostly inside a small
// region of random size, with lengths around the /24 boundary.
func randPrefix4(rng *rand.Rand) (uint32, int) {
	var bits int
	switch r := rng.IntN(20); {
	case r == 0:
		bits = 8 + rng.IntN(8) // /8-/15 (and /0 below)
		if rng.IntN(4) == 0 {
			bits = 0
		}
	case r < 8:
		bits = 16 + rng.IntN(9) // /16-/24
	default:
		bits = 20 + rng.IntN(13) // /20-/32
	}
	region := 12 + rng.IntN(13)
	a := 0x0a000000 | rng.Uint32()&(1<<(32-region)-1)
	if rng.IntN(8) == 0 {
		a = rng.Uint32()
	}
	if bits == 0 {
		return 0, 0
	}
	return a &^ (1<<(32-bits) - 1), bits
}

// randPrefix6 is randPrefix4 for IPv6: lengths around the root and node
// boundaries, mostly /16-/64 with some up to /128.
func randPrefix6(rng *rand.Rand) key6 {
	var bits int
	switch r := rng.IntN(20); {
	case r == 0:
		bits = 8 + rng.IntN(17) // root: /8-/24 (and /0 below)
		if rng.IntN(4) == 0 {
			bits = 0
		}
	case r < 14:
		bits = 16 + rng.IntN(49) // /16-/64
	default:
		bits = 65 + rng.IntN(64) // /65-/128
	}
	region := 16 + rng.IntN(100)
	mh, ml := mask6(region)
	k := key6{0x20010db800000000 | rng.Uint64()&^mh&(1<<32-1), rng.Uint64() &^ ml, uint8(bits)}
	if rng.IntN(8) == 0 {
		k.hi = rng.Uint64()
	}
	return k.masked(bits)
}

// checkLookup4 compares Lookup of a, and LookupBatch of a and a
// neighbour, with the model.
func checkLookup4(t *testing.T, tb *Table4, m *ref4, a uint32) {
	t.Helper()
	want := m.lookup(a)
	if got := tb.Lookup(a); got != want {
		t.Fatalf("Lookup(%v) = %d, want %d", pfx4(a, 32).Addr(), got, want)
	}
	var nh [2]uint32
	tb.LookupBatch(nh[:], []uint32{a ^ 0x101, a})
	if want0 := m.lookup(a ^ 0x101); nh != [2]uint32{want0, want} {
		t.Fatalf("LookupBatch(%v, %v) = %d, want %d", pfx4(a^0x101, 32).Addr(), pfx4(a, 32).Addr(), nh, [2]uint32{want0, want})
	}
}

// check4 compares lookups of addresses in, around and outside the
// prefixes of the model, up to n prefixes of it.
func check4(t *testing.T, rng *rand.Rand, tb *Table4, m *ref4, n int) {
	t.Helper()
	var all []uint32
	for range min(n, len(m.r)) {
		r := m.r[rng.IntN(len(m.r))]
		last := r.addr | (1<<(32-r.bits) - 1)
		if r.bits == 0 {
			last = ^uint32(0)
		}
		for _, a := range []uint32{inside4(rng, r.addr, r.bits), r.addr, last, r.addr - 1, last + 1} {
			checkLookup4(t, tb, m, a)
			all = append(all, a)
		}
	}
	for range n {
		a, b := rng.Uint32(), 0x0a000000|rng.Uint32()&0xfffff
		checkLookup4(t, tb, m, a)
		checkLookup4(t, tb, m, b)
		all = append(all, a, b)
	}
	checkBatch4(t, tb, m, all)
}

// checkBatch4 compares one LookupBatch of every address in addrs, more
// than a vector when the caller gathered enough of them, with the model:
// the batch's passes list the addresses that need a tbl8 entry, in
// chunks of a vector.
func checkBatch4(t *testing.T, tb *Table4, m *ref4, addrs []uint32) {
	t.Helper()
	nh := make([]uint32, len(addrs))
	tb.LookupBatch(nh, addrs)
	for i, a := range addrs {
		if want := m.lookup(a); nh[i] != want {
			t.Fatalf("LookupBatch of %d addresses: [%d] %v = %d, want %d", len(addrs), i, pfx4(a, 32).Addr(), nh[i], want)
		}
	}
}

func checkWalk4(t *testing.T, tb *Table4, m *ref4) {
	t.Helper()
	var want, got []route4
	for _, r := range m.r {
		want = append(want, r)
	}
	slices.SortFunc(want, func(a, b route4) int {
		if a.addr != b.addr {
			return int(int64(a.addr) - int64(b.addr))
		}
		return a.bits - b.bits
	})
	tb.Walk(func(p netip.Prefix, nh uint32) bool {
		a, bits, err := prefix4(p)
		require.NoError(t, err)
		got = append(got, route4{a, bits, nh})
		return true
	})
	require.Equal(t, want, got)
	require.Equal(t, len(want), tb.Len())
}

func TestTable4Random(t *testing.T) {
	for seed := range 3 {
		rng := rand.New(rand.NewPCG(uint64(seed), 4))
		tb := newTable4(t, Limits{})
		var m ref4
		for step := range 4000 {
			switch op := rng.IntN(10); {
			case op < 5 || len(m.r) == 0:
				a, bits := randPrefix4(rng)
				nh := 1 + rng.Uint32N(1000)
				require.NoError(t, tb.Insert(pfx4(a, bits), nh))
				m.insert(a, bits, nh)
			case op < 6: // replace
				r := m.r[rng.IntN(len(m.r))]
				nh := 1 + rng.Uint32N(1000)
				require.NoError(t, tb.Insert(pfx4(r.addr, r.bits), nh))
				m.insert(r.addr, r.bits, nh)
			case op < 9:
				r := m.r[rng.IntN(len(m.r))]
				require.NoError(t, tb.Delete(pfx4(r.addr, r.bits)))
				m.delete(r.addr, r.bits)
			default:
				a, bits := randPrefix4(rng)
				if m.find(a, bits) < 0 {
					require.ErrorIs(t, tb.Delete(pfx4(a, bits)), ErrNotFound)
				}
			}
			if step%64 == 0 {
				check4(t, rng, tb, &m, 20)
			}
			if rng.IntN(100) == 0 {
				tb.Reclaim()
			}
		}
		check4(t, rng, tb, &m, len(m.r))
		checkWalk4(t, tb, &m)
		for _, r := range slices.Clone(m.r) {
			require.NoError(t, tb.Delete(pfx4(r.addr, r.bits)))
			m.delete(r.addr, r.bits)
		}
		tb.Reclaim()
		used, _ := tb.Groups()
		require.Zero(t, used)
		require.Zero(t, tb.Len())
		check4(t, rng, tb, &m, 100)
	}
}

// checkLookup6 compares Lookup of an address, and LookupBatch of it and a
// neighbour, with the model.
func checkLookup6(t *testing.T, tb *Table6, m *ref6, hi, lo uint64) {
	t.Helper()
	want := m.lookup(hi, lo)
	if got := tb.Lookup(hi, lo); got != want {
		t.Fatalf("Lookup(%v) = %d, want %d", key6{hi, lo, 128}.prefix().Addr(), got, want)
	}
	var nh [2]uint32
	hi0 := hi ^ 1<<20
	tb.LookupBatch(nh[:], []uint64{hi0, hi}, []uint64{lo, lo})
	if want0 := m.lookup(hi0, lo); nh != [2]uint32{want0, want} {
		t.Fatalf("LookupBatch(%v, %v) = %d, want %d", key6{hi0, lo, 128}.prefix().Addr(), key6{hi, lo, 128}.prefix().Addr(), nh, [2]uint32{want0, want})
	}
}

func check6(t *testing.T, rng *rand.Rand, tb *Table6, m *ref6, n int) {
	t.Helper()
	for range min(n, len(m.r)) {
		k := m.r[rng.IntN(len(m.r))].k
		mh, ml := mask6(int(k.bits))
		lhi, llo := k.hi|^mh, k.lo|^ml
		checkLookup6(t, tb, m, k.hi, k.lo)
		checkLookup6(t, tb, m, lhi, llo)
		ihi, ilo := inside6(rng, k)
		checkLookup6(t, tb, m, ihi, ilo)
		if k.lo == 0 {
			checkLookup6(t, tb, m, k.hi-1, ^uint64(0))
		} else {
			checkLookup6(t, tb, m, k.hi, k.lo-1)
		}
		if llo == ^uint64(0) {
			checkLookup6(t, tb, m, lhi+1, 0)
		} else {
			checkLookup6(t, tb, m, lhi, llo+1)
		}
	}
	for range n {
		checkLookup6(t, tb, m, rng.Uint64(), rng.Uint64())
		checkLookup6(t, tb, m, 0x20010db800000000|rng.Uint64()&(1<<32-1), rng.Uint64())
	}
}

func checkWalk6(t *testing.T, tb *Table6, m *ref6) {
	t.Helper()
	var want, got []route6
	want = append(want, m.r...)
	slices.SortFunc(want, func(a, b route6) int {
		switch {
		case a.k.hi != b.k.hi:
			return cmpU64(a.k.hi, b.k.hi)
		case a.k.lo != b.k.lo:
			return cmpU64(a.k.lo, b.k.lo)
		}
		return int(a.k.bits) - int(b.k.bits)
	})
	tb.Walk(func(p netip.Prefix, nh uint32) bool {
		k, err := prefix6(p)
		require.NoError(t, err)
		got = append(got, route6{k, nh})
		return true
	})
	require.Equal(t, want, got)
	require.Equal(t, len(want), tb.Len())
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

func TestTable6Random(t *testing.T) {
	for seed := range 3 {
		rng := rand.New(rand.NewPCG(uint64(seed), 6))
		tb := newTable6(t, Limits{})
		var m ref6
		for step := range 4000 {
			switch op := rng.IntN(10); {
			case op < 5 || len(m.r) == 0:
				k := randPrefix6(rng)
				nh := 1 + rng.Uint32N(1000)
				require.NoError(t, tb.Insert(k.prefix(), nh))
				m.insert(k, nh)
			case op < 6:
				r := m.r[rng.IntN(len(m.r))]
				nh := 1 + rng.Uint32N(1000)
				require.NoError(t, tb.Insert(r.k.prefix(), nh))
				m.insert(r.k, nh)
			case op < 9:
				r := m.r[rng.IntN(len(m.r))]
				require.NoError(t, tb.Delete(r.k.prefix()))
				m.delete(r.k)
			default:
				k := randPrefix6(rng)
				if m.find(k) < 0 {
					err := tb.Delete(k.prefix())
					require.True(t, errors.Is(err, ErrNotFound), "%v", err)
				}
			}
			if step%64 == 0 {
				check6(t, rng, tb, &m, 20)
			}
			if rng.IntN(100) == 0 {
				tb.Reclaim()
			}
		}
		check6(t, rng, tb, &m, len(m.r))
		checkWalk6(t, tb, &m)
		for _, r := range slices.Clone(m.r) {
			require.NoError(t, tb.Delete(r.k.prefix()))
			m.delete(r.k)
		}
		tb.Reclaim()
		nodes, leaves := tb.Nodes()
		require.Zero(t, nodes)
		require.Zero(t, leaves)
		require.Zero(t, tb.Len())
		check6(t, rng, tb, &m, 100)
	}
}
