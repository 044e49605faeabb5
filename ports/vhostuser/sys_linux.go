package vhostuser

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// linuxSys is the real sysOps.
type linuxSys struct{}

// mapRegion maps the file from offset 0 to the end of the region, rounded
// up to the file's block size (a huge page for hugetlbfs, which maps only
// whole pages), as DPDK's vhost library does. The file must be at least
// that long: touching a mapping beyond the end of its file faults.
func (linuxSys) mapRegion(fd int, offset, size uint64) ([]byte, []byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, nil, fmt.Errorf("stat region fd: %w", err)
	}
	end := offset + size
	if st.Size < 0 || uint64(st.Size) < end {
		return nil, nil, fmt.Errorf("region ends at %d, its file has %d bytes", end, st.Size)
	}
	align := uint64(os.Getpagesize())
	if b := uint64(st.Blksize); b > align && b&(b-1) == 0 {
		align = b
	}
	length := (end + align - 1) &^ (align - 1)
	if length > 1<<47 || length < end {
		return nil, nil, fmt.Errorf("region of %d bytes at %d is too large", size, offset)
	}
	m, err := unix.Mmap(fd, 0, int(length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap region of %d bytes: %w", length, err)
	}
	return m, m[offset:end:end], nil
}

func (linuxSys) unmap(m []byte) error { return unix.Munmap(m) }

func (linuxSys) closeFD(fd int) { unix.Close(fd) }

func (linuxSys) prepareKick(fd int) error { return unix.SetNonblock(fd, true) }

func (linuxSys) watch(pollFD, fd int) error {
	if pollFD < 0 {
		return nil
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	return unix.EpollCtl(pollFD, unix.EPOLL_CTL_ADD, fd, &ev)
}

func (linuxSys) unwatch(pollFD, fd int) {
	if pollFD >= 0 {
		unix.EpollCtl(pollFD, unix.EPOLL_CTL_DEL, fd, nil)
	}
}
