package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestControlSocketClaimedBeforeReplay: a vswitchd whose --socket another
// running vswitchd serves (its own --state-dir), or whose socket's parent
// is a file, used to replay its whole configuration first (making veths,
// opening the running daemon's interfaces) and only then fail, leaving
// the veths it made behind. It fails before anything is made, and the
// running daemon is untouched.
func TestControlSocketClaimedBeforeReplay(t *testing.T) {
	first := newDaemon(t)
	ns := nettest.NewNS(t)
	port := "sc" + nettest.Suffix()
	first.must("add-br", "br0")
	first.must("add-port", "br0", port, "type=veth", "netns="+ns.Path(), "ip=10.65.0.1/24")

	// A second configuration with a veth port of its own, made by a
	// vswitchd that is then killed; its veth is removed, so that a
	// replay would make it again.
	second := newDaemon(t)
	ns2 := nettest.NewNS(t)
	port2 := "sd" + nettest.Suffix()
	second.must("add-br", "br0")
	second.must("add-port", "br0", port2, "type=veth", "netns="+ns2.Path(), "ip=10.66.0.1/24")
	second.stop(syscall.SIGKILL)
	out, err := exec.Command("ip", "link", "del", port2).CombinedOutput()
	require.NoError(t, err, "%s", out)
	state2 := filepath.Join(second.dir, "state")

	code, out2 := runToExit(t, nil, "--socket", first.socket, "--state-dir", state2)
	out = []byte(out2)
	require.NotEqual(t, 0, code, "%s", out)
	require.Contains(t, string(out), "socket in use by a running daemon", "%s", out)
	require.NotContains(t, string(out), "port restored", "nothing is replayed: %s", out)
	_, err = netdev.LinkByName("", port2)
	require.Error(t, err, "the refused vswitchd made its veth %s", port2)
	_, err = netdev.LinkByName("", port)
	require.NoError(t, err, "the first daemon's veth is gone")
	_, err = netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err, "the first daemon's container end is gone")
	require.Contains(t, first.must("show"), port)

	// The socket's parent is a file.
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	code, out2 = runToExit(t, nil, "--socket", filepath.Join(file, "vswitchd.sock"), "--state-dir", state2)
	require.NotEqual(t, 0, code, "%s", out2)
	require.Contains(t, out2, "not a directory", "%s", out2)
	require.NotContains(t, out2, "port restored", "nothing is replayed: %s", out2)
	_, err = netdev.LinkByName("", port2)
	require.Error(t, err, "the refused vswitchd made its veth %s", port2)
	require.Contains(t, first.must("show"), port)
}
