package daemon

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/internal/nettest/netnsdir"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/ports/tap"
)

// Every driver that watches its own device must be seen by the sweep: a
// method that drifts from deviceFailer breaks the build here (tap's Down
// returned (bool, error), and a tap whose device was deleted stayed up).
var (
	_ deviceFailer = (*afxdp.Port)(nil)
	_ deviceFailer = (*sriov.Port)(nil)
	_ deviceFailer = (*tap.Port)(nil)
	_ deviceProber = (*tap.Port)(nil)
)

// TestVanishedTapGoesDownAndRecovers: a tap port in a container's
// namespace whose device is deleted, or whose namespace is deleted, is
// taken down and made again by itself once the namespace exists again,
// and the container talks again. It used to stay up for good, dropping
// every frame (the sweep never asked the tap whether it was down, and no
// interface of the host's was recorded for it), until vswitchd restarted.
func TestVanishedTapGoesDownAndRecovers(t *testing.T) {
	nettest.NeedRoot(t)
	sfx := nettest.Suffix()
	// The tap's namespace is the test's own, not nettest's (whose open
	// handle would keep it alive): deleting it must dismantle it, as
	// `ip netns del` does to a container's.
	nsName := "vst-tap-" + sfx
	nsPath := netnsdir.Dir + "/" + nsName
	t.Cleanup(func() { netns.DeleteNamed(nsName) }) // after the daemon's close (cleanups run last first)
	makeNS := func() {
		t.Helper()
		h, err := netnsdir.NewNamed(nsName)
		require.NoError(t, err)
		h.Close()
	}
	makeNS()
	peer := nettest.NewNS(t)

	d := newTestDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)
	r := run(t, d, "add-port", "br0", "vp"+sfx, "type=veth", "netns="+peer.Path(), "ip=10.79.0.1/24")
	require.True(t, r.OK, "%+v", r.Error)
	tp := "t" + sfx
	r = run(t, d, "add-port", "br0", tp, "type=tap", "netns="+nsPath, "ip=10.79.0.2/24")
	require.True(t, r.OK, "%+v", r.Error)
	pings := func(why string) {
		t.Helper()
		require.Eventually(t, func() bool { return pingOK(peer, "10.79.0.2") }, 10*time.Second, 100*time.Millisecond, why)
	}
	pings("no traffic before the device was deleted")
	first, err := netdev.LinkByName(nsPath, "eth0")
	require.NoError(t, err)

	// The device deleted inside the namespace: down, and made again at
	// the same sweep, since the namespace is there.
	require.NoError(t, netdev.DeleteLink(nsPath, first.Name, first.Index))
	require.Eventually(t, func() bool {
		v := portView(t, d, tp)
		return v.Losses == 1 && v.Up
	}, 3*healthInterval, 50*time.Millisecond, "the port did not notice its device was deleted, or did not come back")
	again, err := netdev.LinkByName(nsPath, "eth0")
	require.NoError(t, err, "the device was not made again")
	require.Equal(t, first.MAC.String(), again.MAC.String(), "the device made again has another MAC")
	pings("no traffic after the device was made again")

	// The namespace deleted: down, with the reason, while it is gone.
	require.NoError(t, netns.DeleteNamed(nsName))
	require.Eventually(t, func() bool { return !portView(t, d, tp).Up }, 3*healthInterval, 50*time.Millisecond,
		"the port still shows up after its namespace was deleted")
	v := portView(t, d, tp)
	require.False(t, v.Attached)
	require.Contains(t, v.Down, "the device failed")
	require.Equal(t, uint64(2), v.Losses)
	time.Sleep(2*healthInterval + 500*time.Millisecond) // retries fail while the namespace is gone
	v = portView(t, d, tp)
	require.False(t, v.Up)
	require.NotEmpty(t, v.LastTry)

	// ... and back with the namespace.
	makeNS()
	require.Eventually(t, func() bool { return portView(t, d, tp).Up }, 3*healthInterval, 50*time.Millisecond,
		"the port did not come back with its namespace")
	v = portView(t, d, tp)
	require.Empty(t, v.Down)
	require.Equal(t, uint64(2), v.Losses)
	pings("no traffic after the namespace was made again")
}
