package main

import (
	"bufio"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Which process holds a listening socket, from procfs: the socket's inode
// in /proc/net/{tcp,tcp6,unix} (this network namespace's sockets), and
// the process's descriptors, links to "socket:[INODE]".

// tcpListeners returns the inodes of the listening TCP sockets a bind to
// at would conflict with: the same port, and the same address or a
// wildcard on either side.
func tcpListeners(at *net.TCPAddr) []uint64 {
	var out []uint64
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		eachLine(file, func(f []string) {
			// sl local_address rem_address st ... (inode is the 10th field)
			if len(f) < 10 || f[3] != "0A" { // TCP_LISTEN
				return
			}
			addrHex, portHex, ok := strings.Cut(f[1], ":")
			port, err := strconv.ParseUint(portHex, 16, 16)
			if !ok || err != nil || int(port) != at.Port {
				return
			}
			ip := procIP(addrHex)
			if ip == nil || !(ip.IsUnspecified() || at.IP == nil || at.IP.IsUnspecified() || ip.Equal(at.IP)) {
				return
			}
			if ino, err := strconv.ParseUint(f[9], 10, 64); err == nil {
				out = append(out, ino)
			}
		})
	}
	return out
}

// procIP decodes /proc/net/tcp's address: each 32-bit word of it printed
// as a number of the host's byte order.
func procIP(s string) net.IP {
	if len(s) != 8 && len(s) != 32 {
		return nil
	}
	ip := make(net.IP, len(s)/2)
	for i := 0; i < len(s); i += 8 {
		w, err := strconv.ParseUint(s[i:i+8], 16, 32)
		if err != nil {
			return nil
		}
		binary.NativeEndian.PutUint32(ip[i/2:], uint32(w))
	}
	return ip
}

// unixListeners returns the inodes of the listening unix sockets bound to
// path.
func unixListeners(path string) []uint64 {
	abs, _ := filepath.Abs(path)
	var out []uint64
	eachLine("/proc/net/unix", func(f []string) {
		// Num RefCount Protocol Flags Type St Inode Path
		if len(f) < 8 || (f[7] != path && f[7] != abs) {
			return
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&0x10000 == 0 { // __SO_ACCEPTCON: listening
			return
		}
		if ino, err := strconv.ParseUint(f[6], 10, 64); err == nil {
			out = append(out, ino)
		}
	})
	return out
}

// heldOnlyBy reports whether there are sockets and process pid has a
// descriptor of each.
func heldOnlyBy(pid int, inodes []uint64) bool {
	if len(inodes) == 0 {
		return false
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	var held []uint64
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				held = append(held, ino)
			}
		}
	}
	for _, ino := range inodes {
		if !slices.Contains(held, ino) {
			return false
		}
	}
	return true
}

// eachLine calls fn with the fields of each line of a procfs table but
// the header.
func eachLine(path string, fn func([]string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fn(strings.Fields(sc.Text()))
	}
}
