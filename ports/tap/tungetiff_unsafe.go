//go:build linux

package tap

import (
	"bytes"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tunGetIff reads a tun/tap descriptor's device name and flags.
func tunGetIff(fd int) (string, uint16, error) {
	var req struct {
		name  [unix.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNGETIFF, uintptr(unsafe.Pointer(&req))); errno != 0 {
		return "", 0, errno
	}
	n := bytes.IndexByte(req.name[:], 0)
	if n < 0 {
		n = len(req.name)
	}
	return string(req.name[:n]), req.flags, nil
}
