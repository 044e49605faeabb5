//go:build !linux

package daemon

import (
	"errors"
	"io"
)

func lockStateDir(string) (io.Closer, error) {
	return nil, errors.New("daemon: locking the state directory is not supported on this system (it needs Linux's flock)")
}
