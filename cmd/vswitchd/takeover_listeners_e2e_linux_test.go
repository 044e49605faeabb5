package main_test

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestTakeoverListenersCheckedFirst: a takeover whose --metrics-addr
// another process held (or that had no port) said "takeover done", the
// old vswitchd exited, and the new one failed 5 s later: no switch left,
// the tap gone. The listeners are checked before the handover now: the
// takeover fails and the old vswitchd forwards on. Its own listeners (the
// same flags) are no obstacle: the successor serves them once it exits.
func TestTakeoverListenersCheckedFirst(t *testing.T) {
	build(t)
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	metrics := free.Addr().String()
	free.Close()
	docker := filepath.Join(t.TempDir(), "plugins", "vecswitch.sock")
	d := newDaemon(t, "--metrics-addr", metrics, "--docker-plugin", docker)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	sfx := nettest.Suffix()
	tap := "lb" + sfx
	d.must("add-br", "br0")
	d.must("add-port", "br0", "la"+sfx, "type=veth", "netns="+a.Path(), "ip=10.95.0.1/24")
	d.must("add-port", "br0", tap, "type=tap", "netns="+b.Path(), "ip=10.95.0.2/24")
	require.NoError(t, ping(a, "10.95.0.2"))

	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer held.Close()
	heldSock := filepath.Join(t.TempDir(), "other-plugin.sock")
	other, err := net.Listen("unix", heldSock)
	require.NoError(t, err)
	defer other.Close()

	base := []string{"--socket", d.socket, "--state-dir", filepath.Join(d.dir, "state")}
	base = append(base, d.args...)
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		want  string
	}{
		{"metrics address held", []string{"--metrics-addr", held.Addr().String()}, 1, "another process than the running vswitchd"},
		{"metrics address without a port", []string{"--metrics-addr", "127.0.0.1"}, 2, "missing port in address"},
		{"docker socket served by another", []string{"--docker-plugin", heldSock}, 1, "another plugin serves on it"},
	} {
		cmd := exec.Command(bins.daemon, append(append(base, tc.flags...), "--takeover")...)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%s: the takeover succeeded: %s", tc.name, out)
		require.Equal(t, tc.code, cmd.ProcessState.ExitCode(), "%s: %s", tc.name, out)
		require.Contains(t, string(out), tc.want, tc.name)
		require.NotContains(t, string(out), "takeover done", tc.name)
		if tc.code == 1 {
			require.Contains(t, string(out), "takeover failed, the running vswitchd keeps running", tc.name)
		}
		require.NoError(t, d.cmd.Process.Signal(syscall.Signal(0)), "%s: the old vswitchd exited", tc.name)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := d.vsctl("version"); err == nil {
				break
			}
			require.True(t, time.Now().Before(deadline), "%s: the old vswitchd's control socket did not come back", tc.name)
		}
		require.NoError(t, ping(a, "10.95.0.2"), "%s: the old vswitchd forwards", tc.name)
		_, err = netdev.LinkByName(b.Path(), "eth0")
		require.NoError(t, err, "%s: the tap is gone", tc.name)
		require.Contains(t, d.must("show"), tap, tc.name)
	}

	// The same flags: the old vswitchd's listeners pass to the new one.
	d.takeover()
	require.NoError(t, ping(a, "10.95.0.2"), "the new vswitchd forwards")
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && len(body) > 0
	}, 10*time.Second, 50*time.Millisecond, "the new vswitchd serves the metrics")
	require.Eventually(t, func() bool {
		c, err := net.Dial("unix", docker)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "the new vswitchd serves the Docker plugin")
}
