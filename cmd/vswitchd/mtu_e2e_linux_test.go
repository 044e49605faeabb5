package main_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// rifShown is a router interface as rif/show --json gives it.
type rifShown struct {
	Name         string `json:"name"`
	MAC          string `json:"mac"`
	MTU          int    `json:"mtu"`
	EffectiveMTU int    `json:"effective_mtu"`
	MTULimitedBy string `json:"mtu_limited_by"`
}

func rifShownOf(t *testing.T, d *daemon, name string) rifShown {
	t.Helper()
	var is []rifShown
	require.NoError(t, d.vsctlJSON(&is, "rif/show"))
	for _, i := range is {
		if i.Name == name {
			return i
		}
	}
	t.Fatalf("no interface %s in rif/show: %+v", name, is)
	return rifShown{}
}

// TestRoutedPortMTUWithVsctl: two containers in two subnets, their
// gateways at 1500; set-port mtu=1400 of b's port makes b's gateway
// route at 1400, as a Linux bridge's MTU follows its smallest port: a
// 1450-byte packet with DF from a gets fragmentation needed quoting 1400
// (it was dropped by the port with no error), a 4000-byte ping is
// fragmented to fit and answered, and rif/show says why. rif/del and
// rif/add of b's gateway give it back its MAC (it came back with a new
// random one, and b's ARP entry kept the old).
func TestRoutedPortMTUWithVsctl(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	pb := "mb" + nettest.Suffix()
	d.must("add-br", "mtua")
	d.must("add-br", "mtub")
	d.must("add-port", "mtua", "ma"+nettest.Suffix(), "type=veth", "netns="+a.Path(), "ip=10.63.1.2/24", "gw=10.63.1.1")
	d.must("add-port", "mtub", pb, "type=veth", "netns="+b.Path(), "ip=10.63.2.2/24", "gw=10.63.2.1")
	d.must("rif/add", "ga", "bridge=mtua", "addr=10.63.1.1/24")
	d.must("rif/add", "gb", "bridge=mtub", "addr=10.63.2.1/24")
	require.NoError(t, ping(a, "10.63.2.2"))
	require.Zero(t, rifShownOf(t, d, "gb").EffectiveMTU)

	d.must("set-port", pb, "mtu=1400")
	gb := rifShownOf(t, d, "gb")
	require.Equal(t, 1400, gb.EffectiveMTU)
	require.Equal(t, pb, gb.MTULimitedBy)
	require.NoError(t, ping(a, "10.63.2.2"))
	out, err := a.Command("ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1422", "10.63.2.2").CombinedOutput()
	require.Error(t, err, "%s", out)
	require.Contains(t, string(out), "1400", "fragmentation needed with the port's MTU: %s", out)
	out, err = a.Command("ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1372", "10.63.2.2").CombinedOutput()
	require.NoError(t, err, "a full 1400-byte packet crosses: %s", out)
	out, err = a.Command("ping", "-c", "2", "-i", "0.2", "-W", "2", "-M", "dont", "-s", "4000", "10.63.2.2").CombinedOutput()
	require.NoError(t, err, "a 4000-byte echo, fragmented to fit: %s", out)

	// The gateway deleted and added again: the same MAC, so b's ARP
	// entry for it is still right and b's replies are routed at once.
	mac := gb.MAC
	d.must("rif/del", "gb")
	d.must("rif/add", "gb", "bridge=mtub", "addr=10.63.2.1/24")
	require.Equal(t, mac, rifShownOf(t, d, "gb").MAC)
	require.NoError(t, ping(a, "10.63.2.2"))
	out, err = b.Command("ip", "neigh", "show", "10.63.2.1").CombinedOutput()
	require.NoError(t, err)
	require.Contains(t, string(out), mac, "b's ARP entry for its gateway")
}
