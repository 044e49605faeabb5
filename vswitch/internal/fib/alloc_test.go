package fib

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLookupAllocations checks that lookups, single and batched, allocate
// nothing, on every path: default route, tbl24, tbl8; root, node, leaf hit
// and miss.
func TestLookupAllocations(t *testing.T) {
	t4 := newTable4(t, Limits{})
	for _, p := range []string{"0.0.0.0/0", "10.0.0.0/16", "10.0.0.128/25"} {
		require.NoError(t, t4.Insert(netip.MustParsePrefix(p), 1))
	}
	addrs4 := []uint32{addr4("9.9.9.9"), addr4("10.0.1.1"), addr4("10.0.0.1"), addr4("10.0.0.129")}
	var sink uint32
	nh := make([]uint32, len(addrs4))
	require.Zero(t, testing.AllocsPerRun(100, func() {
		for _, a := range addrs4 {
			sink += t4.Lookup(a)
		}
		t4.LookupBatch(nh, addrs4)
	}))

	t6 := newTable6(t, Limits{})
	for _, p := range []string{"::/0", "2001::/16", "2001:db8::/32", "2001:db8:1::/48", "2001:db9::/32"} {
		require.NoError(t, t6.Insert(netip.MustParsePrefix(p), 1))
	}
	var his, los []uint64
	for _, a := range []string{"3000::", "2001::1", "2001:db8::1", "2001:db8:1::1", "2001:db9::1", "2001:dba::1"} {
		hi, lo := addr6(a)
		his, los = append(his, hi), append(los, lo)
	}
	nh = make([]uint32, len(his))
	require.Zero(t, testing.AllocsPerRun(100, func() {
		for i := range his {
			sink += t6.Lookup(his[i], los[i])
		}
		t6.LookupBatch(nh, his, los)
	}))
	require.NotZero(t, sink)
}
