//go:build !linux && !darwin && !freebsd

package pipeline

// mapArena falls back to the Go heap where mmap is not available.
func mapArena(size int) ([]byte, error) { return make([]byte, size), nil }

func unmapArena([]byte) error { return nil }
