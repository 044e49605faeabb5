//go:build !linux || race

package fib

// On systems without the mmap path, and in race builds (the race detector
// only watches the Go heap), tbl24 is a plain heap array. Fresh memory from
// the OS is still committed lazily on most systems, but nothing is ever
// given back before the table is garbage.

type tbl24Mem struct{}

func mapTbl24() (*[tbl24Len]uint32, tbl24Mem, error) { return new([tbl24Len]uint32), tbl24Mem{}, nil }

func (tbl24Mem) unmap() error { return nil }

func (tbl24Mem) release(*[tbl24Len]uint32, int, int) bool { return false }
