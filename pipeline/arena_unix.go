//go:build linux || darwin || freebsd

package pipeline

import "golang.org/x/sys/unix"

// mapArena maps anonymous, pre-faulted memory outside the Go heap: the GC
// never scans it and the kernel can share it (AF_XDP UMEM).
func mapArena(size int) ([]byte, error) {
	flags := unix.MAP_PRIVATE | unix.MAP_ANON
	return unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, flags|mapPopulate)
}

func unmapArena(b []byte) error { return unix.Munmap(b) }
