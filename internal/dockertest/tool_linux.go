package dockertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vecswitch/vecswitch/internal/cnitest"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// Package is the Debian package that provides dockerd, the docker CLI and
// (through its dependencies) containerd and runc.
const Package = "docker.io"

// Tools are the programs a Daemon runs.
type Tools struct {
	// Dockerd, Containerd and Runc are found in PATH (containerd's shims
	// find runc there too).
	Dockerd, Containerd, Runc string
	// CLI is the docker client installed beside Dockerd (see lookCLI).
	CLI string
}

// RequireDocker returns the paths of dockerd, containerd, runc and the
// docker CLI. It skips the test when one is missing (or when not root),
// saying which package to install, and fails it instead when
// VECSWITCH_CI=1.
func RequireDocker(t testing.TB) Tools {
	t.Helper()
	tools, err := lookTools()
	if err != nil {
		missing(t, err)
	}
	nettest.NeedRoot(t)
	return tools
}

func lookTools() (Tools, error) {
	var tl Tools
	for _, p := range []struct {
		name string
		dst  *string
	}{{"dockerd", &tl.Dockerd}, {"containerd", &tl.Containerd}, {"runc", &tl.Runc}} {
		path, err := exec.LookPath(p.name)
		if err != nil {
			return tl, fmt.Errorf("%s not found in PATH (apt-get install %s)", p.name, Package)
		}
		*p.dst = path
	}
	cli, err := lookCLI(tl.Dockerd)
	if err != nil {
		return tl, err
	}
	tl.CLI = cli
	return tl, nil
}

// lookCLI finds the docker CLI of dockerd's release: in dockerd's
// directory or in ../bin beside it (/usr/sbin/dockerd: /usr/bin/docker),
// and only then in PATH, where another docker may come first
// (/usr/local/bin/docker on this project's machines).
func lookCLI(dockerd string) (string, error) {
	if real, err := filepath.EvalSymlinks(dockerd); err == nil {
		dockerd = real
	}
	dir := filepath.Dir(dockerd)
	for _, p := range []string{filepath.Join(dir, "docker"), filepath.Join(filepath.Dir(dir), "bin", "docker")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("docker"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("the docker CLI is not beside %s nor in PATH (apt-get install %s)", dockerd, Package)
}

// missing fails the test under CI and skips it elsewhere.
func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(cnitest.CIEnv) == "1" {
		t.Fatalf("dockertest: %v (%s=1: every tool must be installed)", err, cnitest.CIEnv)
	}
	t.Skipf("dockertest: %v; skipping (set %s=1 to make this a failure)", err, cnitest.CIEnv)
}
