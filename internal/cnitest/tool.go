package cnitest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CIEnv is the environment variable .ci/run sets to 1 after it installed
// every tool: then a missing tool fails the test instead of skipping it.
const CIEnv = "VECSWITCH_CI"

// PluginDirs are the directories searched for CNI plugin binaries after
// PATH: Debian's containernetworking-plugins, Fedora's, and upstream's.
var PluginDirs = []string{"/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin"}

// aptPackage names the Debian package that provides a tool, for the skip
// message.
var aptPackage = map[string]string{
	"podman": "podman", "conmon": "conmon", "crun": "crun", "runc": "runc",
	"busybox": "busybox-static", "ip": "iproute2", "ping": "iputils-ping",
	"go": "golang (or Go 1.26 in /usr/local/go)",
}

// cniPlugins are the binaries of Debian's containernetworking-plugins.
var cniPlugins = []string{"bandwidth", "bridge", "dhcp", "firewall", "host-device",
	"host-local", "ipvlan", "loopback", "macvlan", "portmap", "ptp", "sbr",
	"static", "tuning", "vlan", "vrf"}

func init() {
	for _, p := range cniPlugins {
		aptPackage[p] = "containernetworking-plugins"
	}
}

// LookTool finds a program in PATH, or a standard CNI plugin (the
// binaries of containernetworking-plugins) in PluginDirs only: PATH has
// other programs of the same names (iproute2's bridge). It is
// RequireTool without a test, for programs such as perf/cnibench.
func LookTool(name string) (string, error) {
	if aptPackage[name] != "containernetworking-plugins" {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, d := range PluginDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	pkg := aptPackage[name]
	if pkg == "" {
		pkg = "the package that provides it"
	}
	return "", fmt.Errorf("%s not found in PATH or %v (apt-get install %s)", name, PluginDirs, pkg)
}

// RequireTool returns the path of the binary name (found as LookTool
// does: a standard CNI plugin only in PluginDirs, anything else in PATH
// first). If it is missing the test fails when VECSWITCH_CI=1 and is
// skipped otherwise, saying which Debian package provides it.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := LookTool(name)
	if err != nil {
		missing(t, err)
	}
	return p
}

// missing fails the test under CI and skips it elsewhere.
func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(CIEnv) == "1" {
		t.Fatalf("cnitest: %v (%s=1: every tool must be installed)", err, CIEnv)
	}
	t.Skipf("cnitest: %v; skipping (set %s=1 to make this a failure)", err, CIEnv)
}

// PluginPath makes a private CNI_PATH directory holding exactly the
// given plugins: each argument is either the name of a standard plugin
// (found with RequireTool, e.g. "host-local") or the path of a binary
// (e.g. a freshly built vecswitch-cni), linked in under its base name.
// The directory is removed at cleanup.
func PluginPath(t testing.TB, plugins ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range plugins {
		src := p
		if !filepath.IsAbs(p) {
			src = RequireTool(t, p)
		} else if _, err := os.Stat(p); err != nil {
			t.Fatalf("cnitest: plugin %s: %v", p, err)
		}
		dst := filepath.Join(dir, filepath.Base(p))
		if err := os.Symlink(src, dst); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatalf("cnitest: %v", err)
		}
	}
	return dir
}
