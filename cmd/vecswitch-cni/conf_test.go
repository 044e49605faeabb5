package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ipam"
)

func TestParseConf(t *testing.T) {
	c, ic, err := parseConf([]byte(`{"cniVersion":"1.1.0","name":"pods","type":"vecswitch-cni","bridge":"br0","vlan":10,"mtu":1400,
		"ipam":{"type":"vecswitch","ranges":[[{"subnet":"10.1.0.0/24","rangeStart":"10.1.0.10","rangeEnd":"10.1.0.20","gateway":"10.1.0.1"}],[{"subnet":"fd00::/64","rangeStart":"fd00::10","rangeEnd":"fd00::20","gateway":"fd00::1"}]],
		"exclude":["10.1.0.15"],"blockSize":[28,124],"routes":[{"dst":"0.0.0.0/0"}]}}`))
	require.NoError(t, err)
	require.Equal(t, "br0", c.Bridge)
	require.Equal(t, ctl.DefaultSocket, c.Socket)
	require.Equal(t, "pods", ic.Pool, "the pool is named after the network")
	def, err := ic.poolDef()
	require.NoError(t, err)
	require.Equal(t, ctl.PoolDef{"subnet": "10.1.0.0/24,fd00::/64", "range": "10.1.0.10-10.1.0.20,fd00::10-fd00::20",
		"gateway": "10.1.0.1,fd00::1", "exclude": "10.1.0.15", "block": "28,124"}, *def)

	// host-local's one-range form.
	_, ic, err = parseConf([]byte(`{"name":"n","bridge":"b","ipam":{"type":"vecswitch","pool":"p","subnet":"10.2.0.0/16"}}`))
	require.NoError(t, err)
	def, err = ic.poolDef()
	require.NoError(t, err)
	require.Equal(t, ctl.PoolDef{"subnet": "10.2.0.0/16"}, *def)
	require.Equal(t, "p", ic.Pool)

	// A pool named but not defined: it must exist in vswitchd.
	_, ic, err = parseConf([]byte(`{"name":"n","bridge":"b","ipam":{"type":"vecswitch","pool":"p"}}`))
	require.NoError(t, err)
	def, err = ic.poolDef()
	require.NoError(t, err)
	require.Nil(t, def)

	// Routed mode: no bridge, a VRF.
	c, _, err = parseConf([]byte(`{"name":"n","mode":"routed","vrf":"blue","ipam":{"type":"vecswitch","subnet":"10.2.0.0/16"}}`))
	require.NoError(t, err)
	require.True(t, c.routed())
	require.Equal(t, "blue", c.VRF)

	// Another IPAM type is not ours.
	_, ic, err = parseConf([]byte(`{"name":"n","bridge":"b","ipam":{"type":"host-local","subnet":"10.2.0.0/16"}}`))
	require.NoError(t, err)
	require.Nil(t, ic)
}

func TestParseConfErrors(t *testing.T) {
	for _, c := range []struct {
		conf string
		code uint
	}{
		{`{`, types.ErrDecodingFailure},
		{`{"name":"n","bridge":"b","vlan":"x"}`, types.ErrDecodingFailure},
		{`{"bridge":"b"}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n"}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","bridge":"b","vlan":4095}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","mode":"routed","bridge":"b"}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","mode":"routed","vlan":5}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","mode":"overlay","bridge":"b"}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","bridge":"b","vrf":"blue"}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","bridge":"b","mtu":20}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","bridge":"b","portSecurity":"maybe"}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","bridge":"b","io":"dpdk"}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","bridge":"b","timeout":-1}`, types.ErrInvalidNetworkConfig},
		{`{"name":"n","bridge":"b","ipam":{"type":"vecswitch","ranges":"x"}}`, types.ErrDecodingFailure},
	} {
		_, _, err := parseConf([]byte(c.conf))
		var te *types.Error
		require.True(t, errors.As(err, &te), "%s: %v", c.conf, err)
		require.Equal(t, c.code, te.Code, "%s: %s", c.conf, te.Msg)
	}
	for _, ipam := range []string{
		`{"type":"vecswitch","subnet":"10.0.0.0/8","ranges":[[{"subnet":"10.0.0.0/8"}]]}`,
		`{"type":"vecswitch","ranges":[[{"subnet":"10.0.0.0/8"},{"subnet":"10.1.0.0/16"}]]}`,
		`{"type":"vecswitch","ranges":[[{"rangeStart":"10.0.0.1"}]]}`,
		`{"type":"vecswitch","ranges":[[{"subnet":"10.0.0.0/8","rangeStart":"10.0.0.1"}]]}`,
		`{"type":"vecswitch","exclude":["10.0.0.1"]}`,
	} {
		_, ic, err := parseConf([]byte(`{"name":"n","bridge":"b","ipam":` + ipam + `}`))
		require.NoError(t, err)
		_, err = ic.poolDef()
		require.Error(t, err, ipam)
	}
}

