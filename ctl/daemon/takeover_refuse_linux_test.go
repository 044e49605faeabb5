package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch"
)

// takeoverGiver is a running daemon on its own state directory with a
// bridge and a tap port (a port every takeover moves): the giver of the
// tests below. It is closed at cleanup unless handedOver says so.
type takeoverGiver struct {
	d          *Daemon
	dir        string
	tap        string
	handedOver bool
}

func newTakeoverGiver(t *testing.T) *takeoverGiver {
	t.Helper()
	nettest.NeedRoot(t)
	g := &takeoverGiver{dir: t.TempDir(), tap: "tq" + nettest.Suffix()}
	d, err := New(Config{StateDir: g.dir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	g.d = d
	t.Cleanup(func() {
		if !g.handedOver {
			d.Close()
		}
	})
	require.NoError(t, d.Start())
	require.True(t, run(t, d, "add-br", "qdb").OK)
	r := run(t, d, "add-port", "qdb", g.tap, "type=tap")
	require.True(t, r.OK, "%+v", r.Error)
	return g
}

// export starts a takeover of g's daemon in this process: the giver's
// export, the successor's Inherit. The giver resumes at the (sub)test's
// end unless it did before, so that a failed check does not leave it
// frozen; a successor made of in must be closed before (register its
// cleanup after this).
func (g *takeoverGiver) export(t *testing.T) (*Giver, *Inherited) {
	t.Helper()
	gv := g.d.Giver()
	state, files, err := gv.Export()
	require.NoError(t, err)
	in, err := Inherit(state, files)
	if err != nil {
		gv.Resume()
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		in.Close()
		if !g.handedOver {
			gv.Resume() // again is harmless
		}
	})
	return gv, in
}

// newSuccessor is New with in; a successor made is given up and closed at
// the (sub)test's end, before the giver resumes.
func newSuccessor(t *testing.T, cfg Config) (*Daemon, error) {
	t.Helper()
	d, err := New(cfg)
	if err == nil {
		t.Cleanup(func() {
			d.Switch().Stop()
			d.ReleaseInherited()
			d.Close()
		})
	}
	return d, err
}

// lockContent is what the state directory's lock file says.
func lockContent(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	require.NoError(t, err)
	return string(b)
}

// setLockContent makes the lock file say s (as another process's PID
// would), through the holder's own descriptor.
func setLockContent(t *testing.T, d *Daemon, s string) {
	t.Helper()
	writeLock(d.lock.(*os.File), []byte(s))
	require.Equal(t, s, lockContent(t, d.store.dir))
}

var ourPID = strconv.Itoa(os.Getpid()) + "\n"

// TestTakeoverRefusesOtherStateDir: a successor on another state
// directory (a copy of the configuration, or an empty one) is refused
// before it changes anything, with both directories named; the giver
// runs on, its lock held, and the other directory gets nothing. It used
// to take over and store to the other directory under the first one's
// lock (and, from an empty one, fail with "port ... was not adopted" and
// leave a config.json there; a directory that did not exist was left
// behind, empty). The same directory by another path (a symlink) takes
// over.
func TestTakeoverRefusesOtherStateDir(t *testing.T) {
	g := newTakeoverGiver(t)
	conf, err := os.ReadFile(filepath.Join(g.dir, StateFile))
	require.NoError(t, err)
	copied := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(copied, StateFile), conf, 0o600))
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "new")

	for name, dir := range map[string]string{"copy": copied, "empty": empty, "missing": missing} {
		t.Run(name, func(t *testing.T) {
			gv, in := g.export(t)
			_, err := newSuccessor(t, Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}, Inherit: in})
			require.ErrorContains(t, err, "takeover refused")
			require.ErrorContains(t, err, "state directory is "+dir+" and the running one's is "+g.dir)
			in.Close()
			gv.Resume()

			switch dir {
			case missing:
				require.NoDirExists(t, dir, "the refused successor made its state directory")
			case empty:
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				require.Empty(t, entries, "the refused successor wrote in the other directory")
			default:
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				require.Len(t, entries, 1, "the refused successor wrote in the other directory")
				b, err := os.ReadFile(filepath.Join(dir, StateFile))
				require.NoError(t, err)
				require.Equal(t, conf, b)
			}
			_, err = lockStateDir(g.dir)
			require.ErrorIs(t, err, ErrStateDirLocked, "the giver's state directory is not locked any more")
			require.Equal(t, ourPID, lockContent(t, g.dir))
			r := run(t, g.d, "set-bridge", "qdb", "mac_age=222")
			require.True(t, r.OK, "the giver does not take commands: %+v", r.Error)
		})
	}

	// The same directory through a symlink: taken over.
	link := filepath.Join(t.TempDir(), "st")
	require.NoError(t, os.Symlink(g.dir, link))
	gv, in := g.export(t)
	d2, err := New(Config{StateDir: link, Switch: vswitch.Options{Workers: 1}, Inherit: in})
	require.NoError(t, err, "the giver's own state directory through a symlink was refused")
	t.Cleanup(func() { d2.Close() })
	_, err = d2.FinishTakeover()
	require.NoError(t, err)
	require.NoError(t, d2.Start())
	gv.HandedOver()
	g.handedOver = true
	require.NoError(t, g.d.Close())
	require.True(t, portView(t, d2, g.tap).Up)
}

