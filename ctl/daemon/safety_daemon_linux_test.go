package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestCaptureNeverWritesOutsideItsDirectory: capture/start once took any
// path and, as root, truncated it (then removed it when the port did not
// exist): pointed at config.json it destroyed the configuration. Now
// file= is a plain name in the capture directory, created exclusively.
func TestCaptureNeverWritesOutsideItsDirectory(t *testing.T) {
	nettest.NeedRoot(t)
	dir := t.TempDir()
	d := newTestDaemon(t, dir)
	require.True(t, run(t, d, "add-br", "br0").OK)
	cfgPath := filepath.Join(dir, StateFile)
	before, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	outside := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(outside, []byte("precious"), 0o644))

	for _, file := range []string{cfgPath, outside, "../" + StateFile, "..", ".", "a/b", "", ".hidden", "-x", "sp ace"} {
		r := run(t, d, "capture/start", "nosuchport", "file="+file)
		requireCode(t, r, ctl.CodeInvalid, "file=%q", file)
	}
	after, err := os.ReadFile(cfgPath)
	require.NoError(t, err, "config.json is gone")
	require.Equal(t, before, after, "config.json changed")
	b, err := os.ReadFile(outside)
	require.NoError(t, err)
	require.Equal(t, "precious", string(b))

	// A real capture goes into the capture directory.
	ns := nettest.NewNS(t)
	port := "vsc" + nettest.Suffix()
	r := run(t, d, "add-port", "br0", port, "type=veth", "netns="+ns.Path(), "ip=10.9.1.1/24")
	require.True(t, r.OK, "%+v", r.Error)
	t.Cleanup(func() {
		if l, err := netdev.LinkByName("", port); err == nil {
			netdev.DeleteLink("", l.Name, l.Index)
		}
	})
	capDir := filepath.Join(dir, CaptureSubdir)
	r = run(t, d, "capture/start", port, "file=c1.pcapng")
	require.True(t, r.OK, "%+v", r.Error)
	var v ctl.CaptureView
	decode(t, r, &v)
	r = run(t, d, "capture/show")
	require.True(t, r.OK, "%+v", r.Error)
	decode(t, r, &v)
	require.True(t, v.Running)
	require.Equal(t, filepath.Join(capDir, "c1.pcapng"), v.File)
	require.True(t, run(t, d, "capture/stop").OK)
	fi, err := os.Stat(v.File)
	require.NoError(t, err)
	require.Positive(t, fi.Size(), "pcapng header written")

	// Never over an existing file, nor through a symbolic link.
	r = run(t, d, "capture/start", port, "file=c1.pcapng")
	requireCode(t, r, ctl.CodeExists)
	fi2, err := os.Stat(v.File)
	require.NoError(t, err)
	require.Equal(t, fi.Size(), fi2.Size(), "existing capture truncated")
	before, err = os.ReadFile(cfgPath)
	require.NoError(t, err)
	require.NoError(t, os.Symlink(cfgPath, filepath.Join(capDir, "link.pcapng")))
	r = run(t, d, "capture/start", port, "file=link.pcapng")
	requireCode(t, r, ctl.CodeExists)
	after, err = os.ReadFile(cfgPath)
	require.NoError(t, err)
	require.Equal(t, before, after, "config.json written through a symlink")

	// Without file=, a fresh name in the capture directory.
	r = run(t, d, "capture/start", port)
	require.True(t, r.OK, "%+v", r.Error)
	r = run(t, d, "capture/stop")
	require.True(t, r.OK, "%+v", r.Error)
	decode(t, r, &v)
	require.Equal(t, capDir, filepath.Dir(v.File))
	require.Contains(t, filepath.Base(v.File), port+"-")
}

// TestCaptureShowIdle: capture/show with no capture succeeds with an idle
// view, as trace/show answers [] (it was a not-found error).
func TestCaptureShowIdle(t *testing.T) {
	d := newTestDaemon(t, t.TempDir())
	r := run(t, d, "capture/show")
	require.True(t, r.OK, "%+v", r.Error)
	var v ctl.CaptureView
	decode(t, r, &v)
	require.False(t, v.Running)
	require.Empty(t, v.File)
	r = run(t, d, "trace/show")
	require.True(t, r.OK, "%+v", r.Error)
}

