package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// restartableDaemon starts a daemon on dir; the returned stop closes it
// (once: it is also the test's cleanup), so that another can start on dir.
func restartableDaemon(t *testing.T, dir string) (*Daemon, func()) {
	t.Helper()
	d, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	require.NoError(t, d.Start())
	closed := false
	stop := func() {
		if !closed {
			closed = true
			require.NoError(t, d.Close())
		}
	}
	t.Cleanup(stop)
	return d, stop
}

// deleteHostEnd deletes a veth by its host end, if it is there.
func deleteHostEnd(name string) error {
	l, err := netdev.LinkByName("", name)
	if err != nil {
		return nil
	}
	return netdev.DeleteLink("", l.Name, l.Index)
}

// containerMAC is the MAC of eth0 in ns.
func containerMAC(t *testing.T, ns *nettest.NS) string {
	t.Helper()
	l, err := netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err)
	return l.MAC.String()
}

// TestRebuiltVethKeepsItsMAC: a container veth made anew — its pair
// deleted from the host side or from the container side while the daemon
// runs, or while it is stopped — comes back with the MAC the port was
// made with, the one its port security binds, and the container talks
// again. The new container end used to get a new random MAC, and every
// frame from it was dropped (l2-input/src-mac-not-allowed).
func TestRebuiltVethKeepsItsMAC(t *testing.T) {
	nettest.NeedRoot(t)
	for _, io := range []string{"afpacket", "afxdp"} {
		t.Run(io, func(t *testing.T) {
			na, nb := nettest.NewNS(t), nettest.NewNS(t)
			sfx := nettest.Suffix()
			pa, pb := "vka"+sfx, "vkb"+sfx
			t.Cleanup(func() { deleteHostEnd(pa); deleteHostEnd(pb) })
			dir := t.TempDir()
			d, stop := restartableDaemon(t, dir)
			require.True(t, run(t, d, "add-br", "br0").OK)
			r := run(t, d, "add-port", "br0", pa, "type=veth", "netns="+na.Path(), "ip=10.83.0.1/24", "io="+io)
			require.True(t, r.OK, "%+v", r.Error)
			r = run(t, d, "add-port", "br0", pb, "type=veth", "netns="+nb.Path(), "ip=10.83.0.2/24", "io="+io)
			require.True(t, r.OK, "%+v", r.Error)
			mac := containerMAC(t, nb)
			require.Equal(t, []string{mac}, portView(t, d, pb).MACs, "port security binds the container's MAC")
			spec, _ := d.state.port(pb)
			require.Equal(t, mac, spec.Options["mac"], "the container's MAC is not stored with the port")
			pings := func(why string) {
				t.Helper()
				require.Eventually(t, func() bool { return pingOK(na, "10.83.0.2") }, 10*time.Second, 100*time.Millisecond, why)
			}
			pings("no traffic before the pair was deleted")

			// rebuilt waits for the port to lose its interface the n-th
			// time and come back, then checks the MAC and the traffic.
			rebuilt := func(d *Daemon, n uint64, how string) {
				t.Helper()
				require.Eventually(t, func() bool {
					v := portView(t, d, pb)
					return v.Losses == n && v.Up
				}, 10*time.Second, 50*time.Millisecond, "the port did not come back after %s", how)
				require.Equal(t, mac, containerMAC(t, nb), "the container end made anew after %s has a new MAC", how)
				require.Equal(t, []string{mac}, portView(t, d, pb).MACs)
				pings("no traffic after " + how)
			}

			require.NoError(t, deleteHostEnd(pb))
			rebuilt(d, 1, "its host end was deleted")

			l, err := netdev.LinkByName(nb.Path(), "eth0")
			require.NoError(t, err)
			require.NoError(t, netdev.DeleteLink(nb.Path(), l.Name, l.Index))
			rebuilt(d, 2, "its container end was deleted")

			// Deleted while the daemon is stopped: the start makes it.
			stop()
			require.NoError(t, deleteHostEnd(pb))
			d, _ = restartableDaemon(t, dir)
			rebuilt(d, 0, "it was deleted while the daemon was stopped")
		})
	}
}

// TestVethMACRecordedAtStart: a veth port stored before its container MAC
// was (no mac= in config.json) gets the MAC of the pair the start finds
// recorded, so that a pair made again later keeps it.
func TestVethMACRecordedAtStart(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	name := "vkr" + nettest.Suffix()
	t.Cleanup(func() { deleteHostEnd(name) })
	dir := t.TempDir()
	d, stop := restartableDaemon(t, dir)
	require.True(t, run(t, d, "add-br", "br0").OK)
	r := run(t, d, "add-port", "br0", name, "type=veth", "netns="+ns.Path(), "ip=10.84.0.2/24")
	require.True(t, r.OK, "%+v", r.Error)
	mac := containerMAC(t, ns)
	stop()

	// The configuration as an earlier vswitchd stored it.
	cfg := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	var st State
	require.NoError(t, json.Unmarshal(b, &st))
	spec, _ := st.port(name)
	require.Equal(t, mac, spec.Options["mac"])
	delete(spec.Options, "mac")
	b, err = json.Marshal(&st)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, b, 0o600))

	d, stop = restartableDaemon(t, dir)
	require.True(t, portView(t, d, name).Up)
	spec, _ = d.state.port(name)
	require.Equal(t, mac, spec.Options["mac"], "the MAC of the pair found at start is not recorded")
	stop()
	b, err = os.ReadFile(cfg)
	require.NoError(t, err)
	require.Contains(t, string(b), mac, "the recorded MAC is not stored")

	require.NoError(t, deleteHostEnd(name))
	d, _ = restartableDaemon(t, dir)
	require.True(t, portView(t, d, name).Up)
	require.Equal(t, mac, containerMAC(t, ns), "the pair made again has a new MAC")
	require.Equal(t, []string{mac}, portView(t, d, name).MACs)
}
