package netdevtest

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/vecswitch/vecswitch/internal/nettest/netnsdir"
	"golang.org/x/sys/unix"
)

// NetnsDir is where named namespaces are bind-mounted, as `ip netns` does.
const NetnsDir = "/var/run/netns"

// NewNetns creates a network namespace with a unique name, bind-mounted
// under NetnsDir, and returns its path. t.Cleanup deletes it (a namespace
// deleted earlier by the test is fine). The calling thread never changes
// namespace.
func NewNetns(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	name := Name("vst-test-")
	// /run/netns must be a shared mount point before a namespace is bound
	// there, or the first `ip netns add` elsewhere buries it (netnsdir).
	if err := netnsdir.Prepare(); err != nil {
		t.Fatalf("prepare %s: %v", NetnsDir, err)
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer orig.Close()
		ns, err := netns.NewNamed(name) // unshares this thread
		if err == nil {
			ns.Close()
		}
		if serr := netns.Set(orig); serr != nil {
			done <- errors.Join(err, serr) // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("create netns %s: %v", name, err)
	}
	path := filepath.Join(NetnsDir, name)
	t.Cleanup(func() {
		if err := DeleteNetns(path); err != nil {
			t.Errorf("delete netns %s: %v", path, err)
		}
	})
	return path
}

// DeleteNetns unmounts and removes a namespace made by NewNetns; the
// namespace dies once nothing else holds it. A path already gone is fine.
func DeleteNetns(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// EnterNetns moves the test's goroutine into the namespace at path for the
// rest of the test, cleanups included: its OS thread is locked and never
// unlocked, so the runtime discards the thread when the test ends and no
// other goroutine ever runs in that namespace by accident. Code under test
// that acts on "the caller's namespace" then acts on a namespace the test
// owns instead of the host's.
func EnterNetns(t testing.TB, path string) {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("open netns %s: %v", path, err)
	}
	defer ns.Close()
	runtime.LockOSThread()
	if err := netns.Set(ns); err != nil {
		t.Fatalf("enter netns %s: %v", path, err)
	}
}

// Socket opens a socket inside the namespace at path (it stays there). The
// returned function closes it (once; later calls do nothing) and also runs
// at cleanup. An open socket keeps its namespace alive: close it before
// testing what happens when the namespace dies.
func Socket(t testing.TB, path string, domain, typ, proto int) (fd int, close func()) {
	t.Helper()
	fd = -1
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		fd, err = unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
		if serr := netns.Set(orig); serr != nil {
			done <- errors.Join(err, serr) // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("socket in netns %s: %v", path, err)
	}
	var once sync.Once
	close = func() { once.Do(func() { unix.Close(fd) }) }
	t.Cleanup(close)
	return fd, close
}
