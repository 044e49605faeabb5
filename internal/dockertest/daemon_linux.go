package dockertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/cnitest"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

const (
	// StartTimeout bounds the wait for containerd's socket and then for
	// dockerd's API.
	StartTimeout = 60 * time.Second
	// CommandTimeout bounds one docker CLI command.
	CommandTimeout = 2 * time.Minute
	// StopTimeout is how long dockerd, then containerd, get after SIGTERM
	// before SIGKILL.
	StopTimeout = 20 * time.Second
	// BusyboxImage is the name ImportBusybox gives the image.
	BusyboxImage = "vst-busybox:latest"
)

// Daemon is a running private dockerd and its containerd.
type Daemon struct {
	// Dir holds everything: sockets, configurations, logs, data and exec
	// roots. It is removed at cleanup.
	Dir string
	// Host is the API address, "unix://" + Dir + "/docker.sock" (what
	// the CLI's -H takes).
	Host string
	// DataRoot and ExecRoot are dockerd's --data-root and --exec-root;
	// containers' network namespaces are bind-mounted under
	// ExecRoot/netns.
	DataRoot, ExecRoot string
	// CgroupParent is dockerd's --cgroup-parent ("/vstd-" + a suffix).
	CgroupParent string
	// Log is dockerd's log file, ContainerdLog containerd's.
	Log, ContainerdLog string
	// Tools are the programs it runs.
	Tools Tools

	env        []string
	dockerd    *process
	containerd *process
	ready      bool // the API answered: cleanup removes containers
	image      string
}

// process is a started daemon and the end of its Wait.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts a private containerd and dockerd (the package doc lists
// their settings and why) and waits until dockerd's API answers the
// CLI. Cleanup removes every container and unused network, stops both
// daemons, kills what they left, unmounts everything under Dir and
// removes it. A daemon that does not start fails the test with the tail
// of its log.
func Start(t testing.TB) *Daemon {
	t.Helper()
	tools := RequireDocker(t)
	dir, err := os.MkdirTemp("", "vstd-") // short: unix socket paths fit in 108 bytes
	if err != nil {
		t.Fatalf("dockertest: %v", err)
	}
	d := &Daemon{
		Dir:           dir,
		Host:          "unix://" + filepath.Join(dir, "docker.sock"),
		DataRoot:      filepath.Join(dir, "data"),
		ExecRoot:      filepath.Join(dir, "exec"),
		CgroupParent:  "/vstd-" + nettest.Suffix(),
		Log:           filepath.Join(dir, "dockerd.log"),
		ContainerdLog: filepath.Join(dir, "containerd.log"),
		Tools:         tools,
	}
	t.Cleanup(func() { d.teardown(t) })
	for _, sub := range []string{"containerd", "cli"} {
		if err := os.Mkdir(d.path(sub), 0o700); err != nil {
			t.Fatalf("dockertest: %v", err)
		}
	}
	env := cleanEnv(os.Environ())
	d.env = append(env, "DOCKER_CONFIG="+d.path("cli"))
	files := map[string]string{
		"containerd/config.toml": d.containerdConfig(),
		"daemon.json":            fmt.Sprintf("{%q: %q}\n", "deprecated-key-path", d.path("key.json")),
		"cli/config.json":        "{}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(d.path(name), []byte(text), 0o600); err != nil {
			t.Fatalf("dockertest: %v", err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	d.containerd = d.spawn(t, d.ContainerdLog, env, tools.Containerd, "--config", d.path("containerd/config.toml"))
	if err := waitFor(ctx, d.containerd, func() bool {
		c, err := net.Dial("unix", d.path("containerd.sock"))
		if err == nil {
			c.Close()
		}
		return err == nil
	}); err != nil {
		t.Fatalf("dockertest: containerd did not start: %v\n%s", err, tail(d.ContainerdLog))
	}
	d.dockerd = d.spawn(t, d.Log, env, tools.Dockerd,
		"--config-file", d.path("daemon.json"),
		"--containerd", d.path("containerd.sock"),
		"--data-root", d.DataRoot,
		"--exec-root", d.ExecRoot,
		"--pidfile", d.path("docker.pid"),
		"-H", d.Host,
		"--bridge=none",
		"--iptables=false", "--ip6tables=false", "--ip-masq=false",
		"--ip-forward=false",
		"--userland-proxy=false",
		"--storage-driver", "vfs",
		"--exec-opt", "native.cgroupdriver=cgroupfs",
		"--cgroup-parent", d.CgroupParent)
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", d.path("docker.sock"))
	}}, Timeout: time.Second}
	defer client.CloseIdleConnections()
	if err := waitFor(ctx, d.dockerd, func() bool {
		resp, err := client.Get("http://docker/_ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		msg := tail(d.Log)
		select {
		case <-d.containerd.done:
			msg += fmt.Sprintf("\ncontainerd exited too: %v\n%s", d.containerd.err, tail(d.ContainerdLog))
		default:
		}
		t.Fatalf("dockertest: dockerd did not start: %v\n%s", err, msg)
	}
	if _, err := d.Try("version"); err != nil {
		t.Fatalf("dockertest: %v\n%s", err, tail(d.Log))
	}
	d.ready = true
	return d
}

func (d *Daemon) path(name string) string { return filepath.Join(d.Dir, name) }

// containerdConfig is containerd's private configuration (the package
// doc says why).
func (d *Daemon) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs"]

[grpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, d.path("containerd/root"), d.path("containerd/state"), d.path("containerd.sock"), d.path("containerd/opt"))
}

