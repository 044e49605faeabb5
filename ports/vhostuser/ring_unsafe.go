package vhostuser

import (
	"sync/atomic"
	"unsafe"
)

// The ring indices shared with the guest are read and written with
// atomic 32-bit operations on the word that holds them: avail->flags and
// avail->idx (the guest's), used->flags and used->idx (the backend's).
// An atomic load of avail->idx orders the reads of the ring entries and
// descriptors after it (acquire); an atomic store of used->idx orders the
// used elements written before it (release) and, being a full barrier on
// amd64 and a store-release on arm64, the reads of avail->flags or
// used_event that follow it. Both words are 4-byte aligned (checked when
// a ring starts: the used ring must be by the spec, and every front-end
// puts the avail ring right after the 16-byte aligned descriptor table).
//
// This is the only file of the package that uses unsafe.

// loadWord atomically loads the 32-bit little-endian word at b[0:4].
func loadWord(b []byte) uint32 {
	_ = b[3]
	v := atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[0])))
	return fromNative(v)
}

// storeWord atomically stores v as the 32-bit little-endian word at b[0:4].
func storeWord(b []byte, v uint32) {
	_ = b[3]
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[0])), fromNative(v))
}

// fromNative converts between host order and little-endian (the same
// conversion both ways).
func fromNative(v uint32) uint32 {
	if bigEndian {
		return v>>24 | v>>8&0xff00 | v<<8&0xff0000 | v<<24
	}
	return v
}

var bigEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 0
}()

// aligned reports whether b starts at a multiple of n in memory.
func aligned(b []byte, n uintptr) bool {
	return len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%n == 0
}
