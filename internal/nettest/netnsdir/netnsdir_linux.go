//go:build linux

package netnsdir

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Dir is where named network namespaces are bound (iproute2's
// NETNS_RUN_DIR; /var/run is a link to /run).
const Dir = "/run/netns"

// Prepare makes Dir exist and be a shared mount point, as iproute2 does,
// under the same flock of the directory so that it never races an
// `ip netns add` into stacking two binds. It is cheap when Dir is ready.
func Prepare() error {
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		return fmt.Errorf("netnsdir: %w", err)
	}
	fd, err := unix.Open(Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netnsdir: open %s: %w", Dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("netnsdir: lock %s: %w", Dir, err)
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	for made := false; ; made = true {
		err := unix.Mount("", Dir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		// EINVAL: not a mount point yet; make it one, once.
		if !errors.Is(err, unix.EINVAL) || made {
			return fmt.Errorf("netnsdir: make %s a shared mount: %w", Dir, err)
		}
		if err := unix.Mount(Dir, Dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("netnsdir: bind %s on itself: %w", Dir, err)
		}
	}
}

// NewNamed creates a network namespace bound at Dir/name, after Prepare.
// It is made on a thread of its own, which goes back to the original
// namespace before it is released; if it cannot, it stays locked and exits
// with its goroutine, so no other goroutine ever runs in the new namespace
// by accident (a test's goroutine may be stopped by FailNow at any point,
// so it never switches itself).
func NewNamed(name string) (netns.NsHandle, error) {
	if err := Prepare(); err != nil {
		return -1, err
	}
	type res struct {
		h   netns.NsHandle
		err error
	}
	c := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			c <- res{-1, err}
			return
		}
		defer orig.Close()
		h, err := netns.NewNamed(name) // switches this thread into it
		if serr := netns.Set(orig); serr != nil {
			if err == nil {
				h.Close()
				netns.DeleteNamed(name)
			}
			c <- res{-1, fmt.Errorf("back to the original netns: %w", serr)}
			return // the thread stays locked and dies
		}
		runtime.UnlockOSThread()
		c <- res{h, err}
	}()
	r := <-c
	if r.err != nil {
		return -1, fmt.Errorf("netnsdir: create netns %s: %w", name, r.err)
	}
	return r.h, nil
}
