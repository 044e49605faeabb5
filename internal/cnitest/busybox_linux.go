//go:build linux

package cnitest

import (
	"archive/tar"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BusyboxImage is the name ImportBusybox gives the image.
const BusyboxImage = "localhost/vst-busybox:latest"

// busyboxApplets are linked to /bin/busybox in the image.
var busyboxApplets = []string{"sh", "ash", "cat", "echo", "env", "false", "grep",
	"hostname", "ifconfig", "ip", "kill", "ls", "mkdir", "nc", "netstat",
	"nslookup", "ping", "ping6", "ps", "rm", "route", "sed", "sleep", "timeout",
	"touch", "true", "udhcpc", "wget"}

// ImportBusybox builds a root file system from Debian's busybox-static
// (/bin/busybox and links for the applets a network test uses: sh, ping,
// ip, ifconfig, sleep, wget, nc...), imports it offline with `podman
// import` once per Podman, and returns the image name (BusyboxImage).
// A dynamically linked busybox (Debian's busybox package) is refused:
// it would not run without libc in the image.
func (p *Podman) ImportBusybox(t testing.TB) string {
	t.Helper()
	if p.image != "" {
		return p.image
	}
	tarPath := p.path("busybox-rootfs.tar")
	WriteBusyboxRootfs(t, tarPath)
	p.Run(t, "import", "--change", "CMD=/bin/sh", tarPath, BusyboxImage)
	os.Remove(tarPath)
	p.image = BusyboxImage
	return p.image
}

// WriteBusyboxRootfs writes to path a tar of the root file system that
// ImportBusybox imports: Debian's static /bin/busybox (package
// busybox-static), links to it for the applets a network test uses (sh,
// ping, ip, ifconfig, sleep, wget, nc...), /etc/passwd and /etc/group
// for root. Other container engines import it the same way (`docker
// import PATH NAME`). A missing busybox, or a dynamically linked one
// (Debian's busybox package: it would not run without libc in the
// image), skips the test, or fails it when VECSWITCH_CI=1, as
// RequireTool does.
func WriteBusyboxRootfs(t testing.TB, path string) {
	t.Helper()
	bb := RequireTool(t, "busybox")
	if err := checkStatic(bb); err != nil {
		missing(t, fmt.Errorf("%v (apt-get install busybox-static)", err))
	}
	if err := writeBusyboxRootfs(path, bb); err != nil {
		t.Fatalf("cnitest: busybox root file system: %v", err)
	}
}

// checkStatic says whether the ELF file at path has no interpreter.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// writeBusyboxRootfs writes a tar of the minimal root file system.
func writeBusyboxRootfs(path, busybox string) (err error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	for _, d := range []string{"bin", "dev", "etc", "proc", "root", "run", "sys", "tmp", "var", "var/tmp"} {
		mode := int64(0o755)
		if filepath.Base(d) == "tmp" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode}); err != nil {
			return err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, bin},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n")},
		{"etc/group", 0o644, []byte("root:x:0:\n")},
	}
	for _, fl := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: fl.name, Mode: fl.mode, Size: int64(len(fl.data))}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(fl.data); err != nil {
			return err
		}
	}
	for _, a := range busyboxApplets {
		h := &tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	return tw.Close()
}
