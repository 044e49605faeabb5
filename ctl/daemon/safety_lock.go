package daemon

import (
	"errors"
	"os"
	"strconv"
)

// LockFile is the state directory's lock: the daemon holds an exclusive
// flock on it for its whole life and writes its PID in it. A second daemon
// on the same state directory would replay the same ports and fight the
// first over their interfaces; it refuses to start instead.
const LockFile = "vswitchd.lock"

// ErrStateDirLocked means another daemon holds the state directory.
var ErrStateDirLocked = errors.New("ctl: state directory in use by another vswitchd")

// writeLockPID writes pid as the lock file's content: the holder it names
// in a second daemon's refusal.
func writeLockPID(f *os.File, pid int) {
	writeLock(f, []byte(strconv.Itoa(pid)+"\n"))
}

// writeLock sets the lock file's content to b. The PID is for messages
// only (the flock is the lock), so a failed write is not an error.
func writeLock(f *os.File, b []byte) {
	if _, err := f.WriteAt(b, 0); err == nil {
		f.Truncate(int64(len(b)))
	}
}
