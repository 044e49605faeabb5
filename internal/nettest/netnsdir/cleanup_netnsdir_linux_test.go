//go:build linux

package netnsdir

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestNamedNSSurvivesIPNetnsAdd: a namespace bound by netns.NewNamed after
// Prepare can still be deleted after `ip netns add` ran for the first
// time on the machine. Without Prepare, iproute2 bind-mounts /run/netns
// over ours, and DeleteNamed fails with EBUSY, leaving the namespace
// alive and its name unusable. The scenario runs in a child process with
// its own mount namespace and an empty /run, so it sees a fresh machine
// and changes nothing on the host.
func TestNamedNSSurvivesIPNetnsAdd(t *testing.T) {
	if os.Getenv("NETNSDIR_CHILD") == "1" {
		freshMachineChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: mount and network namespaces")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private",
		os.Args[0], "-test.run=^TestNamedNSSurvivesIPNetnsAdd$", "-test.v")
	cmd.Env = append(os.Environ(), "NETNSDIR_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "--- PASS: TestNamedNSSurvivesIPNetnsAdd")
}

func freshMachineChild(t *testing.T) {
	require.NoError(t, unix.Mount("none", "/run", "tmpfs", 0, ""))
	require.NoError(t, Prepare())
	runtime.LockOSThread() // the new namespace is made on this thread
	orig, err := netns.Get()
	require.NoError(t, err)
	h, err := netns.NewNamed("ours")
	require.NoError(t, netns.Set(orig)) // a failure leaves the thread locked: it dies
	require.NoError(t, err)
	runtime.UnlockOSThread()
	h.Close()
	out, err := exec.Command("ip", "netns", "add", "theirs").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, netns.DeleteNamed("ours"))
	out, err = exec.Command("ip", "netns", "del", "theirs").CombinedOutput()
	require.NoError(t, err, "%s", out)
}
