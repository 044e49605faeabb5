package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/afxdp"
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

// TestVethDefaultIO: a veth port added without io= is attached by
// AF_PACKET (DefaultVethIO, the best for TCP) and the choice is stored;
// io=afxdp still gives AF_XDP; a stored veth port without io= (written
// before the default changed) comes back on AF_XDP, as it was made.
func TestVethDefaultIO(t *testing.T) {
	nettest.NeedRoot(t)
	dir := t.TempDir()
	d := newTestDaemon(t, dir)
	require.True(t, run(t, d, "add-br", "br0").OK)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	pa, pb := "vda"+nettest.Suffix(), "vdb"+nettest.Suffix()
	r := run(t, d, "add-port", "br0", pa, "type=veth", "netns="+a.Path(), "ip=10.82.0.1/24")
	require.True(t, r.OK, "%+v", r.Error)
	_, ok := d.drivers[pa].port.(*afpacket.Port)
	require.True(t, ok, "the default port is %T", d.drivers[pa].port)
	spec, _ := d.state.port(pa)
	require.Equal(t, DefaultVethIO, spec.Options["io"], "the default is stored")
	on, err := netdev.TxChecksumAt(a.Path(), "eth0")
	require.NoError(t, err)
	require.True(t, on, "the container keeps its checksum offload (and so TSO)")

	r = run(t, d, "add-port", "br0", pb, "type=veth", "netns="+b.Path(), "ip=10.82.0.2/24", "io=afxdp")
	require.True(t, r.OK, "%+v", r.Error)
	_, ok = d.drivers[pb].port.(*afxdp.Port)
	require.True(t, ok, "io=afxdp gave %T", d.drivers[pb].port)
	out, err := a.Command("ping", "-c", "2", "-i", "0.2", "-W", "5", "10.82.0.2").CombinedOutput()
	require.NoError(t, err, "AF_PACKET to AF_XDP port: %s", out)

	// A store from before the default: pb without io=.
	d.Close()
	st, err := NewStore(dir, StateFile)
	require.NoError(t, err)
	var s State
	found, err := st.Load(&s)
	require.NoError(t, err)
	require.True(t, found)
	p, _ := s.port(pb)
	require.NotNil(t, p)
	delete(p.Options, "io")
	require.NoError(t, st.Save(&s))
	d = newTestDaemon(t, dir)
	_, ok = d.drivers[pb].port.(*afxdp.Port)
	require.True(t, ok, "a stored port without io= came back as %T", d.drivers[pb].port)
	_, ok = d.drivers[pa].port.(*afpacket.Port)
	require.True(t, ok, "after a restart the default port is %T", d.drivers[pa].port)
}
