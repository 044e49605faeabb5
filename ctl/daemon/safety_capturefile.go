package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
)

// Capture files. capture/start runs as root on behalf of any client the
// socket admits (with --group, non-root members), so it never takes a
// path: file= is a plain name, created in the daemon's capture directory
// (Config.CaptureDir) with O_CREAT|O_EXCL|O_NOFOLLOW, never over an
// existing file or through a symbolic link. The capture directory is the
// daemon's own: 0700, or 0750 owned by the control group so that its
// members can read the captures they make.

// CaptureSubdir is the capture directory's name inside the state directory
// when Config.CaptureDir is empty.
const CaptureSubdir = "captures"

// maxCaptureName bounds a capture file name (NAME_MAX is 255).
const maxCaptureName = 128

// checkCaptureName accepts a plain file name: letters, digits and
// ._-+:@, at most maxCaptureName bytes, not starting with '.' or '-'.
func checkCaptureName(name string) error {
	if name == "" || len(name) > maxCaptureName || name[0] == '.' || name[0] == '-' {
		return errBadCaptureName
	}
	for i := 0; i < len(name); i++ {
		if !captureNameByte(name[i]) {
			return errBadCaptureName
		}
	}
	return nil
}

func captureNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-+:@", c) >= 0
}

var errBadCaptureName = errors.New("bad capture file name")

// defaultCaptureName names a capture when file= is not given.
func defaultCaptureName(port string, now time.Time) string {
	b := []byte(port)
	for i, c := range b {
		if !captureNameByte(c) {
			b[i] = '_'
		}
	}
	name := fmt.Sprintf("%s-%s.pcapng", b, now.UTC().Format("20060102T150405.000Z"))
	if checkCaptureName(name) != nil {
		name = "capture-" + now.UTC().Format("20060102T150405.000Z") + ".pcapng"
	}
	return name
}

// prepareCaptureDir makes the capture directory (0700, or 0750 with group
// gid when gid > 0). When it sits directly in the state directory and gid
// > 0, the state directory gets mode 0710 with that group: members may
// pass through it to the captures, not list or read anything else.
func prepareCaptureDir(dir, stateDir string, gid int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ctl: capture directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("ctl: capture directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("ctl: capture directory %s is not a directory", dir)
	}
	if gid <= 0 {
		return nil
	}
	if err := os.Chown(dir, -1, gid); err != nil {
		return fmt.Errorf("ctl: capture directory: %w", err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		return fmt.Errorf("ctl: capture directory: %w", err)
	}
	if filepath.Clean(filepath.Dir(dir)) == filepath.Clean(stateDir) {
		if err := os.Chown(stateDir, -1, gid); err != nil {
			return fmt.Errorf("ctl: state directory: %w", err)
		}
		if err := os.Chmod(stateDir, 0o710); err != nil {
			return fmt.Errorf("ctl: state directory: %w", err)
		}
	}
	return nil
}

// createCaptureFile creates name in the capture directory, never over an
// existing file and never through a symbolic link. Errors are typed.
func (d *Daemon) createCaptureFile(name string) (*os.File, error) {
	if err := checkCaptureName(name); err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "file=%s: want a plain file name (letters, digits, ._-+:@; no '/', not starting with '.' or '-', at most %d bytes): captures are written only in the capture directory %s", name, maxCaptureName, d.captureDir)
	}
	path := filepath.Join(d.captureDir, name)
	mode := os.FileMode(0o600)
	if d.captureGID > 0 {
		mode = 0o640
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
	switch {
	case errors.Is(err, os.ErrExist), errors.Is(err, syscall.ELOOP):
		return nil, ctl.Errorf(ctl.CodeExists, "capture file %s exists: captures never overwrite a file; choose another name or remove it", path)
	case err != nil:
		return nil, ctl.Errorf(ctl.CodeInternal, "capture file: %v", err)
	}
	if d.captureGID > 0 {
		if err := f.Chown(-1, d.captureGID); err != nil {
			f.Close()
			os.Remove(path)
			return nil, ctl.Errorf(ctl.CodeInternal, "capture file: %v", err)
		}
	}
	return f, nil
}
