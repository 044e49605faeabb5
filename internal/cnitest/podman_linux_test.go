//go:build linux

package cnitest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPodmanBridgeHostLocal runs Debian's podman with its CNI backend on
// a network of the standard bridge + host-local plugins: two busybox
// containers from an image imported offline ping each other. A third
// container exits by itself: conmon's cleanup (podman container
// cleanup, run with our private configuration through conmon_env_vars)
// must run CNI DEL, releasing its host-local lease.
func TestPodmanBridgeHostLocal(t *testing.T) {
	p := NewPodman(t, PluginPath(t, "bridge", "host-local"))
	img := p.ImportBusybox(t)
	br := UniqueName("vstpbr")
	DeleteLinkAtCleanup(t, br)
	network := UniqueName("vst-podman-")
	dataDir := filepath.Join(p.Dir, "ipam")
	WriteConflist(t, p.NetworkDir, network, BridgePlugins(br, RandomSubnet4(), dataDir)...)

	run := []string{"run", "-d", "--network", network, "--cap-add", "NET_RAW", img}
	c1 := p.Run(t, append(run, "sleep", "120")...)
	c2 := p.Run(t, append(run, "sleep", "120")...)
	ip1, ip2 := p.IP(t, c1, network), p.IP(t, c2, network)
	require.NotEmpty(t, ip1)
	require.NotEmpty(t, ip2)
	require.NotEqual(t, ip1, ip2)
	p.Run(t, "exec", c1, "ping", "-c", "1", "-W", "5", ip2)
	p.Run(t, "exec", c2, "ping", "-c", "1", "-W", "5", ip1)

	leases := func() []string {
		ls, _ := filepath.Glob(filepath.Join(dataDir, network, "10.*"))
		return ls
	}
	require.Len(t, leases(), 2)
	c3 := p.Run(t, append(run, "true")...)
	require.Eventually(t, func() bool {
		out, err := p.Try(t, "inspect", "-f", "{{.State.Status}}", c3)
		return err == nil && strings.TrimSpace(string(out)) == "exited" && len(leases()) == 2
	}, 30*time.Second, 100*time.Millisecond, "the exited container's lease was not released: %v", leases())

	// Removing a container runs CNI DEL and removes podman's namespace.
	sandbox := p.Run(t, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", c1)
	require.NotEmpty(t, sandbox)
	p.Run(t, "rm", "-f", "-t", "0", c1)
	_, err := os.Stat(sandbox)
	require.True(t, os.IsNotExist(err), "podman left %s: %v", sandbox, err)
	require.Len(t, leases(), 1)
}
