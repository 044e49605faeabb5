package memport

import "unsafe"

// copy64 copies the first 64 bytes of src to dst; the caller checks both
// are that long. Eight word moves beat a call to memmove for minimum-size
// frames (Go copies a [64]byte array through memmove).
func copy64(dst, src []byte) {
	d := (*[8]uint64)(unsafe.Pointer(unsafe.SliceData(dst)))
	s := (*[8]uint64)(unsafe.Pointer(unsafe.SliceData(src)))
	d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
	d[4], d[5], d[6], d[7] = s[4], s[5], s[6], s[7]
}
