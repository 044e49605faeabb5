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
// existing file or through a symbolic link. A capture directory the daemon
// makes is its own: 0700, or 0750 owned by the control group so that its
// members can read the captures they make; an existing one is used as it
// is (prepareCaptureDir).

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

// prepareCaptureDir makes the capture directory. A directory it makes
// (the capture directory, and any missing parent) gets mode 0700, or with
// gid > 0 that group and 0750 (a parent 0710: members pass through it,
// nothing more). So does the daemon's own, StateDir/captures, on every
// start. Any other directory that exists already (--capture-dir) is used
// as it is: its owner and mode are the administrator's, never changed (it
// could be /tmp); the files made in it get their own modes
// (createCaptureFile). When the capture directory sits directly in the
// state directory and gid > 0, the state directory gets mode 0710 with
// that group: members may pass through it to the captures, not list or
// read anything else.
//
// A capture directory that cannot be made or is not a directory (a file
// named captures in the state directory) does not keep the switch from
// starting: it is for diagnostics. prepareCaptureDir returns nil then;
// vswitchd logs a WARN (CaptureDirProblem) and capture/start fails with
// the reason until it is repaired (captureDirReady makes it then).
func prepareCaptureDir(dir, stateDir string, gid int) error {
	dir = filepath.Clean(dir)
	own := dir == filepath.Join(filepath.Clean(stateDir), CaptureSubdir)
	created, err := makeDirs(dir)
	if err != nil {
		return nil // unusable: captureDirProblem says why
	}
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return nil // unusable: captureDirProblem says why
	}
	if own && (len(created) == 0 || created[len(created)-1] != dir) {
		created = append(created, dir)
	}
	if gid <= 0 || len(created) == 0 {
		return nil
	}
	for _, p := range created {
		mode := os.FileMode(0o710)
		if p == dir {
			mode = 0o750
		}
		if err := os.Chown(p, -1, gid); err != nil {
			return fmt.Errorf("ctl: capture directory: %w", err)
		}
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("ctl: capture directory: %w", err)
		}
	}
	if filepath.Dir(dir) == filepath.Clean(stateDir) {
		if err := os.Chown(stateDir, -1, gid); err != nil {
			return fmt.Errorf("ctl: state directory: %w", err)
		}
		if err := os.Chmod(stateDir, 0o710); err != nil {
			return fmt.Errorf("ctl: state directory: %w", err)
		}
	}
	return nil
}

// makeDirs makes dir and its missing parents with mode 0700, as
// os.MkdirAll, and returns those it made, outermost first.
func makeDirs(dir string) ([]string, error) {
	var missing []string
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], 0o700)
		switch {
		case errors.Is(err, os.ErrExist): // made meanwhile: not ours
		case err != nil:
			return created, err
		default:
			created = append(created, missing[i])
		}
	}
	return created, nil
}

// captureDirProblem says why dir cannot hold captures (nil if it can):
// it is missing, or not a directory.
func captureDirProblem(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("capture directory %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("capture directory %s is not a directory (%s is there): captures are off until it is one; move it away (or give vswitchd another --capture-dir)", dir, fileKind(fi))
	}
	return nil
}

// fileKind names what a non-directory is.
func fileKind(fi os.FileInfo) string {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return "a symbolic link"
	case fi.Mode().IsRegular():
		return "a file"
	}
	return "a " + fi.Mode().Type().String() + " file"
}

// CaptureDirProblem says why the capture directory cannot hold captures
// (nil if it can), for vswitchd's WARN at start: such a directory does
// not keep the switch from starting, only capture/start fails.
func (d *Daemon) CaptureDirProblem() error { return captureDirProblem(d.captureDir) }

// captureDirReady makes the capture directory if it is missing now (it
// could not be made at start, or was removed) and says why it cannot
// hold captures, as a typed error.
func (d *Daemon) captureDirReady() error {
	if captureDirProblem(d.captureDir) != nil {
		prepareCaptureDir(d.captureDir, d.store.dir, d.captureGID)
	}
	if err := captureDirProblem(d.captureDir); err != nil {
		return ctl.Errorf(ctl.CodeUnavail, "%v", err)
	}
	return nil
}

// createCaptureFile creates name in the capture directory, never over an
// existing file and never through a symbolic link. Errors are typed.
func (d *Daemon) createCaptureFile(name string) (*os.File, error) {
	if err := checkCaptureName(name); err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "file=%s: want a plain file name (letters, digits, ._-+:@; no '/', not starting with '.' or '-', at most %d bytes): captures are written only in the capture directory %s", name, maxCaptureName, d.captureDir)
	}
	if err := d.captureDirReady(); err != nil {
		return nil, err
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