func TestFixedAddresses(t *testing.T) {
	c, _, err := parseConf([]byte(`{"name":"n","bridge":"b","mac":"02:00:00:00:00:01"}`))
	require.NoError(t, err)
	ips, mac, err := c.fixed("IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.0.0.5,fd00::5;MAC=02:00:00:00:00:02")
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.5", "fd00::5"}, ips)
	require.Equal(t, "02:00:00:00:00:02", mac)

	c, _, err = parseConf([]byte(`{"name":"n","bridge":"b","args":{"cni":{"ips":["10.0.0.6"]}},"runtimeConfig":{"mac":"02:00:00:00:00:03","ips":["10.0.0.7/24"]}}`))
	require.NoError(t, err)
	ips, mac, err = c.fixed("IP=10.0.0.5")
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.7/24"}, ips, "runtimeConfig wins")
	require.Equal(t, "02:00:00:00:00:03", mac)

	// runtimeConfig's values win over CNI_ARGS, but a malformed CNI_ARGS
	// is still an error.
	for _, bad := range []string{"IP", "IP=banana", "MAC=zz"} {
		_, _, err := c.fixed(bad)
		require.Error(t, err, bad)
	}
	c, _, err = parseConf([]byte(`{"name":"n","bridge":"b","runtimeConfig":{"ips":["x"]}}`))
	require.NoError(t, err)
	_, _, err = c.fixed("")
	require.Error(t, err)
}

func TestCNIErrorCodes(t *testing.T) {
	for code, want := range map[ctl.Code]uint{
		ctl.CodeUnavail: types.ErrTryAgainLater, ctl.CodeInvalid: types.ErrInvalidNetworkConfig,
		ctl.CodeNotFound: types.ErrInvalidNetworkConfig, ctl.CodeExhausted: errPoolExhausted, ctl.CodeInternal: types.ErrInternal,
	} {
		err := cniError(ctl.Errorf(code, "why"))
		var te *types.Error
		require.True(t, errors.As(err, &te))
		require.Equal(t, want, te.Code, code)
		require.Contains(t, te.Msg, "why")
	}
	require.NoError(t, cniError(nil))
}

func TestResult(t *testing.T) {
	c, _, err := parseConf([]byte(`{"cniVersion":"1.0.0","name":"n","bridge":"b","dns":{"nameservers":["10.0.0.53"]}}`))
	require.NoError(t, err)
	r, err := result(c, &ctl.EndpointView{Port: "vsc0123456789ab", IfName: "eth0", MAC: "02:00:00:00:00:01", MTU: 1500, Netns: "/run/netns/x",
		Addrs: []string{"10.0.0.2/24", "fd00::2/64"}, Gateways: []string{"10.0.0.1", "fd00::1"},
		Routes: []ctl.RouteSpec{{Dst: "0.0.0.0/0", Gw: "10.0.0.1"}}})
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, `{"cniVersion":"1.1.0","interfaces":[{"name":"vsc0123456789ab"},{"name":"eth0","mac":"02:00:00:00:00:01","mtu":1500,"sandbox":"/run/netns/x"}],
		"ips":[{"interface":1,"address":"10.0.0.2/24","gateway":"10.0.0.1"},{"interface":1,"address":"fd00::2/64","gateway":"fd00::1"}],
		"routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1"}],"dns":{"nameservers":["10.0.0.53"]}}`, string(b))
}

// FuzzParseConf: no netconf crashes the plugin; an accepted one names a
// network and a bridge, and its ipam section either makes a pool
// definition or an error.
func FuzzParseConf(f *testing.F) {
	f.Add([]byte(`{"name":"n","bridge":"b","ipam":{"type":"vecswitch","subnet":"10.0.0.0/8","routes":[{"dst":"0.0.0.0/0"}]}}`))
	f.Add([]byte(`{"name":"n","bridge":"b","ipam":{"type":"vecswitch","ranges":[[{"subnet":"fd00::/64"}]]},"runtimeConfig":{"ips":["fd00::1"]}}`))
	f.Add([]byte(`{"name":"n","bridge":"b","args":{"cni":{"mac":"02:00:00:00:00:01"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ic, err := parseConf(b)
		if err != nil {
			var te *types.Error
			if !errors.As(err, &te) {
				t.Fatalf("not a CNI error: %v", err)
			}
			return
		}
		if c.Name == "" || c.Bridge == "" || c.Socket == "" {
			t.Fatalf("accepted without name, bridge or socket: %+v", c)
		}
		c.fixed("IP=10.0.0.1;MAC=02:00:00:00:00:01")
		if ic != nil {
			ic.poolDef()
		}
	})
}

// TestPoolDefPartial: one range set with a gateway and a range, the other
// with neither; each goes to its own subnet.
func TestPoolDefPartial(t *testing.T) {
	_, ic, err := parseConf([]byte(`{"name":"n","bridge":"b","ipam":{"type":"vecswitch","ranges":[
		[{"subnet":"fd00::/64"}],[{"subnet":"10.1.0.0/24","gateway":"10.1.0.254","rangeStart":"10.1.0.10","rangeEnd":"10.1.0.20"}]]}}`))
	require.NoError(t, err)
	def, err := ic.poolDef()
	require.NoError(t, err)
	p, err := ipam.ParsePool(ic.Pool, *def)
	require.NoError(t, err)
	require.Len(t, p.Ranges, 2)
	require.Equal(t, "fd00::1", p.Ranges[0].Gateway.String(), "no gateway given: the subnet's first address")
	require.Equal(t, "10.1.0.254", p.Ranges[1].Gateway.String())
	require.Equal(t, "10.1.0.10", p.Ranges[1].Start.String())
}

func TestPodName(t *testing.T) {
	for in, want := range map[string]string{
		"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0": "web-0",
		"K8S_POD_NAME=db":     "db",
		"K8S_POD_NAME=my.pod": "",
		"K8S_POD_NAME=-x":     "",
		"K8S_POD_NAME=":       "",
		"IP=10.0.0.2":         "",
		"":                    "",
		"K8S_POD_NAME=" + strings.Repeat("a", 64): "",
	} {
		if got := podName(in); got != want {
			t.Errorf("podName(%q) = %q, want %q", in, got, want)
		}
	}
}
