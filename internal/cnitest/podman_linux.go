//go:build linux

package cnitest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// PodmanTimeout bounds one podman command.
const PodmanTimeout = 2 * time.Minute

// Podman is Debian's podman with everything private to one test: its
// own containers.conf (CONTAINERS_CONF), storage.conf
// (CONTAINERS_STORAGE_CONF) and registries.conf, so it reads and writes
// nothing of the machine's podman (see the package doc for every
// setting and why). At cleanup every container is removed, podman's
// network namespaces are checked gone, and the private directory is
// unmounted and deleted.
type Podman struct {
	// Bin is the podman binary.
	Bin string
	// Dir holds everything: storage, run root, tmp dir, configs.
	Dir string
	// NetworkDir is podman's CNI network_config_dir: write the test's
	// networks here with WriteConflist (cniVersion up to what the
	// plugins accept; the network's name is what --network takes).
	NetworkDir string
	// PluginDirs are podman's cni_plugin_dirs.
	PluginDirs []string

	env   []string
	image string
}

// NewPodman makes a private podman whose CNI plugins are looked up in
// pluginDirs (e.g. from PluginPath; none: Debian's standard plugin
// directory). Containers get no network unless run with --network.
func NewPodman(t testing.TB, pluginDirs ...string) *Podman {
	t.Helper()
	nettest.NeedRoot(t)
	p := &Podman{Bin: RequireTool(t, "podman")}
	RequireTool(t, "conmon")
	runtime := "runc" // crun 1.8 refuses hybrid cgroups (v1 + an empty v2)
	if _, err := LookTool(runtime); err != nil {
		runtime = filepath.Base(RequireTool(t, "crun"))
	}
	if len(pluginDirs) == 0 {
		pluginDirs = []string{filepath.Dir(RequireTool(t, "bridge"))}
	}
	p.PluginDirs = pluginDirs
	// A short directory: conmon's attach socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "vstpm-")
	if err != nil {
		t.Fatalf("cnitest: %v", err)
	}
	p.Dir = dir
	t.Cleanup(func() { p.teardown(t) })
	p.NetworkDir = p.path("net")
	for _, d := range []string{"net", "root", "runroot", "tmp", "imgtmp"} {
		if err := os.Mkdir(p.path(d), 0o700); err != nil {
			t.Fatalf("cnitest: %v", err)
		}
	}
	p.env = append(os.Environ(),
		"CONTAINERS_CONF="+p.path("containers.conf"),
		"CONTAINERS_STORAGE_CONF="+p.path("storage.conf"),
		"CONTAINERS_REGISTRIES_CONF="+p.path("registries.conf"))
	files := map[string]string{
		"containers.conf": p.containersConf(runtime),
		"storage.conf": fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
			p.path("root"), p.path("runroot")),
		"registries.conf": "unqualified-search-registries = []\n",
	}
	for name, text := range files {
		if err := os.WriteFile(p.path(name), []byte(text), 0o600); err != nil {
			t.Fatalf("cnitest: %v", err)
		}
	}
	return p
}

func (p *Podman) path(name string) string { return filepath.Join(p.Dir, name) }

// containersConf is the private containers.conf (the package doc says
// why each line is there).
func (p *Podman) containersConf(runtime string) string {
	q := func(ss ...string) string {
		for i, s := range ss {
			ss[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(ss, ", ") + "]"
	}
	return fmt.Sprintf(`[containers]
netns = "none"
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
log_driver = "k8s-file"

[network]
network_backend = "cni"
cni_plugin_dirs = %s
network_config_dir = %q

[engine]
runtime = %q
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
tmp_dir = %q
image_copy_tmp_dir = %q
lock_type = "file"
pull_policy = "never"
conmon_env_vars = %s
`, q(append([]string(nil), p.PluginDirs...)...), p.NetworkDir, runtime, p.path("events.log"),
		p.path("tmp"), p.path("imgtmp"),
		q("PATH="+os.Getenv("PATH"), "CONTAINERS_CONF="+p.path("containers.conf"),
			"CONTAINERS_STORAGE_CONF="+p.path("storage.conf"),
			"CONTAINERS_REGISTRIES_CONF="+p.path("registries.conf")))
}

// Try runs `podman args...` with the private configuration and returns
// its combined output.
func (p *Podman) Try(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), PodmanTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Bin, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %v", ctx.Err(), PodmanTimeout)
		}
		return out, fmt.Errorf("podman %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// Run runs `podman args...` and returns its output, trimmed; a failure
// fails the test. Example: p.Run(t, "run", "-d", "--network", net,
// "--cap-add", "NET_RAW", p.ImportBusybox(t), "sleep", "60").
func (p *Podman) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := p.Try(t, args...)
	if err != nil {
		t.Fatalf("cnitest: %v", err)
	}
	return string(bytes.TrimSpace(out))
}

// IP returns the IPv4 address container ctr has on network.
func (p *Podman) IP(t testing.TB, ctr, network string) string {
	t.Helper()
	return p.Run(t, "inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", network), ctr)
}

// teardown removes every container (so podman runs CNI DEL and removes
// its namespaces), removes any namespace podman left, unmounts what is
// still mounted under Dir and deletes Dir.
func (p *Podman) teardown(t testing.TB) {
	var sandboxes, ids []string
	if _, err := os.Stat(p.path("containers.conf")); err == nil {
		if out, err := p.Try(t, "ps", "-a", "-q", "--no-trunc"); err == nil {
			ids = strings.Fields(string(out))
		}
		for _, id := range ids {
			if out, err := p.Try(t, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", id); err == nil {
				if s := strings.TrimSpace(string(out)); s != "" {
					sandboxes = append(sandboxes, s)
				}
			}
		}
		if len(ids) > 0 {
			if _, err := p.Try(t, "rm", "-a", "-f", "-t", "0"); err != nil {
				t.Errorf("cnitest: %v", err)
			}
		}
	}
	for _, s := range sandboxes {
		if _, err := os.Stat(s); err != nil {
			continue
		}
		t.Errorf("cnitest: podman left its namespace %s: removing it", s)
		unix.Unmount(s, unix.MNT_DETACH)
		os.Remove(s)
	}
	for _, id := range ids { // runc removes them; only an interrupted run leaves one
		cgs, _ := filepath.Glob("/sys/fs/cgroup/*/libpod_parent/libpod-" + id)
		for _, cg := range cgs {
			os.Remove(cg)
		}
	}
	for _, m := range MountsUnder(p.Dir) {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Errorf("cnitest: unmount %s: %v", m, err)
		}
	}
	// conmon's exit command (`podman container cleanup`) may still be
	// writing in the storage a moment after rm returned: a removal that
	// races it finds a directory not empty. Retry for a few seconds.
	var err error
	for try := 0; try < 50; try++ {
		if err = os.RemoveAll(p.Dir); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("cnitest: remove podman's directory: %v", err)
	}
}

// MountsUnder lists the mount points at or below dir, deepest first
// (podman's and dockerd's test roots are unmounted with it).
func MountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 4 && (fs[4] == dir || strings.HasPrefix(fs[4], dir+"/")) {
			ms = append(ms, fs[4])
		}
	}
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	return ms
}
