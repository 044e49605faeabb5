//go:build !linux

package perf

import "context"

// RunE2E reports ErrE2ENotSupported: the benchmark needs Linux.
func RunE2E(context.Context, E2EConfig) ([]E2EResult, error) { return nil, ErrE2ENotSupported }
