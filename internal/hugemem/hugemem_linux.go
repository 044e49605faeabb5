package hugemem

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

func mmap(size uintptr) (uintptr, bool) {
	p, _, errno := unix.Syscall6(unix.SYS_MMAP, 0, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
	return p, errno == 0
}

func munmap(p, size uintptr) {
	if size > 0 {
		unix.Syscall(unix.SYS_MUNMAP, p, size, 0)
	}
}

// mapHuge maps size bytes aligned to a huge page and asks for huge
// pages; nil if the mapping fails.
func mapHuge(size uintptr) (unsafe.Pointer, func()) {
	size = (size + hugePage - 1) &^ (hugePage - 1)
	// Map one huge page more and trim both ends, so the start is aligned.
	base, ok := mmap(size + hugePage)
	if !ok {
		return nil, nil
	}
	start := (base + hugePage - 1) &^ (hugePage - 1)
	munmap(base, start-base)
	munmap(start+size, base+hugePage-start)
	unix.Syscall(unix.SYS_MADVISE, start, size, unix.MADV_HUGEPAGE) // best effort
	var once sync.Once
	// The mapping is not Go memory: its address never moves, and a
	// uintptr holding it is as good as a pointer (reinterpreted so, as
	// x/sys's own mmap does).
	p := *(*unsafe.Pointer)(unsafe.Pointer(&start))
	return p, func() { once.Do(func() { munmap(start, size) }) }
}
