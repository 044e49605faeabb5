package vhostuser

import "golang.org/x/sys/unix"

// signal adds one to an eventfd (an interrupt to the guest). buf is
// scratch owned by the caller, so nothing escapes to the heap.
func signal(fd int, buf *[8]byte) {
	*buf = [8]byte{1}
	unix.Write(fd, buf[:])
}

// drain resets a non-blocking eventfd (pending guest kicks).
func drain(fd int, buf *[8]byte) {
	unix.Read(fd, buf[:])
}
