package daemon

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockStateDir takes an exclusive flock on the state directory's lock file
// and writes this process's PID in it. The lock is held as long as the
// returned file is open (the fd is close-on-exec, so no child inherits
// it), and the kernel drops it when the process dies, even by SIGKILL:
// there is no stale lock to clean up.
func lockStateDir(dir string) (io.Closer, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	switch {
	case errors.Is(err, syscall.EROFS):
		// The lock is opened for writing (and vswitchd writes its
		// configuration there): a read-only directory cannot be used.
		return nil, fmt.Errorf("ctl: state directory %s is read-only (%s cannot be opened for writing; vswitchd locks it and stores its configuration there): remount it read-write, or give vswitchd a writable --state-dir: %w", dir, path, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return nil, fmt.Errorf("ctl: state directory %s is not writable by this user (%s cannot be opened for writing; vswitchd locks it and stores its configuration there): run vswitchd as the directory's owner, or give it a writable --state-dir: %w", dir, path, err)
	case err != nil:
		return nil, fmt.Errorf("ctl: state directory lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			holder := "another process"
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = "vswitchd pid " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("%w: %s is locked by %s (%s); stop that daemon, or give this one its own --state-dir", ErrStateDirLocked, dir, holder, path)
		}
		return nil, fmt.Errorf("ctl: state directory lock %s: %w", path, err)
	}
	// The PID is for the refusal message only; the flock is the lock.
	writeLockPID(f, os.Getpid())
	return f, nil
}
