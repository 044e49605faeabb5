package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestAddVethPortAgain: the same add-port of a container veth again —
// without the mac= the daemon stored for it, or with it — is a no-op:
// the pair is not made again (the same host end, the same container
// MAC) and the driver is the one running; another ip= is refused.
func TestAddVethPortAgain(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	name := "vid" + nettest.Suffix()
	t.Cleanup(func() { deleteHostEnd(name) })
	d, _ := restartableDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	add := []string{"br0", name, "type=veth", "netns=" + ns.Path(), "ip=10.85.0.2/24"}
	r := run(t, d, "add-port", add...)
	require.True(t, r.OK, "%+v", r.Error)
	host, err := netdev.LinkByName("", name)
	require.NoError(t, err)
	mac := containerMAC(t, ns)
	spec, _ := d.state.port(name)
	require.Equal(t, mac, spec.Options["mac"], "the daemon stores the container's MAC")
	dr := d.drivers[name]

	for _, again := range [][]string{add, append(add, "mac="+mac), append(add, "io=afpacket", "macs="+mac)} {
		r = run(t, d, "add-port", again...)
		require.True(t, r.OK, "%v: %+v", again, r.Error)
	}
	r = run(t, d, "add-port", append(add[:4:4], "ip=10.85.0.3/24")...)
	requireCode(t, r, ctl.CodeExists)
	require.Contains(t, r.Error.Message, "with ip=10.85.0.2/24, not ip=10.85.0.3/24")

	require.Same(t, dr, d.drivers[name], "the port's driver was made again")
	now, err := netdev.LinkByName("", name)
	require.NoError(t, err)
	require.Equal(t, host.Index, now.Index, "the veth was made again")
	require.Equal(t, mac, containerMAC(t, ns))
}
