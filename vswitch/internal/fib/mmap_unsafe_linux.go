//go:build !race

package fib

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tbl24 lives outside the Go heap in an anonymous private mapping, reserved
// but not committed (MAP_NORESERVE): the kernel backs a page on its first
// write, so a table with a few routes costs a few pages. Huge pages are
// turned off for it (MADV_NOHUGEPAGE) so that a system with THP "always"
// does not back a sparse table 2 MiB at a time (see pages24).
//
// Race builds use the heap instead (mmap_heap.go): the race detector does
// not watch memory mapped outside the Go heap.

// tbl24Mem is the memory behind a tbl24: the whole mapping, to unmap.
type tbl24Mem struct{ m []byte }

func mapTbl24() (*[tbl24Len]uint32, tbl24Mem, error) {
	const n = tbl24Len * 4
	m, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, tbl24Mem{}, fmt.Errorf("fib: mmap tbl24: %w", err)
	}
	_ = unix.Madvise(m, unix.MADV_NOHUGEPAGE) // best effort: only matters with THP "always"
	return (*[tbl24Len]uint32)(unsafe.Pointer(&m[0])), tbl24Mem{m}, nil
}

func (m tbl24Mem) unmap() error {
	if m.m == nil {
		return nil
	}
	if err := unix.Munmap(m.m); err != nil {
		return fmt.Errorf("fib: munmap tbl24: %w", err)
	}
	return nil
}

// bytesOf is the bytes of t from entry i on, n entries long.
func bytesOf(t *[tbl24Len]uint32, i, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&t[i])), n*4)
}

// release gives entries [i, i+n) (whole pages, all zero) back to the
// kernel. Concurrent readers read zeros before and after. False if the
// pages stay resident.
func (m tbl24Mem) release(t *[tbl24Len]uint32, i, n int) bool {
	return unix.Madvise(bytesOf(t, i, n), unix.MADV_DONTNEED) == nil
}
