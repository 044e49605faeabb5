package dockertest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/cnitest"
)

// hostNet is what of the host's networking a Daemon must leave alone.
type hostNet struct {
	iptables, ipForward string
	docker0             bool
}

func readHostNet(t *testing.T) hostNet {
	t.Helper()
	var h hostNet
	// Other packages' tests add and remove links and namespaces meanwhile
	// (.ci/run compares them after all tests): only docker0 is looked for.
	// dockerd's namespaces are under its exec root, checked unmounted.
	out, err := exec.Command("ip", "-o", "link", "show").CombinedOutput()
	require.NoError(t, err, "%s", out)
	h.docker0 = strings.Contains(string(out), ": docker0")
	if ipt, err := exec.LookPath("iptables"); err == nil {
		for _, table := range []string{"filter", "nat"} {
			out, err := exec.Command(ipt, "-w", "-t", table, "-S").CombinedOutput()
			require.NoError(t, err, "%s", out)
			h.iptables += string(out)
		}
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	require.NoError(t, err)
	h.ipForward = string(b)
	return h
}

// TestDaemon starts a private dockerd, imports busybox offline and runs a
// container without network; after cleanup no process of the daemon
// runs, nothing is mounted under its directory, which is gone, and the
// host still has no docker0, the same iptables rules and IPv4
// forwarding setting.
func TestDaemon(t *testing.T) {
	RequireDocker(t)
	before := readHostNet(t)
	var d *Daemon
	t.Run("run", func(t *testing.T) {
		d = Start(t)
		img := d.ImportBusybox(t)
		require.Equal(t, "hello", d.Docker(t, "run", "--rm", "--network", "none", img, "echo", "hello"))

		// A container left running: cleanup removes it.
		ctr := d.Docker(t, "run", "-d", "--network", "none", "--cap-add", "NET_RAW", img, "sleep", "120")
		pid := d.ContainerPID(t, ctr)
		require.True(t, alive(pid))
		key := d.SandboxKey(t, ctr)
		require.True(t, strings.HasPrefix(key, d.ExecRoot+"/netns/"), key)
		require.Contains(t, cnitest.MountsUnder(d.Dir), key)
		out := d.Docker(t, "exec", ctr, "ip", "-o", "link", "show")
		require.Contains(t, out, "lo:")
		require.NotContains(t, out, "eth0")
		require.Contains(t, d.Docker(t, "exec", ctr, "ifconfig", "lo"), "127.0.0.1")
		d.Docker(t, "exec", ctr, "ping", "-c", "1", "-W", "2", "127.0.0.1")
		require.Empty(t, d.IP(t, ctr, "none"))
		require.Len(t, d.cgroupProcs(), 1)

		// The trust key is private; the CLI is the one beside dockerd.
		require.FileExists(t, filepath.Join(d.Dir, "key.json"))
		v := strings.Fields(d.Docker(t, "version", "-f", "{{.Client.Version}} {{.Server.Version}}"))
		require.Len(t, v, 2)
		require.Equal(t, v[1], v[0], "client and server of different releases (CLI %s)", d.Tools.CLI)
		require.NotEmpty(t, processesNaming(d.Dir))
	})
	require.NotNil(t, d)
	require.Empty(t, processesNaming(d.Dir), "processes of the daemon left")
	require.Empty(t, cnitest.MountsUnder(d.Dir), "mounts left")
	require.NoDirExists(t, d.Dir)
	require.Empty(t, d.cgroupDirs(), "cgroups left")
	after := readHostNet(t)
	require.False(t, after.docker0, "docker0 appeared")
	require.Equal(t, before, after)
}

// TestPluginSpec: a spec names the socket as unix://PATH; dockerd finds a
// network driver through it, and the daemon's cleanup removes the
// driver's network while the driver (started first) still answers; the
// spec goes at cleanup.
func TestPluginSpec(t *testing.T) {
	RequireDocker(t)
	var mu sync.Mutex
	var calls []string
	sock := filepath.Join(t.TempDir(), "driver.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1.2+json")
		switch r.URL.Path {
		case "/Plugin.Activate":
			fmt.Fprint(w, `{"Implements": ["NetworkDriver"]}`)
		case "/NetworkDriver.GetCapabilities":
			fmt.Fprint(w, `{"Scope": "local"}`)
		default:
			fmt.Fprint(w, `{}`)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	name := cnitest.UniqueName("vst-dockertest-")
	var path string
	t.Run("run", func(t *testing.T) {
		path = WritePluginSpec(t, name, sock)
		require.Equal(t, filepath.Join(PluginSpecDir, name+".spec"), path)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, "unix://"+sock+"\n", string(b))

		d := Start(t)
		d.Docker(t, "network", "create", "-d", name, name)
		require.Equal(t, name, d.Docker(t, "network", "inspect", "-f", "{{.Driver}}", name))
	})
	require.NoFileExists(t, path)
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, calls, "/NetworkDriver.CreateNetwork")
	require.Contains(t, calls, "/NetworkDriver.DeleteNetwork", "cleanup did not remove the network: %v", calls)
}

