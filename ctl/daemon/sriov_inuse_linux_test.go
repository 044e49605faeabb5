package daemon

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/sriov/sriovtest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestSRIOVVFInUse: a VF is one netdev, so it has one user. sriov/move of
// a type=sriov port's VF is refused naming the port (it was taken, and
// the port went down for good), and so is a second port on the same VF
// (it failed with "create link: file exists") or a port on a moved VF;
// nothing changes. A veth stands in for the VF's netdev (no SR-IOV
// hardware here), as in cmd/vswitchd's TestSRIOVHandOff.
func TestSRIOVVFInUse(t *testing.T) {
	d, _, pf := sriovDaemon(t, 0, "0000:04:00.1")
	require.True(t, run(t, d, "add-br", "br0").OK)
	r := run(t, d, "add-port", "br0", "vf0", "type=sriov", "pf="+pf, "vf=0")
	require.True(t, r.OK, "%+v", r.Error)
	stateJSON := func() string {
		b, err := json.Marshal(d.state)
		require.NoError(t, err)
		return string(b)
	}
	before := stateJSON()

	c := nettest.NewNS(t)
	r = run(t, d, "sriov/move", pf, "0", "netns="+c.Path())
	requireCode(t, r, ctl.CodeExists)
	require.Contains(t, r.Error.Message, "port vf0's")
	r = run(t, d, "add-port", "br0", "vf0b", "type=sriov", "pf="+pf, "vf=0")
	requireCode(t, r, ctl.CodeExists)
	require.Contains(t, r.Error.Message, "port vf0's")
	require.Equal(t, before, stateJSON(), "refused commands changed the configuration")
	require.True(t, d.drivers["vf0"] != nil && d.drivers["vf0"].port != nil, "the port is still attached")
	out, err := c.Command("ip", "-br", "link").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.False(t, strings.Contains(string(out), "eth0"), "the VF's netdev was moved: %s", out)
}

// TestSRIOVRestoreGoneVF: a VF handed to a container whose namespace then
// went, and which has no netdev in the host any more (unbound), has
// nothing to bring back: sriov/restore drops the record instead of
// failing every time, so that a later sriov/move of the VF is not refused
// for good ("already in ...").
func TestSRIOVRestoreGoneVF(t *testing.T) {
	d, sys, pf := sriovDaemon(t, 2, "0000:05:00.3")
	// A namespace of the test's own, to delete under the hand-off.
	ns := "vsg-" + nettest.Suffix()
	require.NoError(t, exec.Command("ip", "netns", "add", ns).Run())
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	r := run(t, d, "sriov/move", pf, "2", "netns=/var/run/netns/"+ns, "ifname=eth0")
	require.True(t, r.OK, "%+v", r.Error)
	// The namespace goes with the VF's netdev in it (a veth stands in for
	// it, so it goes too) and the VF is unbound: no netdev anywhere.
	require.NoError(t, exec.Command("ip", "netns", "del", ns).Run())
	sys.BindVF("0000:05:00.3", "")

	r = run(t, d, "sriov/restore", pf, "2")
	require.True(t, r.OK, "%+v", r.Error)
	require.Empty(t, d.state.VFMoves, "the record is dropped")
	r = run(t, d, "sriov/restore", pf, "2")
	requireCode(t, r, ctl.CodeNotFound)
	r = run(t, d, "sriov/move", pf, "2", "netns="+nettest.NewNS(t).Path())
	require.False(t, r.OK, "no netdev to move")
	require.NotContains(t, r.Error.Message, "already in", "the old record no longer refuses it")
}

// sriovDaemon starts a daemon on a fake sysfs whose PF (a veth end: any
// netdev) has VF vf at PCI address vfPCI, bound with a veth standing in
// for its netdev. It returns the daemon, the sysfs and the PF's name.
func sriovDaemon(t *testing.T, vf int, vfPCI string) (*Daemon, *sriovtest.Sysfs, string) {
	t.Helper()
	nettest.NeedRoot(t)
	sys := sriovtest.NewSysfs(t)
	pf := "vsp" + nettest.Suffix()
	nettest.Veth(t, pf, nettest.NewNS(t), "10.68.9.1/24", 1)
	vfDev := "vsf" + nettest.Suffix()
	nettest.Veth(t, vfDev, nettest.NewNS(t), "10.68.0.2/24", 1)
	sys.AddPF(pf, "0000:04:00.0", 4)
	sys.AddVF(pf, vf, vfPCI, vfDev)
	d, err := New(Config{StateDir: t.TempDir(), Sysfs: sys.Root, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	require.NoError(t, d.Start())
	t.Cleanup(func() { d.Close() })
	return d, sys, pf
}
