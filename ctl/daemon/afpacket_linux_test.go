package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestVethAFPacket: type=veth io=afpacket attaches the host end by
// AF_PACKET, leaves the container's checksum offload on (it sends large
// frames), carries traffic, and survives a restart; a bad io= is refused
// and changes nothing.
func TestVethAFPacket(t *testing.T) {
	nettest.NeedRoot(t)
	dir := t.TempDir()
	d := newTestDaemon(t, dir)
	require.True(t, run(t, d, "add-br", "br0").OK)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	pa, pb := "vpa"+nettest.Suffix(), "vpb"+nettest.Suffix()
	r := run(t, d, "add-port", "br0", pa, "type=veth", "netns="+a.Path(), "ip=10.81.0.1/24", "io=afpacket")
	require.True(t, r.OK, "%+v", r.Error)
	r = run(t, d, "add-port", "br0", pb, "type=veth", "netns="+b.Path(), "ip=10.81.0.2/24", "io=afpacket")
	require.True(t, r.OK, "%+v", r.Error)
	_, ok := d.drivers[pa].port.(*afpacket.Port)
	require.True(t, ok, "the port is %T", d.drivers[pa].port)
	on, err := netdev.TxChecksumAt(a.Path(), "eth0")
	require.NoError(t, err)
	require.True(t, on, "the container's checksum offload was switched off")
	ping := func() {
		t.Helper()
		out, err := a.Command("ping", "-c", "2", "-i", "0.2", "-W", "5", "10.81.0.2").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	ping()

	r = run(t, d, "add-port", "br0", "vpc"+nettest.Suffix(), "type=veth", "netns="+a.Path(), "ifname=eth1", "io=dpdk")
	require.False(t, r.OK)
	require.Equal(t, ctl.CodeUsage, r.Error.Code)
	require.Contains(t, r.Error.Message, "io=dpdk")

	d.Close()
	d = newTestDaemon(t, dir)
	_, ok = d.drivers[pa].port.(*afpacket.Port)
	require.True(t, ok, "after a restart the port is %T", d.drivers[pa].port)
	ping()
}
