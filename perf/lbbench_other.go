//go:build !linux

package perf

import "context"

// RunLBBench needs Linux (namespaces, veth, tap, nftables).
func RunLBBench(ctx context.Context, cfg LBBenchConfig) ([]LBBenchResult, error) {
	return nil, ErrE2ENotSupported
}
