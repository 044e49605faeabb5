//go:build !linux

package pipeline

import "errors"

func pinThread(int) error { return errors.New("pipeline: CPU pinning is only supported on Linux") }
