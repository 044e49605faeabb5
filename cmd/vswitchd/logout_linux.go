package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// redirectStdio makes f this process's stdout and stderr.
func redirectStdio(f *os.File) error {
	for _, fd := range []int{1, 2} {
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil {
			return fmt.Errorf("dup to fd %d: %w", fd, err)
		}
	}
	return nil
}

// isJournal reports whether f is the stream to systemd's journal that
// systemd named in JOURNAL_STREAM ("DEVICE:INODE").
func isJournal(f *os.File) bool {
	var dev, ino uint64
	if _, err := fmt.Sscanf(os.Getenv("JOURNAL_STREAM"), "%d:%d", &dev, &ino); err != nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == dev && uint64(st.Ino) == ino
}

// closeOnExecAll marks every descriptor above stderr close-on-exec, so a
// --detach child inherits none that this process's caller leaked to it
// (a pipe someone waits to see closed); the child's own (ExtraFiles)
// are passed explicitly.
func closeOnExecAll() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}
