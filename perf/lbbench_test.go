package perf

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLBBenchConfig(t *testing.T) {
	var c LBBenchConfig
	require.NoError(t, c.normalize(2))
	require.Equal(t, LBPaths, c.Paths)
	require.Equal(t, 5*time.Second, c.ConnWindow)
	require.Equal(t, 4, c.Conns)
	require.Equal(t, []int{1, 4}, c.Streams)
	require.Equal(t, 10*time.Second, c.Duration)
	for _, bad := range []LBBenchConfig{
		{Paths: []string{PathBridgeNft}},
		{Conns: 65},
		{ConnWindow: time.Millisecond},
		{Streams: []int{0}},
		{Duration: time.Millisecond},
		{CPUSwitch: 2},
	} {
		require.Error(t, bad.normalize(2), "%+v", bad)
	}
}

// TestNftLBRuleset: the VIP's ports DNAT to a jhash over the backends.
func TestNftLBRuleset(t *testing.T) {
	bes := []netip.Addr{netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.2.3"), netip.MustParseAddr("198.18.2.4")}
	rs, err := NftLBRuleset("vsblbx", netip.MustParseAddr(LBVIP), []uint16{LBConnPort, LBBulkPort}, bes)
	require.NoError(t, err)
	require.Equal(t, "table ip vsblbx {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"+
		"\t\tip daddr 198.18.9.9 tcp dport { 5202, 5203 } dnat to jhash ip saddr . tcp sport . ip daddr . tcp dport mod 3 seed 0x5eed "+
		"map { 0 : 198.18.2.2, 1 : 198.18.2.3, 2 : 198.18.2.4 }\n\t}\n}\n", rs)
	_, err = NftLBRuleset("x", netip.MustParseAddr("::1"), []uint16{80}, bes)
	require.Error(t, err)
	_, err = NftLBRuleset("x", netip.MustParseAddr(LBVIP), nil, bes)
	require.Error(t, err)
}
