//go:build !linux

package perf

import "context"

// RunSGBench needs Linux (namespaces, veth, tap, nftables).
func RunSGBench(ctx context.Context, cfg SGBenchConfig) ([]SGBenchResult, error) {
	return nil, ErrE2ENotSupported
}
