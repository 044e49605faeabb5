//go:build linux

package cnitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CnitoolPackage is the import path of the real CNI client built by
// Cnitool, at the version go.mod pins (the same as our CNI library).
const CnitoolPackage = "github.com/containernetworking/cni/cnitool"

// buildDirPrefix names the per-process directory the cnitool binary is
// built into, followed by the process id.
const buildDirPrefix = "vecswitch-cnitool-"

var cnitoolBuild struct {
	once    sync.Once
	dir     string
	path    string
	err     error
	missing bool // no go command: a missing tool, not a broken build
}

// Cnitool builds cnitool once per test process (`go build -o DIR/cnitool
// github.com/containernetworking/cni/cnitool`, run in the package's
// directory so go.mod decides the version) and returns its path. A
// missing go command is a missing tool (see RequireTool); a failed build
// fails the test. Use Main as TestMain to remove the build when the
// tests end; builds left by processes that have exited are removed by
// the next build.
func Cnitool(t testing.TB) string {
	t.Helper()
	b := &cnitoolBuild
	b.once.Do(buildCnitool)
	if b.missing {
		missing(t, b.err)
	}
	if b.err != nil {
		t.Fatalf("cnitest: %v", b.err)
	}
	return b.path
}

func buildCnitool() {
	b := &cnitoolBuild
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = LookTool("go"); err != nil {
			b.err, b.missing = err, true
			return
		}
	}
	sweepBuilds()
	dir, err := os.MkdirTemp("", buildDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		b.err = err
		return
	}
	b.dir = dir
	path := filepath.Join(dir, "cnitool")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", path, CnitoolPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.err = fmt.Errorf("go build %s: %w\n%s", CnitoolPackage, err, out)
		return
	}
	b.path = path
}

// sweepBuilds removes cnitool builds of test processes that have exited
// without Main.
func sweepBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPrefix+"*-*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), buildDirPrefix)
		pid, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '-'), 0)])
		if err != nil || pid <= 0 {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// Main runs the package's tests and then removes the cnitool build.
// Use it as `func TestMain(m *testing.M) { os.Exit(cnitest.Main(m)) }`.
func Main(m *testing.M) int {
	code := m.Run()
	if d := cnitoolBuild.dir; d != "" {
		os.RemoveAll(d)
	}
	return code
}

// CnitoolError is a failed cnitool run: the operation, what cnitool
// printed on stderr (libcni's rendering of the plugin's CNI error) and
// the process error.
type CnitoolError struct {
	Op, Network string
	Stderr      []byte
	Err         error
}

func (e *CnitoolError) Error() string {
	return fmt.Sprintf("cnitool %s %s: %v: %s", e.Op, e.Network, e.Err, bytes.TrimSpace(e.Stderr))
}

func (e *CnitoolError) Unwrap() error { return e.Err }

// CnitoolTimeout bounds one cnitool run, so a hung plugin fails the test
// instead of the whole test binary.
const CnitoolTimeout = 60 * time.Second

// RunCnitool runs `cnitool op network netnsPath` (op: add, check, del,
// gc, status) with env as its whole CNI environment: env must hold
// NETCONFPATH (the directory WriteConflist wrote to) and CNI_PATH (e.g.
// from PluginPath), so nothing of the machine's /etc/cni/net.d or
// /opt/cni/bin is used by accident; it may hold CNI_IFNAME, CNI_ARGS,
// CAP_ARGS. Nothing else of the test's environment is passed but PATH.
// It returns cnitool's stdout (the CNI result JSON for add) and a
// *CnitoolError when cnitool fails.
func RunCnitool(t testing.TB, cnitoolPath, op, network, netnsPath string, env map[string]string) ([]byte, error) {
	t.Helper()
	for _, k := range []string{"NETCONFPATH", "CNI_PATH"} {
		if env[k] == "" {
			t.Fatalf("cnitest: RunCnitool needs %s in env (a private directory)", k)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), CnitoolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cnitoolPath, op, network, netnsPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %v", ctx.Err(), CnitoolTimeout)
		}
		return stdout.Bytes(), &CnitoolError{Op: op, Network: network, Stderr: stderr.Bytes(), Err: err}
	}
	return stdout.Bytes(), nil
}
