package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestCaptureFileInStateDirDoesNotBlockStart: a plain file named captures
// in the state directory used to keep vswitchd from starting ("capture
// directory ... is not a directory"). The switch starts with a WARN,
// capture/start fails saying why, and works once the file is moved away.
func TestCaptureFileInStateDirDoesNotBlockStart(t *testing.T) {
	build(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	require.NoError(t, os.MkdirAll(state, 0o700))
	captures := filepath.Join(state, "captures")
	require.NoError(t, os.WriteFile(captures, []byte("not a directory"), 0o600))
	d := &daemon{t: t, dir: dir, socket: filepath.Join(dir, "vswitchd.sock")}
	d.start()
	t.Cleanup(func() {
		d.vsctl("capture/stop")
		d.stop(syscall.SIGTERM)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("vswitchd log:\n%s", b)
		}
	})
	log, err := os.ReadFile(filepath.Join(dir, "log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "level=WARN msg=\"captures are off")
	require.Contains(t, string(log), captures+" is not a directory")

	ns := nettest.NewNS(t)
	port := "cf" + nettest.Suffix()
	d.must("add-br", "br0")
	d.must("add-port", "br0", port, "type=veth", "netns="+ns.Path(), "ip=10.67.0.1/24")
	t.Cleanup(func() { d.vsctl("del-port", port) })
	out, err := d.vsctl("capture/start", port, "file=a.pcapng")
	require.Error(t, err)
	require.Contains(t, out, captures+" is not a directory (a file is there)")

	// Repaired while running: the next capture/start makes the directory.
	require.NoError(t, os.Remove(captures))
	d.must("capture/start", port, "file=a.pcapng")
	d.must("capture/stop")
	_, err = os.Stat(filepath.Join(captures, "a.pcapng"))
	require.NoError(t, err)
}

// TestReadOnlyStateDirSaysSo: a read-only state directory cannot be used
// (the lock file is opened for writing); the refusal says the directory
// is read-only and what to do, not only "read-only file system".
func TestReadOnlyStateDirSaysSo(t *testing.T) {
	nettest.NeedRoot(t)
	state := t.TempDir()
	require.NoError(t, unix.Mount("tmpfs", state, "tmpfs", unix.MS_RDONLY, "size=1m"))
	t.Cleanup(func() { unix.Unmount(state, unix.MNT_DETACH) })
	code, out := runToExit(t, nil, "--socket", filepath.Join(t.TempDir(), "vswitchd.sock"), "--state-dir", state)
	require.NotEqual(t, 0, code, "%s", out)
	require.Contains(t, out, "state directory "+state+" is read-only", "%s", out)
	require.True(t, strings.Contains(out, "remount it read-write") && strings.Contains(out, "--state-dir"), "%s", out)
}
