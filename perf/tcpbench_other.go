//go:build !linux

package perf

import "context"

// RunTCPBench needs Linux (namespaces, veth, tap, AF_XDP).
func RunTCPBench(ctx context.Context, cfg TCPBenchConfig) ([]TCPBenchResult, error) {
	return nil, ErrE2ENotSupported
}
