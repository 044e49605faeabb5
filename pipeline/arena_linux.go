package pipeline

import "golang.org/x/sys/unix"

// adviseHuge asks for transparent huge pages; where THP is off it is a no-op.
func adviseHuge(b []byte) { _ = unix.Madvise(b, unix.MADV_HUGEPAGE) }