// TestRequireDockerMissing: with no tool in PATH, RequireDocker skips
// the test, naming the package to install, and fails it when
// VECSWITCH_CI=1. The case runs in a child test process, whose outcome
// is what is checked.
func TestRequireDockerMissing(t *testing.T) {
	if os.Getenv("DOCKERTEST_CHILD") != "" {
		RequireDocker(t)
		t.Log("found")
		return
	}
	empty := t.TempDir()
	child := func(ci string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRequireDockerMissing$", "-test.v")
		cmd.Env = append(cleanEnv(os.Environ()), "PATH="+empty, "DOCKERTEST_CHILD=1", cnitest.CIEnv+"="+ci)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	out := child("")
	require.Contains(t, out, "--- SKIP: TestRequireDockerMissing", out)
	require.Contains(t, out, "dockerd not found", out)
	require.Contains(t, out, "apt-get install docker.io", out)
	out = child("1")
	require.Contains(t, out, "--- FAIL: TestRequireDockerMissing", out)
	require.Contains(t, out, cnitest.CIEnv+"=1", out)
}

// TestLookCLI: the CLI beside dockerd comes before PATH's.
func TestLookCLI(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"sbin/dockerd", "bin/docker"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755))
	}
	cli, err := lookCLI(filepath.Join(dir, "sbin/dockerd"))
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "bin/docker"), cli)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sbin/docker"), []byte("#!/bin/sh\n"), 0o755))
	cli, err = lookCLI(filepath.Join(dir, "sbin/dockerd"))
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "sbin/docker"), cli)
}

// recordTB records the errors reported to it instead of failing the test.
type recordTB struct {
	testing.TB
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestDaemonKilled: when dockerd and containerd were killed with a
// container running, cleanup reports it, kills the container and its
// shim, removes the shim's socket, unmounts the namespace and the rest,
// and removes the cgroups and the directory.
func TestDaemonKilled(t *testing.T) {
	RequireDocker(t)
	var d *Daemon
	var rec *recordTB
	var shimSocket string
	t.Run("run", func(t *testing.T) {
		rec = &recordTB{TB: t}
		d = Start(rec)
		ctr := d.Docker(t, "run", "-d", "--network", "none", d.ImportBusybox(t), "sleep", "120")
		b, err := os.ReadFile(filepath.Join(d.Dir, "containerd/state/io.containerd.runtime.v2.task/moby", ctr, "address"))
		require.NoError(t, err)
		shimSocket = strings.TrimPrefix(strings.TrimSpace(string(b)), "unix://")
		require.FileExists(t, shimSocket)
		for _, p := range []*process{d.dockerd, d.containerd} {
			require.NoError(t, p.cmd.Process.Kill())
			<-p.done
		}
		require.NotEmpty(t, cnitest.MountsUnder(d.Dir))
	})
	require.NotNil(t, rec)
	errs := strings.Join(rec.errs, "\n")
	t.Logf("cleanup reported:\n%s", errs)
	require.Contains(t, errs, "dockerd exited before cleanup", errs)
	require.Contains(t, errs, "left in "+d.CgroupParent, errs)
	require.Contains(t, errs, "containerd-shim", errs)
	require.Empty(t, processesNaming(d.Dir), "processes of the daemon left")
	require.Empty(t, cnitest.MountsUnder(d.Dir), "mounts left")
	require.NoDirExists(t, d.Dir)
	require.Empty(t, d.cgroupDirs(), "cgroups left")
	require.NoFileExists(t, shimSocket)
}
