package dockernet

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNetworkOptions(t *testing.T) {
	n, err := networkOptions(map[string]any{optGeneric: map[string]any{"vlan": "12", "io": "afxdp", optMTU: "1400"}})
	require.NoError(t, err)
	require.Equal(t, network{VLAN: 12, IO: "afxdp", MTU: 1400}, n)
	n, err = networkOptions(map[string]any{optGeneric: map[string]any{"io": "afpacket"}})
	require.NoError(t, err)
	require.Equal(t, "afpacket", n.IO)
	n, err = networkOptions(nil)
	require.NoError(t, err)
	require.Empty(t, n.IO, "vswitchd picks the default")
	for _, bad := range []map[string]any{
		{"io": "dpdk"},
		{"io": ""},
		{"vlan": "4095"},
		{"color": "red"},
	} {
		_, err := networkOptions(map[string]any{optGeneric: bad})
		require.Error(t, err, "%v", bad)
	}
}