// TestTakeoverRefusesOtherPools: when AF_XDP ports move, their pools move
// with them as they are, so a successor asking for another --pool-frames
// or for --shared-pools=false is refused before it maps them (it used to
// take over with the giver's pools and ignore both). Without pools
// handed over, the successor makes its own, with its own options.
func TestTakeoverRefusesOtherPools(t *testing.T) {
	dir := t.TempDir()
	lock, err := lockStateDir(dir)
	require.NoError(t, err)
	t.Cleanup(func() { lock.Close() })
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 512, Shared: true})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	inherit := func(pools bool) *Inherited {
		t.Helper()
		lfd, err := unix.Dup(int(lock.(*os.File).Fd()))
		require.NoError(t, err)
		files := []*os.File{os.NewFile(uintptr(lfd), "lock")}
		state := `{"lock":0,"ports":[]}`
		if pools {
			mem, err := pool.Handover()
			require.NoError(t, err)
			files = append(files, mem)
			state = fmt.Sprintf(`{"lock":0,"ports":[],"stop_first":true,"pools":[{"file":1,"frames":512,"arena":%d}]}`, pool.ArenaID())
		}
		in, err := Inherit([]byte(state), files)
		require.NoError(t, err)
		t.Cleanup(in.Close)
		return in
	}
	for name, c := range map[string]struct {
		opts vswitch.Options
		want string
	}{
		"other size":     {vswitch.Options{Workers: 1, PoolFrames: 1024, SharedPools: true}, "--pool-frames 1024, and the running one's worker 0 has 512"},
		"default size":   {vswitch.Options{Workers: 1, SharedPools: true}, "--pool-frames 8192, and the running one's worker 0 has 512"},
		"private pools":  {vswitch.Options{Workers: 1, PoolFrames: 512}, "--shared-pools=false"},
		"private, other": {vswitch.Options{Workers: 1, PoolFrames: 1024}, "--shared-pools=false"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newSuccessor(t, Config{StateDir: dir, Switch: c.opts, Inherit: inherit(true)})
			require.ErrorContains(t, err, "takeover refused")
			require.ErrorContains(t, err, c.want)
		})
	}

	d, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1, PoolFrames: 512, SharedPools: true}, Inherit: inherit(true)})
	require.NoError(t, err, "the same pools were refused")
	require.Equal(t, pool.ArenaID(), d.Switch().Pools()[0].ArenaID())
	require.NoError(t, d.Close())

	d, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1, PoolFrames: 1024}, Inherit: inherit(false)})
	require.NoError(t, err, "other pool options were refused with no pools handed over")
	require.Equal(t, 1024, d.Switch().Pools()[0].Size())
	require.False(t, d.Switch().Pools()[0].Shared())
	require.NoError(t, d.Close())
}

