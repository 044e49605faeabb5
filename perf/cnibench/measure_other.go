//go:build !linux

package cnibench

import (
	"context"
	"errors"
)

// ErrNotSupported is returned by Measure where network namespaces do
// not exist.
var ErrNotSupported = errors.New("cnibench: network namespaces need Linux")

// Measure needs Linux.
func Measure(ctx context.Context, cfg Config) (Result, error) { return Result{}, ErrNotSupported }
