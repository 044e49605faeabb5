package fib

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTable4Edges(t *testing.T) {
	tb := newTable4(t, Limits{})
	ins := func(p string, nh uint32) { t.Helper(); require.NoError(t, tb.Insert(netip.MustParsePrefix(p), nh)) }
	del := func(p string) { t.Helper(); require.NoError(t, tb.Delete(netip.MustParsePrefix(p))) }
	look := func(want uint32, addrs ...string) {
		t.Helper()
		for _, a := range addrs {
			require.Equal(t, want, tb.Lookup(addr4(a)), a)
		}
	}

	look(0, "0.0.0.0", "10.0.0.1", "255.255.255.255")
	ins("0.0.0.0/0", 1)
	look(1, "0.0.0.0", "10.0.0.1", "255.255.255.255")
	require.Zero(t, tb.tbl24.pages.bytes(), "a default route touches no table memory")

	ins("10.0.0.0/24", 2)
	ins("10.0.0.128/25", 3)
	look(2, "10.0.0.0", "10.0.0.127")
	look(3, "10.0.0.128", "10.0.0.255")
	look(1, "9.255.255.255", "10.0.1.0")

	ins("10.0.0.200/32", 4)
	look(4, "10.0.0.200")
	look(3, "10.0.0.199", "10.0.0.201")

	del("10.0.0.128/25") // covered by the /24, the /32 stays
	look(2, "10.0.0.128", "10.0.0.199", "10.0.0.255")
	look(4, "10.0.0.200")

	del("10.0.0.200/32") // last prefix > /24: the group folds
	look(2, "10.0.0.200")
	require.Zero(t, tb.tbl24.tbl[addr4("10.0.0.0")>>8]&ext4, "group folded into tbl24")
	used, _ := tb.Groups()
	require.Equal(t, 1, used, "the folded group waits for Reclaim")
	tb.Reclaim()
	used, _ = tb.Groups()
	require.Zero(t, used)

	del("10.0.0.0/24") // back to the default route
	look(1, "10.0.0.1", "10.0.0.200")
	ins("10.0.0.0/24", 5) // re-insert
	look(5, "10.0.0.1")
	ins("10.0.0.0/24", 6) // replace
	look(6, "10.0.0.1")
	nh, ok := tb.Get(netip.MustParsePrefix("10.0.0.0/24"))
	require.True(t, ok)
	require.Equal(t, uint32(6), nh)
	require.Equal(t, 2, tb.Len())

	// A /24 inserted under an existing group rewrites its short entries only.
	ins("10.0.0.64/26", 7)
	ins("10.0.0.0/16", 8)
	ins("10.0.0.0/23", 9)
	look(7, "10.0.0.64", "10.0.0.127")
	look(6, "10.0.0.0", "10.0.0.255")
	look(9, "10.0.1.0")
	look(8, "10.0.2.0", "10.0.255.255")
	del("10.0.0.0/24")
	look(9, "10.0.0.0", "10.0.0.255")
	look(7, "10.0.0.64")
	del("10.0.0.0/23")
	look(8, "10.0.0.0", "10.0.1.0")
	look(7, "10.0.0.64")

	del("0.0.0.0/0")
	look(0, "9.0.0.0", "11.0.0.0")
	look(8, "10.0.0.1")

	ins("255.255.255.255/32", 10)
	ins("0.0.0.0/32", 11)
	look(10, "255.255.255.255")
	look(11, "0.0.0.0")
	look(0, "0.0.0.1", "255.255.255.254")
	if !raceEnabled {
		ins("128.0.0.0/1", 12)
		look(12, "128.0.0.0", "255.255.255.254")
		look(10, "255.255.255.255")
		look(0, "0.0.0.1", "127.255.255.255")
	}

	ins("10.0.0.0/8", MaxNextHop)
	look(MaxNextHop, "10.1.0.0")
}

