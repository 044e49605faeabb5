//go:build linux

package netnsdir

import (
	"errors"
	"fmt"
	"os"

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
