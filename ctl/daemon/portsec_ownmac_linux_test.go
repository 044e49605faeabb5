package daemon

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestPortMACsRefuseTheSwitchsOwn: a router interface's MAC is refused
// as a port's station MAC, naming the interface, as another port's bound
// MAC is: by set-port macs= (port security on or off), by add-port macs=
// and by add-port of a container whose mac= it is; and fdb/add refuses
// it as a static MAC. Nothing changes: the port keeps its own bound MAC
// and the MAC table keeps the router's entry. (Until 2026-12-08 set-port
// took it, unbinding the port's own MAC, and the router's entry became
// the port's "static (bound)".)
func TestPortMACsRefuseTheSwitchsOwn(t *testing.T) {
	nettest.NeedRoot(t)
	sfx := nettest.Suffix()
	name := "vo" + sfx
	d := newTestDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	r := run(t, d, "rif/add", "gw", "bridge=br0", "addr=10.79.0.1/24")
	require.True(t, r.OK, "%+v", r.Error)
	rifMAC := d.state.rif("gw").MAC
	require.NotEmpty(t, rifMAC)
	r = run(t, d, "add-port", "br0", name, "type=veth", "netns="+nettest.NewNS(t).Path(), "ip=10.79.0.2/24")
	require.True(t, r.OK, "%+v", r.Error)
	_, bp := d.state.port(name)
	own := append([]string(nil), bp.MACs...)
	require.Len(t, own, 1)

	refused := func(r ctl.Response, what string) {
		t.Helper()
		require.False(t, r.OK, "%s accepted", what)
		require.Equal(t, ctl.CodeInvalid, r.Error.Code, "%s: %+v", what, r.Error)
		require.Contains(t, r.Error.Message, "router interface gw", what)
	}
	for _, args := range [][]string{
		{"port_security=on", "macs=" + rifMAC},
		{"macs=" + strings.ToUpper(rifMAC)},
		{"macs=" + own[0] + "," + rifMAC},
		{"port_security=off", "macs=" + rifMAC},
	} {
		refused(run(t, d, "set-port", append([]string{name}, args...)...), strings.Join(args, " "))
	}
	_, bp = d.state.port(name)
	require.Equal(t, own, bp.MACs, "a refused set-port changed the port")

	other := "vp" + sfx
	refused(run(t, d, "add-port", "br0", other, "type=veth", "netns="+nettest.NewNS(t).Path(), "macs="+rifMAC), "add-port macs=")
	refused(run(t, d, "add-port", "br0", other, "type=veth", "netns="+nettest.NewNS(t).Path(), "mac="+rifMAC), "add-port mac=")
	p, _ := d.state.port(other)
	require.Nil(t, p, "a refused add-port left its port")
	require.NotContains(t, d.drivers, other, "a refused add-port left its driver")

	refused(run(t, d, "fdb/add", "br0", rifMAC, name), "fdb/add")
	require.Empty(t, d.state.bridge("br0").StaticMACs)

	page, err := d.sw.FDBPage(vswitch.FDBQuery{Bridge: "br0", MAC: rifMAC})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	require.Equal(t, "rif:gw", page.Entries[0].Port)
	require.False(t, page.Entries[0].Bound)
}
