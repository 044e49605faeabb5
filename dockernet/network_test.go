package dockernet

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/afxdp"
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

// TestMTUOption: -o mtu= (and com.docker.network.driver.mtu) takes what
// a container port takes, at most afxdp.MaxMTU (1902), and refuses more
// at network create, not at every docker run after it.
func TestMTUOption(t *testing.T) {
	for _, key := range []string{"mtu", optMTU} {
		n, err := networkOptions(map[string]any{optGeneric: map[string]any{key: strconv.Itoa(afxdp.MaxMTU)}})
		require.NoError(t, err)
		require.Equal(t, afxdp.MaxMTU, n.MTU)
		for _, bad := range []string{strconv.Itoa(afxdp.MaxMTU + 1), "9000", "67"} {
			_, err = networkOptions(map[string]any{optGeneric: map[string]any{key: bad}})
			require.ErrorContains(t, err, fmt.Sprintf("want 68 to %d", afxdp.MaxMTU), "%s=%s", key, bad)
		}
	}
	_, err := networkOptions(map[string]any{optGeneric: map[string]any{"mtu": "1903"}})
	require.ErrorContains(t, err, "largest a container port takes")
}

func TestMasqueradeOption(t *testing.T) {
	n, err := networkOptions(map[string]any{optGeneric: map[string]any{"masquerade": "up0"}})
	require.NoError(t, err)
	require.Equal(t, "up0", n.Masquerade)
	_, err = networkOptions(map[string]any{optGeneric: map[string]any{"masquerade": ""}})
	require.Error(t, err)
	_, err = networkOptions(map[string]any{optInternal: true, optGeneric: map[string]any{"masquerade": "up0"}})
	require.ErrorContains(t, err, "internal")
}

func TestPickPort(t *testing.T) {
	m4 := ctl.NATPortMapView{Proto: "tcp", Target: "10.0.0.2", TargetPort: 80}
	m6 := ctl.NATPortMapView{Proto: "tcp", Target: "fd00::2", TargetPort: 80}
	have := []ctl.NATPortMapView{
		{Proto: "tcp", HostPort: 49153, Target: "10.0.0.9", TargetPort: 80},
		{Proto: "tcp", Host: "192.0.2.1", HostPort: 49154, Target: "10.0.0.9", TargetPort: 80},
		{Proto: "udp", HostPort: 49155, Target: "10.0.0.9", TargetPort: 80},
		{Proto: "tcp", HostPort: 49156, Target: "fd00::9", TargetPort: 80},
	}
	p, err := pickPort([]ctl.NATPortMapView{m4}, ephemeralFirst, ephemeralLast, have)
	require.NoError(t, err)
	require.EqualValues(t, 49155, p, "49153 any-address, 49154 one address of the family; udp and v6 do not count")
	p, err = pickPort([]ctl.NATPortMapView{m4, m6}, ephemeralFirst, ephemeralLast, have)
	require.NoError(t, err)
	require.EqualValues(t, 49155, p)
	p, err = pickPort([]ctl.NATPortMapView{m6}, 49156, 49157, have)
	require.NoError(t, err)
	require.EqualValues(t, 49157, p)
	// An earlier attempt's own map is taken again.
	own := m4
	own.HostPort = 49160
	p, err = pickPort([]ctl.NATPortMapView{m4}, 49160, 49170, append(have, own))
	require.NoError(t, err)
	require.EqualValues(t, 49160, p)
	_, err = pickPort([]ctl.NATPortMapView{m4}, 49153, 49153, have)
	require.ErrorContains(t, err, "published already")
	_, err = pickPort([]ctl.NATPortMapView{m4}, 49153, 49154, have)
	require.ErrorContains(t, err, "no free host port in 49153-49154")
}