// TestSecondDaemonRefused: a second daemon on the same state directory
// used to start, fail to restore the ports and delete the first one's
// veths. It is refused, naming the holder, until the first one stops.
func TestSecondDaemonRefused(t *testing.T) {
	dir := t.TempDir()
	a, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	_, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.ErrorIs(t, err, ErrStateDirLocked)
	require.ErrorContains(t, err, "pid "+strconv.Itoa(os.Getpid()))
	require.NoError(t, a.Close())
	b, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err, "the lock outlived its daemon")
	require.NoError(t, b.Close())
}

// TestCorruptConfigFallsBack: a damaged config.json (here: what a
// capture wrote over it) used to stop every start. The copy in the
// journal is used (with every change: nothing is lost), the damaged file
// kept aside, and the next start is normal.
func TestCorruptConfigFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name, content string
	}{
		{"garbage", "\n\r\n\x1a\x2b\x3c\x4d pcapng"},
		{"truncated", `{"version":1,"bridges":[{"name":"br0"`},
		{"null", "null"},
		{"rejected", `{"version":1,"bridges":[{"name":"br0"},{"name":"br0"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
			require.NoError(t, err)
			require.True(t, run(t, d, "add-br", "br0").OK)
			require.True(t, run(t, d, "add-br", "br1").OK)
			require.NoError(t, d.Close())
			cfg := filepath.Join(dir, StateFile)
			require.NoError(t, os.WriteFile(cfg, []byte(tc.content), 0o600))

			d, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
			require.NoError(t, err, "a corrupt config.json blocks the start")
			var names []string
			for _, b := range d.state.Bridges {
				names = append(names, b.Name)
			}
			require.Equal(t, []string{"br0", "br1"}, names, "the journal's copy is used")
			asides, _ := filepath.Glob(cfg + ".corrupt-*")
			require.Len(t, asides, 1)
			b, err := os.ReadFile(asides[0])
			require.NoError(t, err)
			require.Equal(t, tc.content, string(b), "the damaged file is kept as it was")
			// config.json is a copy of the previous one, not another name
			// of its file: editing one in place must not change the other.
			ci, err := os.Stat(cfg)
			require.NoError(t, err)
			pi, err := os.Stat(cfg + ".prev")
			require.NoError(t, err)
			require.False(t, os.SameFile(ci, pi), "config.json and config.json.prev are one file")
			// The configuration works on: a change, then a restart.
			require.True(t, run(t, d, "add-br", "br2").OK)
			require.NoError(t, d.Close())
			d, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
			require.NoError(t, err)
			require.Len(t, d.state.Bridges, 3)
			require.NoError(t, d.Close())
		})
	}
}

// TestNoUsableConfigRefuses: with config.json and its previous copy both
// damaged the daemon does not start (empty, over them): it names both
// files and leaves them alone.
func TestNoUsableConfigRefuses(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, StateFile)
	require.NoError(t, os.WriteFile(cfg, []byte("{torn"), 0o600))
	_, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.ErrorContains(t, err, cfg)
	require.ErrorContains(t, err, cfg+".prev")
	require.NoError(t, os.WriteFile(cfg+".prev", []byte("also torn"), 0o600))
	_, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.ErrorContains(t, err, cfg+".prev")
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.Equal(t, "{torn", string(b))
	asides, _ := filepath.Glob(cfg + ".corrupt-*")
	require.Empty(t, asides)

	// Another format version is not damage: refused, never set aside.
	require.NoError(t, os.WriteFile(cfg, []byte(`{"version":99}`), 0o600))
	_, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.True(t, errors.Is(err, errStateVersion), "%v", err)
	asides, _ = filepath.Glob(cfg + ".corrupt-*")
	require.Empty(t, asides)
}

// TestCaptureDirForGroup: with a control group, its members can reach and
// read the captures (0750 directory, 0640 files, group-owned) and nothing
// else in the state directory (0710: no listing; config.json stays 0600).
func TestCaptureDirForGroup(t *testing.T) {
	nettest.NeedRoot(t)
	const gid = 4244
	dir := t.TempDir()
	d, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}, CaptureGID: gid})
	require.NoError(t, err)
	defer d.Close()
	require.True(t, run(t, d, "add-br", "br0").OK)
	check := func(path string, mode os.FileMode, gid uint32) {
		t.Helper()
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode().Perm(), path)
		require.Equal(t, gid, fi.Sys().(*syscall.Stat_t).Gid, path)
	}
	check(dir, 0o710, gid)
	check(filepath.Join(dir, CaptureSubdir), 0o750, gid)
	check(filepath.Join(dir, StateFile), 0o600, 0)
	f, err := d.createCaptureFile("g.pcapng")
	require.NoError(t, err)
	f.Close()
	check(f.Name(), 0o640, gid)
}
