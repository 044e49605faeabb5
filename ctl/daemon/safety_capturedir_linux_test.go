package daemon

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestExistingCaptureDirKeepsItsMode: with --group, an existing
// --capture-dir is used as it is. It was made 0750 root:GROUP for good
// (with --capture-dir /tmp, the host's /tmp). Directories the daemon makes
// get the group's modes, and capture files their own restrictive ones.
func TestExistingCaptureDirKeepsItsMode(t *testing.T) {
	nettest.NeedRoot(t)
	const gid = 4245
	stat := func(path string) (os.FileMode, uint32) {
		t.Helper()
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Mode() & (os.ModePerm | os.ModeSticky), fi.Sys().(*syscall.Stat_t).Gid
	}

	shared := t.TempDir()
	require.NoError(t, os.Chmod(shared, os.ModeSticky|0o777))
	d, err := New(Config{StateDir: t.TempDir(), Switch: vswitch.Options{Workers: 1}, CaptureDir: shared, CaptureGID: gid})
	require.NoError(t, err)
	mode, g := stat(shared)
	require.Equal(t, os.ModeSticky|0o777, mode, "an existing directory's mode changed")
	require.Equal(t, uint32(0), g, "an existing directory's group changed")
	f, err := d.createCaptureFile("g.pcapng")
	require.NoError(t, err)
	f.Close()
	mode, g = stat(f.Name())
	require.Equal(t, os.FileMode(0o640), mode)
	require.Equal(t, uint32(gid), g)
	require.NoError(t, d.Close())

	// A directory the daemon makes, with a parent it makes too.
	base := t.TempDir()
	baseMode, _ := stat(base)
	made := filepath.Join(base, "a", "captures")
	d, err = New(Config{StateDir: t.TempDir(), Switch: vswitch.Options{Workers: 1}, CaptureDir: made, CaptureGID: gid})
	require.NoError(t, err)
	require.NoError(t, d.Close())
	mode, g = stat(made)
	require.Equal(t, os.FileMode(0o750), mode)
	require.Equal(t, uint32(gid), g)
	mode, g = stat(filepath.Join(base, "a"))
	require.Equal(t, os.FileMode(0o710), mode)
	require.Equal(t, uint32(gid), g)
	mode, _ = stat(base)
	require.Equal(t, baseMode, mode, "an existing parent changed")

	// Without a group, an existing directory is untouched too.
	require.NoError(t, os.Chmod(shared, 0o755))
	d, err = New(Config{StateDir: t.TempDir(), Switch: vswitch.Options{Workers: 1}, CaptureDir: shared})
	require.NoError(t, err)
	require.NoError(t, d.Close())
	mode, _ = stat(shared)
	require.Equal(t, os.FileMode(0o755), mode)
}
