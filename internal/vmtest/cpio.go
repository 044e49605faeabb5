package vmtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// File types in a newc header's mode (the stat(2) S_IF* values).
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// CPIO writes a "newc" cpio archive (the format the kernel unpacks as an
// initramfs: an ASCII header of 13 hexadecimal fields per entry, name and
// data each padded to 4 bytes, a TRAILER!!! entry at the end). Entries
// are written in the order given; a directory must come before what it
// holds. Every entry belongs to root and has mtime 0.
type CPIO struct {
	w   *bufio.Writer
	ino uint32
	err error
}

// NewCPIO starts an archive on w.
func NewCPIO(w io.Writer) *CPIO { return &CPIO{w: bufio.NewWriter(w), ino: 1} }

// Dir adds a directory.
func (c *CPIO) Dir(name string, perm fs.FileMode) error {
	return c.entry(name, modeDir|uint32(perm.Perm()), 0, 0, nil)
}

// File adds a regular file.
func (c *CPIO) File(name string, perm fs.FileMode, data []byte) error {
	return c.entry(name, modeRegular|uint32(perm.Perm()), 0, 0, data)
}

// Symlink adds a symbolic link to target.
func (c *CPIO) Symlink(name, target string) error {
	return c.entry(name, modeSymlink|0o777, 0, 0, []byte(target))
}

// CharDev adds a character device node.
func (c *CPIO) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	return c.entry(name, modeCharDev|uint32(perm.Perm()), major, minor, nil)
}

// Close writes the trailer and flushes; it does not close the writer.
func (c *CPIO) Close() error {
	if err := c.entry("TRAILER!!!", 0, 0, 0, nil); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *CPIO) entry(name string, mode, rmajor, rminor uint32, data []byte) error {
	if c.err != nil {
		return c.err
	}
	name = strings.TrimPrefix(name, "/")
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("vmtest: cpio: bad name %q", name)
	}
	if uint64(len(data)) > 0xffffffff {
		return errors.New("vmtest: cpio: " + name + ": larger than 4 GiB")
	}
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	ino := c.ino
	c.ino++
	if name == "TRAILER!!!" {
		ino, nlink = 0, 1
	}
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize (with its NUL), check.
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	c.w.WriteString(hdr)
	c.w.WriteString(name)
	c.w.WriteByte(0)
	c.pad(len(hdr) + len(name) + 1)
	c.w.Write(data)
	_, c.err = c.w.Write(make([]byte, pad4(len(data))))
	return c.err
}

func (c *CPIO) pad(n int) { c.w.Write(make([]byte, pad4(n))) }

func pad4(n int) int { return (4 - n%4) % 4 }
