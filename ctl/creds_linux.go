package ctl

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// umaskMu serializes the process-wide umask change around socket creation.
var umaskMu sync.Mutex

// listenPrivate creates the socket with mode 0600 (or 0660 and group gid)
// from the start: under umask 077 no other user ever sees it open.
func listenPrivate(path string, gid int) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("ctl: socket directory: %w", err)
	}
	umaskMu.Lock()
	old := syscall.Umask(0o077)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	umaskMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("ctl: listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	mode := os.FileMode(0o600)
	if gid >= 0 {
		mode = 0o660
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("ctl: chown socket to group %d: %w", gid, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("ctl: chmod socket: %w", err)
	}
	return ln, nil
}

// PeerCred returns the credentials of a unix socket's peer.
func PeerCred(c *net.UnixConn) (*unix.Ucred, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}

// peerAllowed admits root, and members of gid when gid >= 0; it returns
// the peer's uid (connection limits are per uid).
func peerAllowed(c *net.UnixConn, gid int) (uint32, error) {
	cred, err := PeerCred(c)
	if err != nil {
		return 0, fmt.Errorf("peer credentials: %w", err)
	}
	if cred.Uid == 0 {
		return 0, nil
	}
	if gid >= 0 {
		if int(cred.Gid) == gid {
			return cred.Uid, nil
		}
		if groups, err := procGroups(int(cred.Pid)); err == nil {
			for _, g := range groups {
				if g == gid {
					return cred.Uid, nil
				}
			}
		}
		return cred.Uid, fmt.Errorf("uid %d is neither root nor in group %d", cred.Uid, gid)
	}
	return cred.Uid, fmt.Errorf("uid %d is not root", cred.Uid)
}

// procGroups reads a process's supplementary groups.
func procGroups(pid int) ([]int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Groups:"); ok {
			var gs []int
			for _, s := range strings.Fields(rest) {
				if g, err := strconv.Atoi(s); err == nil {
					gs = append(gs, g)
				}
			}
			return gs, nil
		}
	}
	return nil, sc.Err()
}