func TestTable4Errors(t *testing.T) {
	tb := newTable4(t, Limits{})
	for _, p := range []netip.Prefix{{}, netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::ffff:10.0.0.0/104"), netip.MustParsePrefix("10.0.0.1/24")} {
		require.ErrorIs(t, tb.Insert(p, 1), ErrInvalidPrefix, p)
		require.ErrorIs(t, tb.Delete(p), ErrInvalidPrefix, p)
		_, ok := tb.Get(p)
		require.False(t, ok)
	}
	p := netip.MustParsePrefix("10.0.0.0/24")
	require.ErrorIs(t, tb.Insert(p, 0), ErrInvalidNextHop)
	require.ErrorIs(t, tb.Insert(p, MaxNextHop+1), ErrInvalidNextHop)
	require.ErrorIs(t, tb.Delete(p), ErrNotFound)
	require.Zero(t, tb.Len())

	small := newTable4(t, Limits{Groups: 2})
	require.NoError(t, small.Insert(netip.MustParsePrefix("10.0.0.1/32"), 1))
	require.NoError(t, small.Insert(netip.MustParsePrefix("10.0.1.1/32"), 1))
	require.NoError(t, small.Insert(netip.MustParsePrefix("10.0.1.2/32"), 1))
	require.ErrorIs(t, small.Insert(netip.MustParsePrefix("10.0.2.1/32"), 1), ErrTableFull)
	require.Equal(t, 3, small.Len())
	require.Zero(t, small.Lookup(addr4("10.0.2.1")))

	require.NoError(t, tb.Close())
	require.ErrorIs(t, tb.Insert(p, 1), ErrClosed)
	require.ErrorIs(t, tb.Delete(p), ErrClosed)
	require.Zero(t, tb.MemoryBytes())
}

func TestTable4Walk(t *testing.T) {
	tb := newTable4(t, Limits{})
	in := []string{"10.0.0.0/16", "0.0.0.0/0", "10.0.0.0/8", "9.0.0.0/8", "10.0.0.128/25", "10.0.0.0/24", "255.255.255.255/32"}
	for i, p := range in {
		require.NoError(t, tb.Insert(netip.MustParsePrefix(p), uint32(i+1)))
	}
	var got []string
	tb.Walk(func(p netip.Prefix, nh uint32) bool {
		got = append(got, p.String())
		return true
	})
	require.Equal(t, []string{"0.0.0.0/0", "9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "10.0.0.128/25", "255.255.255.255/32"}, got)
	n := 0
	tb.Walk(func(p netip.Prefix, nh uint32) bool {
		require.NoError(t, tb.Delete(p)) // changing the table inside Walk is allowed
		n++
		return n < 3
	})
	require.Equal(t, 3, n)
	require.Equal(t, 4, tb.Len())
}

func TestTable4Memory(t *testing.T) {
	tb := newTable4(t, Limits{})
	base := tb.MemoryBytes()
	require.Less(t, base, 16<<10, "an empty table")

	for i := range 16 {
		require.NoError(t, tb.Insert(pfx4(0x0a000000|uint32(i)<<8, 24), 1))
	}
	require.Equal(t, 4096, tb.tbl24.pages.bytes()-2*regionPages, "16 neighbouring /24s share one tbl24 page")

	var long []netip.Prefix
	for i := range 3000 {
		long = append(long, pfx4(0x0b000000|uint32(i)<<8|0x80, 28))
	}
	for _, p := range long {
		require.NoError(t, tb.Insert(p, 2))
	}
	used, capacity := tb.Groups()
	require.Equal(t, 3000, used)
	full := tb.MemoryBytes()
	require.Greater(t, full, base+3000*1024)

	for _, p := range long {
		require.NoError(t, tb.Delete(p))
	}
	used, _ = tb.Groups()
	require.Equal(t, 3000, used, "folded groups wait for Reclaim")
	require.NoError(t, tb.Insert(long[0], 3))
	require.NotEqual(t, uint32(0), tb.tbl24.tbl[0x0b0000]&ext4)
	require.Equal(t, uint32(3000), tb.tbl24.tbl[0x0b0000]&^ext4, "a pending group is not reused")
	require.NoError(t, tb.Delete(long[0]))

	tb.Reclaim()
	used, _ = tb.Groups()
	require.Zero(t, used)
	require.Less(t, tb.MemoryBytes(), full/4, "memory goes back down")

	for _, p := range long[:1000] {
		require.NoError(t, tb.Insert(p, 2))
	}
	require.Equal(t, uint32(0), tb.tbl24.tbl[0x0b0000]&^ext4, "freed groups are reused, lowest first")
	_, c2 := tb.Groups()
	require.LessOrEqual(t, c2, capacity)
}
