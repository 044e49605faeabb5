package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestContainerPortsBindTheirMAC: a veth port the daemon creates binds its
// container's MAC (port security on by default), shows it, stores it;
// port_security=off, macs= and mac_limit= change it; bad values are typed
// errors that change nothing.
func TestContainerPortsBindTheirMAC(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	sfx := nettest.Suffix()
	name := "vp" + sfx
	d := newTestDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	r := run(t, d, "add-port", "br0", name, "type=veth", "netns="+ns.Path(), "ip=10.78.0.1/24", "mac_limit=100")
	require.True(t, r.OK, "%+v", r.Error)
	l, err := netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err)
	mac := l.MAC.String()

	v := portView(t, d, name)
	require.True(t, v.PortSecurity)
	require.Equal(t, []string{mac}, v.MACs)
	require.Equal(t, 100, v.MACLimit)
	_, bp := d.state.port(name)
	require.Equal(t, []string{mac}, bp.MACs, "the bound MAC is stored")

	for _, bad := range [][]string{{"port_security=maybe"}, {"mac_limit=0"}, {"mac_limit=x"}, {"macs=01:00:5e:00:00:01"}, {"macs=nonsense"}} {
		r = run(t, d, "set-port", append([]string{name}, bad...)...)
		require.False(t, r.OK, "%v accepted", bad)
		require.Equal(t, ctl.CodeInvalid, r.Error.Code, "%v: %+v", bad, r.Error)
	}
	_, bp = d.state.port(name)
	require.Equal(t, []string{mac}, bp.MACs, "a refused set-port changed the port")
	require.Equal(t, 100, bp.MACLimit)

	r = run(t, d, "set-port", name, "port_security=off")
	require.True(t, r.OK, "%+v", r.Error)
	require.False(t, portView(t, d, name).PortSecurity)
	r = run(t, d, "set-port", name, "port_security=on", "mac_limit=50")
	require.True(t, r.OK, "%+v", r.Error)
	v = portView(t, d, name)
	require.True(t, v.PortSecurity)
	require.Equal(t, 50, v.MACLimit)

	r = run(t, d, "add-port", "br0", "vq"+sfx, "type=veth", "netns="+nettest.NewNS(t).Path(), "port_security=off")
	require.True(t, r.OK, "%+v", r.Error)
	require.False(t, portView(t, d, "vq"+sfx).PortSecurity, "port_security=off at add-port")
}