// TestTakeoverLockNamesHolder: the state directory's lock names the
// running daemon until a successor is about to commit. A successor that
// fails (here in New, after it took the lock: its --cores do not match
// the giver's pools) leaves it as it was, one that gives up after
// FinishTakeover puts the giver's PID back, and a giver that resumes
// writes its own again (after a successor that died). It used to name a
// failed successor, a process that no longer existed, in the refusal of
// the next daemon on the directory.
func TestTakeoverLockNamesHolder(t *testing.T) {
	const giverPID = "4242\n" // in this test, the giver is another process

	t.Run("fails in New", func(t *testing.T) {
		dir := t.TempDir()
		lock, err := lockStateDir(dir)
		require.NoError(t, err)
		t.Cleanup(func() { lock.Close() })
		writeLock(lock.(*os.File), []byte(giverPID))
		pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 512, Shared: true})
		require.NoError(t, err)
		t.Cleanup(func() { pool.Close() })
		lfd, err := unix.Dup(int(lock.(*os.File).Fd()))
		require.NoError(t, err)
		mem, err := pool.Handover()
		require.NoError(t, err)
		in, err := Inherit([]byte(fmt.Sprintf(`{"lock":0,"ports":[],"stop_first":true,"pools":[{"file":1,"frames":512,"arena":%d}]}`, pool.ArenaID())),
			[]*os.File{os.NewFile(uintptr(lfd), "lock"), mem})
		require.NoError(t, err)
		t.Cleanup(in.Close)
		_, err = newSuccessor(t, Config{StateDir: dir, Switch: vswitch.Options{Workers: 2, PoolFrames: 512, SharedPools: true}, Inherit: in})
		require.ErrorContains(t, err, "--cores must match")
		require.Equal(t, giverPID, lockContent(t, dir), "a successor that failed wrote its PID in the lock")
	})

	g := newTakeoverGiver(t)
	t.Run("gives up after FinishTakeover", func(t *testing.T) {
		setLockContent(t, g.d, giverPID)
		gv, in := g.export(t)
		d2, err := New(Config{StateDir: g.dir, Switch: vswitch.Options{Workers: 1}, Inherit: in})
		require.NoError(t, err)
		closed := false
		t.Cleanup(func() {
			if !closed {
				d2.Switch().Stop()
				d2.ReleaseInherited()
				d2.Close()
			}
		})
		require.Equal(t, giverPID, lockContent(t, g.dir), "the successor wrote its PID before FinishTakeover")
		_, err = d2.FinishTakeover()
		require.NoError(t, err)
		require.Equal(t, ourPID, lockContent(t, g.dir), "a successor about to commit does not name itself")
		d2.Switch().Stop()
		d2.ReleaseInherited()
		require.Equal(t, giverPID, lockContent(t, g.dir), "a successor that gave up left its PID in the lock")
		closed = true
		require.NoError(t, d2.Close())
		gv.Resume()
		require.True(t, portView(t, g.d, g.tap).Up)
	})
	t.Run("giver resumes", func(t *testing.T) {
		gv := g.d.Giver()
		_, _, err := gv.Export() // Resume closes the files
		require.NoError(t, err)
		t.Cleanup(gv.Resume)             // again is harmless
		setLockContent(t, g.d, "6664\n") // a successor that died with its PID written
		gv.Resume()
		require.Equal(t, ourPID, lockContent(t, g.dir), "a giver that resumed does not name itself")
		_, err = lockStateDir(g.dir)
		require.ErrorContains(t, err, "locked by vswitchd pid "+strconv.Itoa(os.Getpid()))
	})
}
