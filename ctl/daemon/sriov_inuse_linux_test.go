package daemon

import (
	"encoding/json"
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
	nettest.NeedRoot(t)
	sys := sriovtest.NewSysfs(t)
	pf := "vsp" + nettest.Suffix()
	nettest.Veth(t, pf, nettest.NewNS(t), "10.68.9.1/24", 1)
	vfDev := "vsf" + nettest.Suffix()
	nettest.Veth(t, vfDev, nettest.NewNS(t), "10.68.0.2/24", 1)
	sys.AddPF(pf, "0000:04:00.0", 4)
	sys.AddVF(pf, 0, "0000:04:00.1", vfDev)

	d, err := New(Config{StateDir: t.TempDir(), Sysfs: sys.Root, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	require.NoError(t, d.Start())
	t.Cleanup(func() { d.Close() })
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
