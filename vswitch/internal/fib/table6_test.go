package fib

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTable6Edges(t *testing.T) {
	tb := newTable6(t, Limits{})
	ins := func(p string, nh uint32) { t.Helper(); require.NoError(t, tb.Insert(netip.MustParsePrefix(p), nh)) }
	del := func(p string) { t.Helper(); require.NoError(t, tb.Delete(netip.MustParsePrefix(p))) }
	look := func(want uint32, addrs ...string) {
		t.Helper()
		for _, a := range addrs {
			require.Equal(t, want, tb.Lookup(addr6(a)), a)
		}
	}
	shape := func(nodes, leaves int) {
		t.Helper()
		tb.Reclaim()
		n, l := tb.Nodes()
		require.Equal(t, [2]int{nodes, leaves}, [2]int{n, l}, "nodes, leaves")
	}

	look(0, "::", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	ins("::/0", 1)
	look(1, "::", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	shape(0, 0)

	ins("2001:db8::/32", 2) // alone below its root slot: a leaf
	shape(0, 1)
	look(2, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
	look(1, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::", "2001::")

	ins("2001:db8:1::/48", 3) // splits the leaf into a node
	ins("2001:db8:1:2::/64", 4)
	ins("2001:db8:1:2::1/128", 5)
	look(3, "2001:db8:1::", "2001:db8:1:1::", "2001:db8:1:ffff::")
	look(4, "2001:db8:1:2::", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff")
	look(5, "2001:db8:1:2::1")
	look(2, "2001:db8:2::", "2001:db8::")

	del("2001:db8:1::/48") // covered by the /32; the /64 and /128 stay
	look(2, "2001:db8:1::", "2001:db8:1:1::")
	look(4, "2001:db8:1:2::")
	look(5, "2001:db8:1:2::1")
	del("2001:db8:1:2::/64")
	look(2, "2001:db8:1:2::", "2001:db8:1:2::2")
	look(5, "2001:db8:1:2::1")
	del("2001:db8:1:2::1/128")
	look(2, "2001:db8:1:2::1")
	shape(0, 1) // back to the single leaf of the /32

	del("2001:db8::/32") // back to the default route
	look(1, "2001:db8::1")
	shape(0, 0)
	ins("2001:db8::/32", 6) // re-insert
	look(6, "2001:db8::1")
	ins("2001:db8::/32", 7) // replace, in a leaf
	look(7, "2001:db8::1")

	// Root boundaries: /24 and shorter live in the root, /25 below it.
	ins("2001:d00::/24", 8) // over the leaf of 2001:db8::/32
	ins("2001:c00::/23", 9)
	ins("2001:e00::/25", 10)
	look(8, "2001:d00::", "2001:dff:ffff::")
	look(7, "2001:db8::1")
	look(9, "2001:c00::", "2001:cff:ffff::")
	look(10, "2001:e00::", "2001:e7f:ffff::")
	look(1, "2001:e80::", "2001:f00::")
	del("2001:d00::/24")
	look(9, "2001:d00::", "2001:dff:ffff::")
	look(7, "2001:db8::1")
	ins("2001:db8:ff::/48", 18) // the /32 moves into a node
	ins("2001:db8::/32", 11)    // replace, in a node fed from the root
	look(11, "2001:db8::1")
	look(18, "2001:db8:ff::1")
	look(9, "2001:db7::", "2001:db9::")

	// A prefix ending on a stride boundary and one just past it.
	ins("2001:db8:0:100::/56", 12)
	ins("2001:db8:0:100::/57", 13)
	look(13, "2001:db8:0:100::", "2001:db8:0:17f:ffff::")
	look(12, "2001:db8:0:180::", "2001:db8:0:1ff:ffff::")
	del("2001:db8:0:100::/57")
	look(12, "2001:db8:0:100::")

	del("::/0")
	look(0, "3000::", "::")
	ins("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 14)
	ins("::/128", 15)
	look(14, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	look(15, "::")
	look(0, "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")
	if !raceEnabled {
		ins("8000::/1", 16)
		look(16, "8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")
		look(14, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
		look(0, "::1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	}
	ins("::ffff:10.0.0.0/104", 17) // IPv4-mapped prefixes are IPv6 prefixes
	look(17, "::ffff:10.1.2.3")
}

func TestTable6Errors(t *testing.T) {
	tb := newTable6(t, Limits{})
	for _, p := range []netip.Prefix{{}, netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::1/64")} {
		require.ErrorIs(t, tb.Insert(p, 1), ErrInvalidPrefix, p)
		require.ErrorIs(t, tb.Delete(p), ErrInvalidPrefix, p)
		_, ok := tb.Get(p)
		require.False(t, ok)
	}
	p := netip.MustParsePrefix("2001:db8::/32")
	require.ErrorIs(t, tb.Insert(p, 0), ErrInvalidNextHop)
	require.ErrorIs(t, tb.Insert(p, MaxNextHop+1), ErrInvalidNextHop)
	require.ErrorIs(t, tb.Delete(p), ErrNotFound)

	small := newTable6(t, Limits{Groups: 2, Leaves: 1})
	require.NoError(t, small.Insert(netip.MustParsePrefix("2001:db8:1::/48"), 1))
	require.ErrorIs(t, small.Insert(netip.MustParsePrefix("2002:db8::/32"), 2), ErrTableFull)   // needs a leaf
	require.ErrorIs(t, small.Insert(netip.MustParsePrefix("2001:db8:2::/48"), 2), ErrTableFull) // needs 3 nodes
	require.Equal(t, 1, small.Len())
	small.Reclaim()
	n, l := small.Nodes()
	require.Equal(t, [2]int{0, 1}, [2]int{n, l}, "failed inserts leave no node behind")
	require.Equal(t, uint32(1), small.Lookup(addr6("2001:db8:1::")))
	require.Zero(t, small.Lookup(addr6("2001:db8:2::")))
	require.Zero(t, small.Lookup(addr6("2002:db8::")))

	require.NoError(t, tb.Close())
	require.ErrorIs(t, tb.Insert(p, 1), ErrClosed)
	require.ErrorIs(t, tb.Delete(p), ErrClosed)
	require.Zero(t, tb.MemoryBytes())
}

func TestTable6Walk(t *testing.T) {
	tb := newTable6(t, Limits{})
	in := []string{"2001:db8::/48", "::/0", "2001:db8::/32", "2001:db8::1/128", "2000::/12", "fe80::/16"}
	for i, p := range in {
		require.NoError(t, tb.Insert(netip.MustParsePrefix(p), uint32(i+1)))
	}
	var got []string
	tb.Walk(func(p netip.Prefix, nh uint32) bool {
		got = append(got, p.String())
		return true
	})
	require.Equal(t, []string{"::/0", "2000::/12", "2001:db8::/32", "2001:db8::/48", "2001:db8::1/128", "fe80::/16"}, got)
}

func TestTable6Memory(t *testing.T) {
	tb := newTable6(t, Limits{})
	base := tb.MemoryBytes()
	require.Less(t, base, 300<<10, "an empty table: its 256 KiB root")

	var ps []netip.Prefix
	for i := range 3000 {
		ps = append(ps, key6{0x20010db800000000 | uint64(i)<<8, 0, 56}.prefix())
	}
	for _, p := range ps {
		require.NoError(t, tb.Insert(p, 2))
	}
	full := tb.MemoryBytes()
	nodes, leaves := tb.Nodes()
	t.Logf("3000 /56s in a /32: %d nodes, %d leaves, %d bytes", nodes, leaves, full-base)
	for _, p := range ps {
		require.NoError(t, tb.Delete(p))
	}
	nodes, _ = tb.Nodes()
	require.NotZero(t, nodes, "dropped nodes wait for Reclaim")
	tb.Reclaim()
	nodes, leaves = tb.Nodes()
	require.Zero(t, nodes)
	require.Zero(t, leaves)
	require.Less(t, tb.MemoryBytes(), base+(full-base)/4, "memory goes back down")
}
