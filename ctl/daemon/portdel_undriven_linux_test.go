package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestDelPortUndrivenDeletesVeth: a veth port that could not be
// restored at start (down: here an io=afxdp veth made with one queue,
// and the daemon started again with two workers) has no driver, but
// its pair is still the daemon's: del-port deletes it, so that add-port
// of the same name makes it anew. (del-port left it, and add-port then
// failed: "create veth: host interface exists".) The port's down reason
// tells what to do about the queues.
func TestDelPortUndrivenDeletesVeth(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	name := "ud" + nettest.Suffix()
	dir := t.TempDir()
	add := []string{"br0", name, "type=veth", "io=afxdp", "netns=" + ns.Path(), "ip=10.94.0.1/24"}

	d1, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	require.True(t, run(t, d1, "add-br", "br0").OK)
	r := run(t, d1, "add-port", add...)
	require.True(t, r.OK, "%+v", r.Error)
	require.NoError(t, d1.Close())
	_, err = netdev.LinkByName("", name)
	require.NoError(t, err, "a stop leaves the container's veth")

	d2, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 2}})
	require.NoError(t, err)
	t.Cleanup(func() { d2.Close() })
	v := portView(t, d2, name)
	require.False(t, v.Attached)
	require.Contains(t, v.Down, "1 tx queues for 2 workers")
	require.Contains(t, v.Down, "del-port and add-port it again", "the reason says what to do")

	r = run(t, d2, "del-port", name)
	require.True(t, r.OK, "%+v", r.Error)
	_, err = netdev.LinkByName("", name)
	require.ErrorIs(t, err, netdev.ErrNotFound, "del-port left the veth of a port without a driver")

	r = run(t, d2, "add-port", add...)
	require.True(t, r.OK, "add-port of the same name after del-port: %+v", r.Error)
	v = portView(t, d2, name)
	require.True(t, v.Attached)
	require.Empty(t, v.Down)
	require.Len(t, v.RxQueues, 2, "made anew with a queue per worker")
}
