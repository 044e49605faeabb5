package daemon

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestAddPortRefusesHostInterface: an afxdp port on an interface that
// carries a host address is refused unless force=true is given; a
// missing device is named as the device. (The default-route case is
// netdev.TestHostUseOf's, inside a namespace: a test never adds a default
// route to the host.)
func TestAddPortRefusesHostInterface(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	host := "vsu" + nettest.Suffix()
	nettest.Veth(t, host, ns, "192.0.2.2/24", 1)
	l, err := netlink.LinkByName(host)
	require.NoError(t, err)
	a, err := netlink.ParseAddr("192.0.2.1/32") // TEST-NET-1, a host route only
	require.NoError(t, err)
	require.NoError(t, netlink.AddrAdd(l, a))

	d := newTestDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	r := run(t, d, "add-port", "br0", "p1", "type=afxdp", "dev="+host)
	require.False(t, r.OK, "an interface with a host address was attached")
	require.Equal(t, ctl.CodeInvalid, r.Error.Code)
	require.Contains(t, r.Error.Message, "192.0.2.1/32")
	require.Contains(t, r.Error.Message, "force=true")
	require.Empty(t, d.state.Ports, "a refused port is not stored")

	r = run(t, d, "add-port", "br0", "p1", "type=afxdp", "dev="+host, "force=maybe")
	require.False(t, r.OK)
	require.Equal(t, ctl.CodeInvalid, r.Error.Code)

	r = run(t, d, "add-port", "br0", "p1", "type=afxdp", "dev="+host, "force=true")
	require.True(t, r.OK, "%+v", r.Error)

	r = run(t, d, "add-port", "br0", "p2", "type=afxdp", "dev=nosuch"+nettest.Suffix()[:4])
	require.False(t, r.OK)
	require.Equal(t, ctl.CodeNotFound, r.Error.Code)
	require.True(t, strings.HasPrefix(r.Error.Message, "no device nosuch"), r.Error.Message)
	require.NotContains(t, r.Error.Message, "p2")
}
