package xsk

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapRing maps one ring of n entries of entrySize bytes at page offset pgoff
// and fills in r's index pointers from off.
func mapRing(fd int, pgoff int64, off unix.XDPRingOffset, n uint32, entrySize uintptr, r *ring) error {
	size := int(off.Desc) + int(n)*int(entrySize)
	mem, err := unix.Mmap(fd, pgoff, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap ring at %#x: %w", pgoff, err)
	}
	base := unsafe.Pointer(unsafe.SliceData(mem))
	r.mem = mem
	r.producer = (*atomic.Uint32)(unsafe.Add(base, off.Producer))
	r.consumer = (*atomic.Uint32)(unsafe.Add(base, off.Consumer))
	r.flags = (*atomic.Uint32)(unsafe.Add(base, off.Flags))
	r.mask, r.size = n-1, n
	return nil
}

func mapAddrRing(fd int, pgoff int64, off unix.XDPRingOffset, n uint32, r *AddrRing) error {
	if err := mapRing(fd, pgoff, off, n, 8, &r.ring); err != nil {
		return err
	}
	r.addrs = unsafe.Slice((*uint64)(unsafe.Pointer(&r.mem[off.Desc])), n)
	// A fill ring starts empty and ours to produce; a completion ring
	// starts empty and ours to consume. Either way both indices are 0.
	r.local, r.cached = r.producer.Load(), r.consumer.Load()
	return nil
}

func mapDescRing(fd int, pgoff int64, off unix.XDPRingOffset, n uint32, r *DescRing) error {
	if err := mapRing(fd, pgoff, off, n, unsafe.Sizeof(unix.XDPDesc{}), &r.ring); err != nil {
		return err
	}
	r.descs = unsafe.Slice((*unix.XDPDesc)(unsafe.Pointer(&r.mem[off.Desc])), n)
	r.local, r.cached = r.producer.Load(), r.consumer.Load()
	return nil
}

func unmapRing(r *ring) error {
	if r.mem == nil {
		return nil
	}
	err := unix.Munmap(r.mem)
	r.mem, r.producer, r.consumer, r.flags = nil, nil, nil, nil
	return err
}

// getsockopt reads a struct-valued socket option.
func getsockopt(fd, level, opt int, p unsafe.Pointer, size uintptr) error {
	l := uint32(size)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return nil
}

func mmapOffsets(fd int) (unix.XDPMmapOffsets, error) {
	var off unix.XDPMmapOffsets
	err := getsockopt(fd, unix.SOL_XDP, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off))
	return off, err
}

func statistics(fd int) (unix.XDPStatistics, error) {
	var st unix.XDPStatistics
	err := getsockopt(fd, unix.SOL_XDP, unix.XDP_STATISTICS, unsafe.Pointer(&st), unsafe.Sizeof(st))
	return st, err
}

func xdpOptions(fd int) (uint32, error) {
	var o uint32
	err := getsockopt(fd, unix.SOL_XDP, unix.XDP_OPTIONS, unsafe.Pointer(&o), unsafe.Sizeof(o))
	return o, err
}

func registerUmem(fd int, mem []byte, frameSize, headroom uint32, unaligned bool) error {
	reg := unix.XDPUmemReg{
		Addr: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(mem)))),
		Len:  uint64(len(mem)), Size: frameSize, Headroom: headroom,
	}
	if unaligned {
		reg.Flags = unix.XDP_UMEM_UNALIGNED_CHUNK_FLAG
	}
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_UMEM_REG,
		uintptr(unsafe.Pointer(&reg)), unsafe.Sizeof(reg), 0)
	if e != 0 {
		return e
	}
	return nil
}

// kick is sendto(fd, NULL, 0, MSG_DONTWAIT): it makes the kernel transmit
// from the tx ring. Raw, so it allocates nothing.
func kick(fd int) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	return e
}

// wake is recvfrom(fd, NULL, 0, MSG_DONTWAIT): it lets the kernel refill
// from the fill ring when it asked to be woken.
func wake(fd int) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	return e
}