// cleanEnv drops the DOCKER_* variables (DOCKER_HOST, DOCKER_CONTEXT,
// DOCKER_API_VERSION, DOCKER_TMPDIR...) and NOTIFY_SOCKET from env.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "DOCKER_") || strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// spawn starts a daemon logging to logPath. If the test process dies
// first, the daemon gets SIGTERM (Pdeathsig).
func (d *Daemon) spawn(t testing.TB, logPath string, env []string, bin string, args ...string) *process {
	t.Helper()
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("dockertest: %v", err)
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: the terminal's signals (Ctrl-C) go to the
	// test process alone; its end then stops the daemon (Pdeathsig).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error)
	go func() {
		// Pdeathsig fires when the thread that started the child ends,
		// and Go ends a thread whose goroutine exits locked to it (as
		// namespace code does): start and wait on a thread of our own,
		// kept until the daemon exits.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			p.err = cmd.Wait()
			close(p.done)
		}
	}()
	if err := <-started; err != nil {
		t.Fatalf("dockertest: start %s: %v", bin, err)
	}
	return p
}

// waitFor polls ready until it is true, the process exits or ctx ends.
func waitFor(ctx context.Context, p *process, ready func() bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !ready() {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v", filepath.Base(p.cmd.Path), p.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v", StartTimeout)
		case <-tick.C:
		}
	}
	return nil
}

// stop sends SIGTERM, then SIGKILL after StopTimeout, and waits for the
// process to exit. It says whether SIGKILL was needed.
func (p *process) stop() (killed bool) {
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return false
	case <-time.After(StopTimeout):
	}
	p.cmd.Process.Kill()
	<-p.done
	return true
}

// tail returns the last lines of a log file, without dockerd's gRPC
// connection chatter.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.Contains(l, "module=grpc") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// Try runs the docker CLI against this daemon and returns its standard
// output; the error carries the standard error.
func (d *Daemon) Try(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.Tools.CLI, append([]string{"-H", d.Host}, args...)...)
	cmd.Env = d.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %v", ctx.Err(), CommandTimeout)
		}
		msg := bytes.TrimSpace(append(append(out, '\n'), stderr.Bytes()...))
		return out, fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// Docker runs the docker CLI against this daemon and returns its output,
// trimmed; a failure fails the test. Example: d.Docker(t, "run", "-d",
// "--network", net, "--cap-add", "NET_RAW", d.ImportBusybox(t), "sleep",
// "60").
func (d *Daemon) Docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.Try(args...)
	if err != nil {
		t.Fatalf("dockertest: %v", err)
	}
	return string(bytes.TrimSpace(out))
}

// ImportBusybox imports, once per Daemon, the image made from Debian's
// busybox-static (cnitest.WriteBusyboxRootfs) and returns its name,
// BusyboxImage. It has no network access to do: `docker import` of a
// local tar.
func (d *Daemon) ImportBusybox(t testing.TB) string {
	t.Helper()
	if d.image != "" {
		return d.image
	}
	tarPath := d.path("busybox-rootfs.tar")
	cnitest.WriteBusyboxRootfs(t, tarPath)
	d.Docker(t, "import", "--change", `CMD ["/bin/sh"]`, tarPath, BusyboxImage)
	os.Remove(tarPath)
	d.image = BusyboxImage
	return d.image
}

// inspect returns a container's field given as a Go template.
func (d *Daemon) inspect(t testing.TB, ctr, format string) string {
	t.Helper()
	return d.Docker(t, "inspect", "-f", format, ctr)
}

