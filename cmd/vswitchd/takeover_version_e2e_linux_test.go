package main_test

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestTakeoverOtherFormatRefused: a vswitchd built with another takeover
// state-format version (linked with a different
// internal/takeover.buildVersion, as a build whose handover format changed
// would be) is refused by the running one: it exits with an error that
// says why and what to do, and the running vswitchd keeps forwarding and
// answering on its control socket, with its configuration.
func TestTakeoverOtherFormatRefused(t *testing.T) {
	d := newDaemon(t)
	other := filepath.Join(t.TempDir(), "vswitchd-v2")
	out, err := exec.Command("go", "build", "-o", other,
		"-ldflags", "-X github.com/vecswitch/vecswitch/internal/takeover.buildVersion=65000", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	a, b := nettest.NewNS(t), nettest.NewNS(t)
	sfx := nettest.Suffix()
	d.must("add-br", "br0")
	d.must("add-port", "br0", "va"+sfx, "type=veth", "netns="+a.Path(), "ip=10.65.0.1/24")
	d.must("add-port", "br0", "vb"+sfx, "type=tap", "netns="+b.Path(), "ip=10.65.0.2/24")
	require.NoError(t, ping(a, "10.65.0.2"))

	out, err = exec.Command(other, "--socket", d.socket, "--state-dir", filepath.Join(d.dir, "state"), "--takeover").CombinedOutput()
	require.Error(t, err, "a build of another state format took over: %s", out)
	require.Contains(t, string(out), "state format version")
	require.Contains(t, string(out), "65000")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := d.vsctl("version"); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the old vswitchd's control socket did not come back")
	}
	require.Nil(t, d.cmd.ProcessState, "the old vswitchd exited")
	require.NoError(t, ping(a, "10.65.0.2"), "the old vswitchd forwards after the refused takeover")
	ports := d.must("list-ports", "br0")
	require.Contains(t, ports, "va"+sfx)
	require.Contains(t, ports, "vb"+sfx)
}
