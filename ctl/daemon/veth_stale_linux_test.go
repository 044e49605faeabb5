package daemon

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// A veth pair of a port that is not the port's (left by a kill -9 in the
// middle of add-port, its container end renamed, its namespace made anew
// with an eth0 of its own): real namespaces and veths (root).

// ipCmd runs ip with args.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	require.NoError(t, err, "ip %v: %s", args, out)
}

// TestAddPortOverOwnLeftoverVeth: kill -9 during add-port type=veth can
// leave the pair made, with this daemon's alias, and no port stored; the
// retry failed "host interface exists" until someone deleted it by hand.
// Now the leftover is deleted and made anew. A veth of the name without
// this daemon's alias (another daemon's, the admin's) stays, and the
// add-port still says it exists.
func TestAddPortOverOwnLeftoverVeth(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	sfx := nettest.Suffix()
	own, foreign := "vlo"+sfx, "vlf"+sfx
	t.Cleanup(func() { deleteHostEnd(own); deleteHostEnd(foreign) })
	d, _ := restartableDaemon(t, t.TempDir())
	require.True(t, run(t, d, "add-br", "br0").OK)

	// What the killed add-port left: the pair, made with our alias.
	left, err := netdev.CreateVeth(netdev.VethOptions{HostName: own, Netns: ns.Path(), PeerName: "eth1", MTU: 1500, Queues: 1, Alias: d.vethAlias()})
	require.NoError(t, err)
	r := run(t, d, "add-port", "br0", own, "type=veth", "netns="+ns.Path(), "ifname=eth1", "io=afpacket")
	require.True(t, r.OK, "%+v", r.Error)
	require.True(t, portView(t, d, own).Up)
	h, err := netdev.LinkByName("", own)
	require.NoError(t, err)
	require.NotEqual(t, left.HostIndex, h.Index, "the leftover was adopted, not made anew")
	require.True(t, isPair(t, own, ns.Path(), "eth1"))

	// Not ours: kept, and the port is refused.
	_, err = netdev.CreateVeth(netdev.VethOptions{HostName: foreign, Netns: ns.Path(), PeerName: "eth2", MTU: 1500, Queues: 1, Alias: "vecswitch:someoneelse"})
	require.NoError(t, err)
	before, err := netdev.LinkByName("", foreign)
	require.NoError(t, err)
	r = run(t, d, "add-port", "br0", foreign, "type=veth", "netns="+ns.Path(), "ifname=eth2", "io=afpacket")
	require.False(t, r.OK)
	require.Contains(t, r.Error.Message, "exists")
	after, err := netdev.LinkByName("", foreign)
	require.NoError(t, err, "another daemon's veth was deleted")
	require.Equal(t, before.Index, after.Index)
}

// isPair: hostName's peer is peer in netnsPath.
func isPair(t *testing.T, hostName, netnsPath, peer string) bool {
	t.Helper()
	ok, known := vethPeers(hostName, netnsPath, peer)
	require.True(t, known)
	return ok
}

// TestRestartVethNotThePair: at start, a host end whose peer is not the
// container end the port names stayed down for good ("host interface
// exists") when the container end was renamed, and was adopted, the port
// shown up with the container not connected, when the namespace was made
// anew with an unrelated eth0. Now only a true pair is adopted: ours,
// not the pair, is deleted and made anew.
func TestRestartVethNotThePair(t *testing.T) {
	nettest.NeedRoot(t)
	t.Run("container end renamed", func(t *testing.T) {
		ns := nettest.NewNS(t)
		p := "vlr" + nettest.Suffix()
		t.Cleanup(func() { deleteHostEnd(p) })
		dir := t.TempDir()
		d, stop := restartableDaemon(t, dir)
		require.True(t, run(t, d, "add-br", "br0").OK)
		r := run(t, d, "add-port", "br0", p, "type=veth", "netns="+ns.Path(), "io=afpacket")
		require.True(t, r.OK, "%+v", r.Error)
		stop()
		// The pair as it was is adopted, not made anew.
		before, err := netdev.LinkByName("", p)
		require.NoError(t, err)
		d, stop = restartableDaemon(t, dir)
		require.True(t, portView(t, d, p).Up)
		after, err := netdev.LinkByName("", p)
		require.NoError(t, err)
		require.Equal(t, before.Index, after.Index, "a true pair was made anew")
		stop()
		ipCmd(t, "-n", ns.Name, "link", "set", "eth0", "down")
		ipCmd(t, "-n", ns.Name, "link", "set", "eth0", "name", "eth9")
		require.True(t, isPair(t, p, ns.Path(), "eth9"))

		d, _ = restartableDaemon(t, dir)
		v := portView(t, d, p)
		require.True(t, v.Up, "the port is down: %s", v.Down)
		require.True(t, isPair(t, p, ns.Path(), "eth0"), "the port's eth0 is not its pair")
	})
	t.Run("namespace made anew", func(t *testing.T) {
		ns := newNamedNS(t)
		sfx := nettest.Suffix()
		p, other := "vln"+sfx, "vlu"+sfx
		t.Cleanup(func() { deleteHostEnd(p); deleteHostEnd(other) })
		dir := t.TempDir()
		d, stop := restartableDaemon(t, dir)
		require.True(t, run(t, d, "add-br", "br0").OK)
		r := run(t, d, "add-port", "br0", p, "type=veth", "netns="+ns.path(), "io=afpacket")
		require.True(t, r.OK, "%+v", r.Error)
		stop()
		// The old namespace lives on (a process holds it), with the
		// pair; a new one is made at its path, with an eth0 of its own:
		// a veth whose peer is in the host namespace.
		old, err := os.Open(ns.path())
		require.NoError(t, err)
		t.Cleanup(func() { old.Close() })
		ns.del()
		ns.add()
		ipCmd(t, "link", "add", other, "type", "veth", "peer", "name", "eth0", "netns", ns.name)
		_, err = netdev.LinkByName("", p)
		require.NoError(t, err, "the host end did not survive")
		require.False(t, isPair(t, p, ns.path(), "eth0"))
		unrelated, err := netdev.LinkByName(ns.path(), "eth0")
		require.NoError(t, err)

		d, _ = restartableDaemon(t, dir)
		v := portView(t, d, p)
		require.False(t, v.Up, "the stale host end was adopted: the port is up, the container not connected")
		require.Contains(t, v.Down, "container interface exists")
		_, err = netdev.LinkByName("", p)
		require.Error(t, err, "the stale host end (ours) was not removed")
		still, err := netdev.LinkByName(ns.path(), "eth0")
		require.NoError(t, err, "the namespace's own eth0 was deleted")
		require.Equal(t, unrelated.Index, still.Index)
	})
}
