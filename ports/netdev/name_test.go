package netdev_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"eth0", true},
		{"a", true},
		{strings.Repeat("x", 15), true},
		{strings.Repeat("x", 16), false},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a:1", false},
		{"a b", false},
		{"tab\t", false},
	} {
		err := netdev.ValidateName(tc.name)
		if tc.ok {
			require.NoError(t, err, "%q", tc.name)
			continue
		}
		require.Error(t, err, "%q", tc.name)
		require.True(t, errors.Is(err, netdev.ErrInvalid), "%q: %v", tc.name, err)
	}
}

func TestRandomName(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n := netdev.RandomName("vst-")
		require.Len(t, n, netdev.MaxNameLen)
		require.True(t, strings.HasPrefix(n, "vst-"))
		require.NoError(t, netdev.ValidateName(n))
		require.False(t, seen[n])
		seen[n] = true
	}
	require.NoError(t, netdev.ValidateName(netdev.RandomName("a-very-long-prefix-indeed")))
}

func TestErrorText(t *testing.T) {
	e := &netdev.Error{Op: "configure", Link: "eth0", Netns: "/run/netns/x", Err: netdev.ErrNotFound}
	require.Equal(t, "netdev: eth0 in netns /run/netns/x: configure: link not found", e.Error())
	require.ErrorIs(t, e, netdev.ErrNotFound)
}
