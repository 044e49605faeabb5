package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	vsd "github.com/vecswitch/vecswitch/ctl/daemon"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// runToExit runs vswitchd and expects it to exit by itself within 10 s
// (a start that must be refused); it returns the exit code and output. A
// vswitchd still running then is killed and fails the test.
func runToExit(t *testing.T, cred *syscall.Credential, args ...string) (int, string) {
	t.Helper()
	build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.daemon, args...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "vswitchd %v was not refused: still running after 10 s; output:\n%s", args, out.String())
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String()
	}
	require.NoError(t, err)
	return 0, out.String()
}

// TestSecondDaemonOnStateDirRefused: a second vswitchd on the same state
// directory (another socket) used to start, fail to restore the ports and
// delete the running daemon's container veths. It is refused, naming the
// first daemon's PID, and the first one's port is untouched.
func TestSecondDaemonOnStateDirRefused(t *testing.T) {
	d := newDaemon(t)
	ns := nettest.NewNS(t)
	port := "s2" + nettest.Suffix()
	d.must("add-br", "br0")
	d.must("add-port", "br0", port, "type=veth", "netns="+ns.Path(), "ip=10.64.0.1/24")

	code, out := runToExit(t, nil, "--socket", filepath.Join(t.TempDir(), "second.sock"), "--state-dir", filepath.Join(d.dir, "state"))
	require.Equal(t, 1, code, "%s", out)
	require.Contains(t, out, "locked by vswitchd pid "+strconv.Itoa(d.cmd.Process.Pid), "%s", out)
	_, err := netdev.LinkByName("", port)
	require.NoError(t, err, "the first daemon's veth is gone")
	_, err = netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err, "the container end is gone")
	require.Contains(t, d.must("show"), port)
}

// TestConfigFallbackAfterKill9: vswitchd killed, its config.json damaged
// (what a capture to it once did): the next start used to fail every
// time. It starts from the copy in config.json.journal with every change
// since (nothing is lost), says so, and keeps the damaged file.
func TestConfigFallbackAfterKill9(t *testing.T) {
	d := newDaemon(t)
	d.must("add-br", "br0")
	d.must("add-br", "br1")
	d.stop(syscall.SIGKILL)
	cfg := filepath.Join(d.dir, "state", vsd.StateFile)
	require.NoError(t, os.WriteFile(cfg, []byte("\n\r\n\x1a+<M pcapng section"), 0o600))

	d.start()
	out := d.must("list-br")
	require.Contains(t, out, "br0")
	require.Contains(t, out, "br1", "the journal holds every change")
	log, err := os.ReadFile(filepath.Join(d.dir, "log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "STORED CONFIGURATION UNUSABLE")
	require.Contains(t, string(log), vsd.StateFile+".journal")
	asides, _ := filepath.Glob(cfg + ".corrupt-*")
	require.Len(t, asides, 1, "the damaged file is kept")

	// All damaged: refused, naming both, and nothing is overwritten.
	d.stop(syscall.SIGKILL)
	for _, f := range []string{cfg, cfg + ".prev", cfg + ".journal"} {
		require.NoError(t, os.WriteFile(f, []byte("{torn"), 0o600))
	}
	code, msg := runToExit(t, nil, "--socket", d.socket, "--state-dir", filepath.Join(d.dir, "state"))
	require.Equal(t, 1, code, "%s", msg)
	require.Contains(t, msg, cfg+".prev")
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.Equal(t, "{torn", string(b))
	require.NoError(t, os.Remove(cfg))
	require.NoError(t, os.Remove(cfg+".prev"))
	require.NoError(t, os.Remove(cfg+".journal"))
	d.start() // for the cleanup
}

// TestConfigFileKeys: --config takes the flag names; a misspelt key is
// refused (it was silently ignored, and the daemon ran on the defaults).
func TestConfigFileKeys(t *testing.T) {
	build(t)
	dir := t.TempDir()
	sock, state := filepath.Join(dir, "s.sock"), filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "vswitchd.json")
	for _, tc := range []struct{ file, want string }{
		{`{"stat-dir": "/tmp/x"}`, `unknown key "stat-dir" (valid keys: capture-dir, `},
		{`{"log-level": "loud"}`, `log level "loud"`},
	} {
		require.NoError(t, os.WriteFile(cfg, []byte(tc.file), 0o600))
		code, out := runToExit(t, nil, "--config", cfg, "--socket", sock, "--state-dir", state)
		require.Equal(t, 2, code, "%s", out)
		require.Contains(t, out, tc.want)
	}

	// The flag spellings work: state-dir from the file.
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`{"state-dir": %q, "socket": %q, "fast-path": false}`, state, sock)), 0o600))
	var log bytes.Buffer
	cmd := exec.Command(bins.daemon, "--config", cfg)
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if exec.Command(bins.client, "--socket", sock, "add-br", "brc").Run() == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "vswitchd --config did not come up on the socket from the file")
	}
	_, err := os.Stat(filepath.Join(state, vsd.StateFile))
	require.NoError(t, err, "the state directory from the config file is not used")
}

// TestNonRootStartRefused: without root vswitchd used to start, warn
// about MEMLOCK and fail each port later. It refuses to start, naming
// the privileges it needs.
func TestNonRootStartRefused(t *testing.T) {
	build(t)
	dir, err := os.MkdirTemp("", "vssafety-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	code, out := runToExit(t, &syscall.Credential{Uid: 65534, Gid: 65534},
		"--socket", filepath.Join(dir, "s.sock"), "--state-dir", filepath.Join(dir, "state"))
	require.Equal(t, 1, code, "%s", out)
	require.Contains(t, out, "needs root (or the capabilities CAP_NET_ADMIN")
	require.NotContains(t, strings.ToUpper(out), "MEMLOCK")
	_, err = os.Stat(filepath.Join(dir, "state"))
	require.True(t, errors.Is(err, os.ErrNotExist), "a refused start touched the state directory")
}