// ContainerPID is the host PID of a running container's first process
// (enter its namespaces with nsenter -t PID or /proc/PID/ns/net).
func (d *Daemon) ContainerPID(t testing.TB, ctr string) int {
	t.Helper()
	s := d.inspect(t, ctr, "{{.State.Pid}}")
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		t.Fatalf("dockertest: container %s has no process (pid %q)", ctr, s)
	}
	return pid
}

// SandboxKey is the bind mount of a container's network namespace
// (under ExecRoot/netns), usable as a netns path.
func (d *Daemon) SandboxKey(t testing.TB, ctr string) string {
	t.Helper()
	return d.inspect(t, ctr, "{{.NetworkSettings.SandboxKey}}")
}

// IP is the IPv4 address (without prefix length) a container has on
// network; empty if none.
func (d *Daemon) IP(t testing.TB, ctr, network string) string {
	t.Helper()
	return d.inspect(t, ctr, fmt.Sprintf("{{with index .NetworkSettings.Networks %q}}{{.IPAddress}}{{end}}", network))
}

// teardown removes the containers and unused networks, stops the
// daemons, kills and removes what they left and removes Dir.
func (d *Daemon) teardown(t testing.TB) {
	t.Helper()
	if d.ready {
		select {
		case <-d.dockerd.done:
			t.Errorf("dockertest: dockerd exited before cleanup: %v\n%s", d.dockerd.err, tail(d.Log))
		default:
			d.removeAll(t)
		}
	}
	if d.dockerd.stop() {
		t.Errorf("dockertest: dockerd did not stop in %v after SIGTERM: killed\n%s", StopTimeout, tail(d.Log))
	}
	if d.containerd.stop() {
		t.Errorf("dockertest: containerd did not stop in %v after SIGTERM: killed\n%s", StopTimeout, tail(d.ContainerdLog))
	}
	// Normally nothing is left: containers were removed, and the shims
	// exit with them.
	for _, pid := range d.cgroupProcs() {
		t.Errorf("dockertest: killing process %d left in %s", pid, d.CgroupParent)
		unix.Kill(pid, unix.SIGKILL)
	}
	for _, pid := range processesNaming(d.Dir) {
		t.Errorf("dockertest: killing process %d left behind: %s", pid, cmdline(pid))
		unix.Kill(pid, unix.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(processesNaming(d.Dir))+len(d.cgroupProcs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	d.removeShimSockets()
	for _, m := range cnitest.MountsUnder(d.Dir) {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Errorf("dockertest: unmount %s: %v", m, err)
		}
	}
	for _, cg := range d.cgroupDirs() {
		if err := os.Remove(cg); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("dockertest: remove cgroup: %v", err)
		}
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		t.Errorf("dockertest: remove the daemon's directory: %v", err)
	}
}

// removeAll removes every container and every unused network.
func (d *Daemon) removeAll(t testing.TB) {
	t.Helper()
	out, err := d.Try("ps", "-a", "-q", "--no-trunc")
	if err != nil {
		t.Errorf("dockertest: %v", err)
		return
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		if _, err := d.Try(append([]string{"rm", "-f", "-v"}, ids...)...); err != nil {
			t.Errorf("dockertest: %v", err)
		}
	}
	if _, err := d.Try("network", "prune", "-f"); err != nil {
		t.Errorf("dockertest: %v", err)
	}
}

// cgroupDirs lists the daemon's cgroups, children first.
func (d *Daemon) cgroupDirs() []string {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*" + d.CgroupParent)
	if fi, err := os.Stat("/sys/fs/cgroup" + d.CgroupParent); err == nil && fi.IsDir() {
		roots = append(roots, "/sys/fs/cgroup"+d.CgroupParent)
	}
	var dirs []string
	for _, r := range roots {
		filepath.WalkDir(r, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	return dirs
}

// cgroupProcs lists the processes in the daemon's cgroups.
func (d *Daemon) cgroupProcs() []int {
	seen := map[int]bool{}
	var pids []int
	for _, cg := range d.cgroupDirs() {
		b, _ := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] && alive(pid) {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// removeShimSockets removes the sockets of shims that were killed: each
// task bundle containerd left in its state directory names its shim's
// socket (under /run/containerd/s, outside Dir) in its address file.
func (d *Daemon) removeShimSockets() {
	files, _ := filepath.Glob(d.path("containerd/state/io.containerd.runtime.v2.task/*/*/address"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "unix://"); ok && strings.HasPrefix(s, "/run/containerd/s/") {
			os.Remove(s)
		}
	}
}

// processesNaming lists the live processes whose command line contains
// s (other than this one).
func processesNaming(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if strings.Contains(cmdline(pid), s) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cmdline is a process's command line, arguments joined by spaces.
func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// alive says whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}
