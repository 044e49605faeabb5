//go:build !linux

package daemon

import (
	"errors"
	"io"
)

func lockStateDir(string) (io.Closer, error) {
	return nil, errors.New("ctl: locking the state directory needs Linux (flock)")
}
