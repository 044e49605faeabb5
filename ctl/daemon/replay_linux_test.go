package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestFailedReplayKeepsExistingVeth: a daemon whose replay of a container
// port fails (here: another daemon holds the veth's host end) must not
// delete the pair — it did not create it, and it is in use.
func TestFailedReplayKeepsExistingVeth(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	host := "vsr" + nettest.Suffix()
	dirA := t.TempDir()
	a := newTestDaemon(t, dirA)
	require.True(t, run(t, a, "add-br", "br0").OK)
	r := run(t, a, "add-port", "br0", host, "type=veth", "netns="+ns.Path(), "ip=10.9.0.1/24")
	require.True(t, r.OK, "%+v", r.Error)
	t.Cleanup(func() {
		if l, err := netdev.LinkByName("", host); err == nil {
			netdev.DeleteLink("", l.Name, l.Index)
		}
	})

	// A second daemon with a copy of the configuration: its replay of the
	// port cannot attach (the first one holds the interface's XDP).
	b, err := os.ReadFile(filepath.Join(dirA, StateFile))
	require.NoError(t, err)
	dirB := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dirB, StateFile), b, 0o600))
	newTestDaemon(t, dirB)

	_, err = netdev.LinkByName("", host)
	require.NoError(t, err, "the first daemon's veth host end was deleted by the second daemon's failed replay")
	_, err = netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err, "the container end is gone")
}
