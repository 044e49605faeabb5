package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/cnitest"
)

// vecswitch-cni when vswitchd does not answer an ADD.

// TestCNIUnansweredAddDelegated: an ADD that vswitchd does not answer in
// time (here: stopped after host-local leased the network's one address)
// keeps the lease, so another container cannot get the address that
// vswitchd, once running again, gives the first; the runtime's DEL frees
// it.
func TestCNIUnansweredAddDelegated(t *testing.T) {
	d := newDaemon(t)
	pid := d.cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) }) // before the daemon's cleanup
	br := cnitest.UniqueName("ub")
	d.must("add-br", br)
	// An IPAM plugin that stops vswitchd once (when the marker file is
	// there), then is host-local.
	pluginDir, dataDir := t.TempDir(), t.TempDir()
	marker := filepath.Join(pluginDir, "stop-once")
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ] && rm %s 2>/dev/null; then kill -STOP %d; fi\nexec %s\n",
		marker, pid, cnitest.RequireTool(t, "host-local"))
	require.NoError(t, os.WriteFile(filepath.Join(pluginDir, "stop-host-local"), []byte(script), 0o755))
	e := newCNIEnvVersion(t, d, "1.0.0", map[string]any{"bridge": br, "timeout": 2,
		"ipam": map[string]any{"type": "stop-host-local", "subnet": "10.184.0.0/24", "rangeStart": "10.184.0.10", "rangeEnd": "10.184.0.10",
			"dataDir": dataDir}})
	e.env["CNI_PATH"] += ":" + pluginDir
	leases := func() []string {
		l, _ := filepath.Glob(filepath.Join(dataDir, e.network, "10.184.0.*"))
		return l
	}
	a, b := cnitest.NewNetns(t), cnitest.NewNetns(t)

	require.NoError(t, os.WriteFile(marker, nil, 0o600))
	_, err := e.run("add", a, nil)
	require.ErrorContains(t, err, "no answer from vswitchd")
	require.Len(t, leases(), 1, "the lease was released though vswitchd may still use it")
	require.ErrorContains(t, err, "DEL removes it and releases its addresses")
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	require.Eventually(t, func() bool { return len(e.endpoints()) == 1 }, 10*time.Second, 50*time.Millisecond,
		"vswitchd, running again, makes the endpoint it was asked for")

	_, err = e.run("add", b, nil)
	require.ErrorContains(t, err, "no IP addresses available", "a second container got the first one's address")
	require.False(t, b.HasLink(t, "eth0"))
	require.Len(t, e.endpoints(), 1)

	// The runtime's DEL after the failed ADD removes the endpoint and
	// frees the address.
	e.must("del", a)
	require.Empty(t, e.endpoints())
	require.Empty(t, leases())
	ip := cnitest.FirstIPv4(e.must("add", b))
	require.Equal(t, "10.184.0.10", ip.String())
	e.must("check", b)
	e.must("del", b)
	require.Empty(t, leases())
	requireNoEndpointVeths(t, d)
}
