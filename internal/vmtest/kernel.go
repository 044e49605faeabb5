package vmtest

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoKernel: no kernel image with its modules is installed.
var ErrNoKernel = errors.New("vmtest: no kernel in /boot with modules in /lib/modules (Debian: apt-get install linux-image-amd64)")

// Kernel is an installed kernel image and its modules.
type Kernel struct {
	// Image is the bootable image, /boot/vmlinuz-<Release>.
	Image string
	// Release is its version string, as uname -r says it.
	Release string
	// ModDir is /lib/modules/<Release>.
	ModDir string
}

// FindKernel returns the newest kernel under boot (normally "/boot")
// whose modules are installed under modules ("/lib/modules"): the one a
// test boots. It wraps ErrNoKernel when there is none.
func FindKernel(boot, modules string) (Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(boot, "vmlinuz-*"))
	var best Kernel
	for _, img := range images {
		rel := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
		dir := filepath.Join(modules, rel)
		if _, err := os.Stat(filepath.Join(dir, "modules.dep")); err != nil {
			continue
		}
		if best.Image == "" || versionLess(best.Release, rel) {
			best = Kernel{Image: img, Release: rel, ModDir: dir}
		}
	}
	if best.Image == "" {
		return best, fmt.Errorf("%w (looked for %s/vmlinuz-*)", ErrNoKernel, boot)
	}
	return best, nil
}

// versionLess compares release strings by their runs of digits as
// numbers and the rest as text: 6.1.0-9 comes before 6.1.0-57.
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		na, ra := leadingRun(a)
		nb, rb := leadingRun(b)
		if na != nb {
			if isDigit(na[0]) && isDigit(nb[0]) {
				if len(strings.TrimLeft(na, "0")) != len(strings.TrimLeft(nb, "0")) {
					return len(strings.TrimLeft(na, "0")) < len(strings.TrimLeft(nb, "0"))
				}
			}
			return na < nb
		}
		a, b = ra, rb
	}
	return len(a) < len(b)
}

func leadingRun(s string) (run, rest string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ErrNotStatic: the busybox given is linked dynamically; the initramfs
// has no C library.
var ErrNotStatic = errors.New("vmtest: busybox is not statically linked (Debian: apt-get install busybox-static)")

// checkStatic tells whether the ELF file at path has no program
// interpreter (is statically linked).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("vmtest: busybox: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: %s", ErrNotStatic, path)
		}
	}
	return nil
}

// Initramfs describes the guest's root file system.
type Initramfs struct {
	// Busybox is a statically linked busybox binary (default
	// /bin/busybox, Debian's busybox-static): the guest's shell and
	// tools, each applet a link in /bin.
	Busybox string
	// Modules names the kernel modules to load before Init runs (their
	// dependencies are found and loaded first; built-in ones are
	// skipped).
	Modules []string
	// Init is a busybox sh script run as PID 1's child once /proc, /sys,
	// /dev and /tmp are mounted and the modules loaded; whatever it
	// does, the guest powers off after it.
	Init string
}

// Preamble is what /init does before the test's script: mount the
// kernel's file systems, install busybox's applets, load the modules
// listed in /modules (one path a line, in order).
const preamble = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in $(cat /modules); do
	insmod "$m" || echo "vmtest: insmod $m failed"
done
`

// BuildInitramfs writes the guest's initramfs (an uncompressed newc
// cpio) to path.
func (k Kernel) BuildInitramfs(path string, cfg Initramfs) error {
	bb := cfg.Busybox
	if bb == "" {
		bb = "/bin/busybox"
	}
	if err := checkStatic(bb); err != nil {
		return err
	}
	bin, err := os.ReadFile(bb)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	mods, err := Modules(k.ModDir, cfg.Modules...)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	c := NewCPIO(&buf)
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"} {
		c.Dir(d, 0o755)
	}
	c.CharDev("dev/console", 0o600, 5, 1)
	c.CharDev("dev/null", 0o666, 1, 3)
	c.File("bin/busybox", 0o755, bin)
	var list strings.Builder
	for _, m := range mods {
		data, err := os.ReadFile(filepath.Join(k.ModDir, m))
		if err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
		name := "lib/modules/" + filepath.Base(m)
		c.File(name, 0o644, data)
		list.WriteString("/" + name + "\n")
	}
	c.File("modules", 0o644, []byte(list.String()))
	script := preamble + "(\n" + cfg.Init + "\n)\necho vmtest: init done\nsync\npoweroff -f\n"
	c.File("init", 0o755, []byte(script))
	if err := c.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
