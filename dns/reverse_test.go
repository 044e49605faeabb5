package dns

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReverseAddr(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string // "" = not an address
	}{
		{"2.0.1.10.in-addr.arpa.", "10.1.0.2"},
		{"255.255.255.255.in-addr.arpa.", "255.255.255.255"},
		{"0.0.0.0.in-addr.arpa.", "0.0.0.0"},
		{"1.0.1.10.in-addr.arpa.", "10.1.0.1"},
		{"0.1.10.in-addr.arpa.", ""},     // a reverse zone, not an address
		{"5.2.0.1.10.in-addr.arpa.", ""}, // five labels
		{"02.0.1.10.in-addr.arpa.", ""},  // leading zero
		{"256.0.1.10.in-addr.arpa.", ""}, // out of range
		{"a.0.1.10.in-addr.arpa.", ""},   // not decimal
		{".0.1.10.in-addr.arpa.", ""},    // empty label
		{"in-addr.arpa.", ""},            // the zone itself
		{"2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", "fd00:1::2"},
		{"f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", "fd00:1::f"},
		{"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", "fd00:1::"},
		{"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", ""},     // 30 nibbles
		{"g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", ""}, // not hex
		{"20.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", ""},  // two nibbles in a label
		{"example.com.", ""},
	} {
		a, ok := reverseAddr(tc.name)
		if tc.want == "" {
			require.False(t, ok, tc.name)
			continue
		}
		require.True(t, ok, tc.name)
		require.Equal(t, netip.MustParseAddr(tc.want), a, tc.name)
	}
}
