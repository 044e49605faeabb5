package fastpath

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSender sends the same batch of frames with one sendmmsg(2) per
// call, on a bound packet socket.
type batchSender struct {
	fd    int
	iovs  []unix.Iovec
	msgs  []unix.Mmsghdr
	frame [][]byte
}

func newBatchSender(fd int, frames [][]byte) *batchSender {
	s := &batchSender{fd: fd, iovs: make([]unix.Iovec, len(frames)), msgs: make([]unix.Mmsghdr, len(frames)), frame: frames}
	for i, f := range frames {
		s.iovs[i].Base = &f[0]
		s.iovs[i].SetLen(len(f))
		s.msgs[i].Hdr.Iov = &s.iovs[i]
		s.msgs[i].Hdr.Iovlen = 1
	}
	return s
}

// send returns how many frames the kernel took.
func (s *batchSender) send() (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(len(s.msgs)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
