package daemon

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

func rifMACOf(t *testing.T, d *Daemon, name string) string {
	t.Helper()
	ifc := d.state.rif(name)
	require.NotNil(t, ifc, "no interface %s", name)
	return ifc.MAC
}

// TestRIFMACStable: a router interface added with no mac= gets a locally
// administered unicast MAC that is the same after rif/del and rif/add of
// the same name on the same host (the containers behind it keep a right
// ARP entry; it was random, so a gateway re-added came back with a new
// MAC nothing told them of), differs for another name and on another
// host (another host ID), and is stored: a restart keeps it, as it keeps
// a MAC stored before (given or random).
func TestRIFMACStable(t *testing.T) {
	dir := t.TempDir()
	d := newMemPortDaemon(t, dir, nil)
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-br", "br1").OK)
	require.True(t, run(t, d, "rif/add", "gw", "bridge=br0", "addr=10.40.0.1/24").OK)
	m1 := rifMACOf(t, d, "gw")
	hw, err := net.ParseMAC(m1)
	require.NoError(t, err)
	require.Len(t, hw, 6)
	require.Equal(t, byte(0x02), hw[0]&0x03, "locally administered unicast: %s", m1)

	require.True(t, run(t, d, "rif/del", "gw").OK)
	require.True(t, run(t, d, "rif/add", "gw", "bridge=br0", "addr=10.40.0.1/24").OK)
	require.Equal(t, m1, rifMACOf(t, d, "gw"), "the same name on the same host: the same MAC")
	require.True(t, run(t, d, "rif/add", "gw2", "bridge=br1").OK)
	require.NotEqual(t, m1, rifMACOf(t, d, "gw2"), "another name: another MAC")
	require.True(t, run(t, d, "rif/add", "old", "bridge=br1", "vlan=5", "mac=02:11:22:33:44:55").OK)
	require.Equal(t, m1, stableMAC(d.state.HostID, "gw", 0))

	other := newMemPortDaemon(t, t.TempDir(), nil)
	t.Cleanup(func() { other.Close() })
	require.NotEqual(t, d.state.HostID, other.state.HostID)
	require.True(t, run(t, other, "add-br", "br0").OK)
	require.True(t, run(t, other, "rif/add", "gw", "bridge=br0").OK)
	require.NotEqual(t, m1, rifMACOf(t, other, "gw"), "the same name on another host: another MAC")

	d.Close()
	d = newMemPortDaemon(t, dir, nil)
	t.Cleanup(func() { d.Close() })
	require.Equal(t, m1, rifMACOf(t, d, "gw"), "stored")
	require.Equal(t, "02:11:22:33:44:55", rifMACOf(t, d, "old"), "a stored MAC is kept")
	var is []ctl.Interface
	decode(t, run(t, d, "rif/show"), &is)
	require.Len(t, is, 3)
	for _, i := range is {
		require.Equal(t, rifMACOf(t, d, i.Name), i.MAC, "the switch has the stored MAC")
	}
}

// TestRIFMACNotAStation: rif/add mac= of a MAC a port binds (macs=, port
// security) or a static MAC on a port is refused, naming the port: the
// router interface and the station would fight for the MAC's entry.
func TestRIFMACNotAStation(t *testing.T) {
	d := newMemPortDaemon(t, t.TempDir(), nil)
	t.Cleanup(func() { d.Close() })
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-port", "br0", "p1", "type=tap", "macs=02:00:00:00:00:aa").OK)
	r := run(t, d, "rif/add", "gw", "bridge=br0", "mac=02:00:00:00:00:AA")
	requireCode(t, r, ctl.CodeInvalid)
	require.Contains(t, r.Error.Message, "port p1")
	require.Nil(t, d.state.rif("gw"), "nothing stored")

	require.True(t, run(t, d, "add-port", "br0", "p2", "type=tap").OK)
	require.True(t, run(t, d, "fdb/add", "br0", "02:00:00:00:00:bb", "p2").OK, "a static MAC")
	r = run(t, d, "rif/add", "gw", "bridge=br0", "mac=02:00:00:00:00:bb")
	requireCode(t, r, ctl.CodeInvalid)
	require.Contains(t, r.Error.Message, "port p2")

	require.True(t, run(t, d, "rif/add", "gw", "bridge=br0", "mac=02:00:00:00:00:cc").OK, "a MAC no station has")
}

// mtuMemPort is a memory port reporting the longest frame of a port of
// its spec's MTU (mtu=, 1500 by default), as the daemon's ports do.
type mtuMemPort struct {
	*memport.Port
	mtu int
}

func (p mtuMemPort) Info() ports.Info {
	i := p.Port.Info()
	i.MaxFrame = vlanMaxFrame(p.mtu)
	return i
}

// TestRIFShowEffectiveMTU: rif/show says when a router interface's
// effective MTU is below its own, and by which port: set-port mtu= of a
// port of its bridge lowers it (and routing uses it, vswitch's
// TestRoutedEgressPortMTU), and raising the port's MTU again lifts it.
func TestRIFShowEffectiveMTU(t *testing.T) {
	d := newMemPortDaemon(t, t.TempDir(), func(spec PortSpec) (ports.Port, error) {
		p, err := memport.New(memport.Config{Name: spec.Name})
		if err != nil {
			return nil, err
		}
		mtu := 1500
		if s := spec.Options["mtu"]; s != "" {
			if mtu, err = strconv.Atoi(s); err != nil {
				return nil, err
			}
		}
		return mtuMemPort{p, mtu}, nil
	})
	t.Cleanup(func() { d.Close() })
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-port", "br0", "p1", "type=tap").OK)
	require.True(t, run(t, d, "rif/add", "gw", "bridge=br0", "addr=10.41.0.1/24").OK)
	show := func() rifView {
		t.Helper()
		var vs []rifView
		decode(t, run(t, d, "rif/show"), &vs)
		require.Len(t, vs, 1)
		return vs[0]
	}
	v := show()
	require.Zero(t, v.EffectiveMTU, "the interface's own MTU: nothing more to say")
	require.True(t, run(t, d, "set-port", "p1", "mtu=1400").OK)
	v = show()
	require.Equal(t, 1400, v.EffectiveMTU)
	require.Equal(t, "p1", v.MTULimitedBy)
	require.Equal(t, 1500, v.MTU, "the interface's own MTU is unchanged")
	require.True(t, run(t, d, "set-port", "p1", "mtu=1500").OK)
	require.Zero(t, show().EffectiveMTU)
}
