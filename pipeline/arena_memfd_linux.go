package pipeline

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// mapSharedArena maps size bytes of a new memfd (MAP_SHARED), advised and
// faulted in as mapArena's.
func mapSharedArena(size int) (*os.File, []byte, error) {
	fd, err := unix.MemfdCreate("vecswitch-pool", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "vecswitch-pool")
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("size memfd to %d bytes: %w", size, err)
	}
	b, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	adviseHuge(b)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 0
	}
	return f, b, nil
}

// adoptArena maps another process's memfd arena of size bytes without
// touching its contents. The file is duplicated: the pool keeps its own.
func adoptArena(f *os.File, size int) (*os.File, []byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, nil, err
	}
	if st.Size != int64(size) || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, fmt.Errorf("arena file of %d bytes (mode %#o), want a memfd of %d", st.Size, st.Mode&unix.S_IFMT, size)
	}
	fd, err := dupCloexec(int(f.Fd()))
	if err != nil {
		return nil, nil, err
	}
	own := os.NewFile(uintptr(fd), "vecswitch-pool")
	b, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		own.Close()
		return nil, nil, fmt.Errorf("map arena: %w", err)
	}
	adviseHuge(b)
	return own, b, nil
}

func dupCloexec(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

// inode is f's inode number, or 0 for nil.
func inode(f *os.File) uint64 {
	var st unix.Stat_t
	if f == nil || unix.Fstat(int(f.Fd()), &st) != nil {
		return 0
	}
	return st.Ino
}

// shmemHuge reports whether the host gives madvised shared memory
// transparent huge pages (/sys/kernel/mm/transparent_hugepage/
// shmem_enabled: always, within_size, advise or force, not never or deny).
func shmemHuge() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/shmem_enabled")
	if err != nil {
		return false
	}
	s := string(b)
	if i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']'); i >= 0 && j > i {
		switch s[i+1 : j] {
		case "always", "within_size", "advise", "force":
			return true
		}
	}
	return false
}
