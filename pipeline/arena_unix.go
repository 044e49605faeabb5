//go:build linux || darwin || freebsd

package pipeline

import "golang.org/x/sys/unix"

// mapArena maps anonymous memory outside the Go heap: the GC never scans it
// and the kernel can share it (AF_XDP UMEM). It asks for transparent huge
// pages, because a vector's 256 frames span 128 small pages, more than the
// first-level TLB holds, and then faults every page in so the data path
// never takes a page fault.
func mapArena(size int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, err
	}
	adviseHuge(b)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 0
	}
	return b, nil
}

func unmapArena(b []byte) error { return unix.Munmap(b) }
