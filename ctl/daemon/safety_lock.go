package daemon

import "errors"

// LockFile is the state directory's lock: the daemon holds an exclusive
// flock on it for its whole life and writes its PID in it. A second daemon
// on the same state directory would replay the same ports and fight the
// first over their interfaces; it refuses to start instead.
const LockFile = "vswitchd.lock"

// ErrStateDirLocked means another daemon holds the state directory.
var ErrStateDirLocked = errors.New("ctl: state directory in use by another vswitchd")
