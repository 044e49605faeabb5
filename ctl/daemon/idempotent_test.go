package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestAddBridgeAgain: add-br of a bridge that is there is a no-op when it
// asks for nothing the bridge does not have (no options, the same ones,
// a default the bridge has), and refused (exists, naming the stored
// setting) when an option differs; the bridge keeps its settings.
func TestAddBridgeAgain(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0", "mac_age=60")
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-br", "br0", "mac_age=60")
	m.ok(t, nil, "add-br", "br0", "mac_age=60", "mac_limit=1048576") // the default limit, which it has
	m.failsWith(t, ctl.CodeExists, "bridge br0 exists with mac_age=60, not 300", "add-br", "br0", "mac_age=300")
	m.failsWith(t, ctl.CodeExists, "bridge br0 exists with mac_limit=1048576, not 10", "add-br", "br0", "mac_limit=10")
	// Bad input is refused as such, not as exists.
	m.fails(t, ctl.CodeInvalid, "add-br", "br0", "mac_age=0")
	m.fails(t, ctl.CodeUsage, "add-br", "br0", "bogus=1")
	m.ok(t, nil, "add-br", "br1") // no options stored: the defaults
	m.ok(t, nil, "add-br", "br1", "mac_age=300")
	m.failsWith(t, ctl.CodeExists, "bridge br1 exists with mac_age=300, not 30", "add-br", "br1", "mac_age=30")

	var sv ctl.ShowView
	m.ok(t, &sv, "show")
	require.Len(t, sv.Bridges, 2)
	require.Equal(t, 60, sv.Bridges[0].MACAgeSeconds)

	// In a batch as well.
	r := batch(t, m.d, []string{"add-br", "br0"}, []string{"add-br", "br2"}, []string{"add-br", "br2"})
	require.True(t, r.OK, "%+v", r.Error)
	var brs []string
	m.ok(t, &brs, "list-br")
	require.Equal(t, []string{"br0", "br1", "br2"}, brs)
}

// TestAddPortAgain: add-port of a port that is there, in the same bridge
// with the same type and the options given as stored, is a no-op that
// leaves the running port alone (its driver is not made again); options
// not given are not compared (the daemon stores some itself: mac=,
// io=, an overlay's mtu=); another bridge, type or option value is
// refused (exists) naming what differs.
func TestAddPortAgain(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-br", "br1")
	m.ok(t, nil, "add-port", "br0", "p1", "type=veth", "netns=/run/netns/x", "ip=10.0.0.2/24", "vlan=10",
		"macs=02:00:00:00:00:01,02:00:00:00:00:02", "mac_limit=50")
	m.ok(t, nil, "add-port", "br0", "p2")
	p1, p2 := m.port("p1"), m.port("p2")
	m.d.mu.Lock()
	spec, _ := m.d.state.port("p1")
	spec.Options["mac"] = "02:aa:00:00:00:01" // as stagePort stores a veth's container MAC
	m.d.mu.Unlock()

	for _, again := range [][]string{
		{"br0", "p1", "type=veth", "netns=/run/netns/x", "ip=10.0.0.2/24", "vlan=10", "macs=02:00:00:00:00:01,02:00:00:00:00:02", "mac_limit=50"},
		{"br0", "p1", "type=veth", "netns=/run/netns/x"},                                                         // options left out are not compared
		{"br0", "p1", "type=veth", "macs=02:00:00:00:00:02,02:00:00:00:00:01"},                                   // in another order
		{"br0", "p1", "type=veth", "mac=02:AA:00:00:00:01"},                                                      // the stored MAC, spelled otherwise
		{"br0", "p1", "type=veth", "io=afpacket"},                                                                // the default the daemon stored
		{"br0", "p1", "type=veth", "mtu=1500", "mode=access", "fast-path=on", "port_security=on", "ra_guard=on"}, // defaults
		{"br0", "p2"},
		{"br0", "p2", "type=afxdp", "vlan=0", "mac_limit=4096"},
	} {
		m.ok(t, nil, "add-port", again...)
	}
	require.Same(t, p1, m.port("p1"), "add-port again made the port anew")
	require.Same(t, p2, m.port("p2"), "add-port again made the port anew")

	for _, c := range []struct {
		want string
		args []string
	}{
		{"port p1 exists in bridge br0 (del-port it first to move it)", []string{"br1", "p1", "type=veth", "netns=/run/netns/x"}},
		{"port p1 exists in bridge br0 (del-port it first to move it)", []string{"nobr", "p1"}},
		{"port p1 exists in bridge br0 with type=veth, not afxdp", []string{"br0", "p1"}},
		{"port p1 exists in bridge br0 with vlan=10, not vlan=20 (set-port p1 vlan=20 changes it)", []string{"br0", "p1", "type=veth", "vlan=20"}},
		{"port p1 exists in bridge br0 with ip=10.0.0.2/24, not ip=10.0.0.3/24 (del-port it first", []string{"br0", "p1", "type=veth", "ip=10.0.0.3/24"}},
		{"port p1 exists in bridge br0 with mac=02:aa:00:00:00:01, not mac=02:bb:00:00:00:01", []string{"br0", "p1", "type=veth", "mac=02:bb:00:00:00:01"}},
		{"port p1 exists in bridge br0 with mac_limit=50, not mac_limit=51", []string{"br0", "p1", "type=veth", "mac_limit=51"}},
		{"port p1 exists in bridge br0 without trunks=, not trunks=20", []string{"br0", "p1", "type=veth", "trunks=20"}},
		{"port p1 exists in bridge br0 without gw=, not gw=10.0.0.1", []string{"br0", "p1", "type=veth", "gw=10.0.0.1"}},
		{"port p2 exists in bridge br0 with port_security=on, not port_security=off", []string{"br0", "p2", "port_security=off"}},
	} {
		m.failsWith(t, ctl.CodeExists, c.want, "add-port", c.args...)
	}
	// Bad options are refused as such.
	m.fails(t, ctl.CodeUsage, "add-port", "br0", "p1", "type=veth", "dev=x")
	m.fails(t, ctl.CodeInvalid, "add-port", "br0", "p1", "type=veth", "vlan=5000")
	require.Same(t, p1, m.port("p1"))

	var sv ctl.ShowView
	m.ok(t, &sv, "show")
	require.Len(t, sv.Bridges[0].Ports, 2)
	require.Equal(t, uint16(10), sv.Bridges[0].Ports[0].VLAN)
	require.Empty(t, sv.Bridges[1].Ports)
}

// TestDeleteWhatIsNotThere: del-br and del-port of what is not there are
// no-ops, as svc/del and the other newer deletes are (a teardown can be
// run again); an endpoint's port is still refused.
func TestDeleteWhatIsNotThere(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "del-br", "nosuch")
	m.ok(t, nil, "del-port", "nosuch")
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p1")
	m.ok(t, nil, "del-port", "p1")
	m.ok(t, nil, "del-port", "p1")
	m.ok(t, nil, "del-br", "br0")
	m.ok(t, nil, "del-br", "br0")
	var brs []string
	m.ok(t, &brs, "list-br")
	require.Empty(t, brs)
}

// TestFDBAgain: fdb/add of the same static entry is a no-op, of the MAC
// on another port or VTEP refused (exists); fdb/del of none is a no-op.
func TestFDBAgain(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p1")
	m.ok(t, nil, "add-port", "br0", "p2", "trunks=5")
	const mac = "02:00:00:00:00:77"
	m.ok(t, nil, "fdb/add", "br0", mac, "p1")
	m.ok(t, nil, "fdb/add", "br0", "02:00:00:00:00:77", "p1")
	m.ok(t, nil, "fdb/add", "br0", "02:00:00:00:00:77", "p1", "vlan=0")
	m.failsWith(t, ctl.CodeExists, "static MAC 02:00:00:00:00:77 in VLAN 0 exists on p1", "fdb/add", "br0", mac, "p2")
	m.failsWith(t, ctl.CodeExists, "exists on p1", "fdb/add", "br0", mac, "vtep=192.0.2.1")
	m.ok(t, nil, "fdb/add", "br0", mac, "p2", "vlan=5") // another VLAN: another entry
	m.d.mu.Lock()
	require.Len(t, m.d.state.bridge("br0").StaticMACs, 2)
	m.d.mu.Unlock()

	m.ok(t, nil, "fdb/del", "br0", mac)
	m.ok(t, nil, "fdb/del", "br0", mac) // again: a no-op
	m.ok(t, nil, "fdb/del", "br0", mac, "vlan=5")
	m.ok(t, nil, "fdb/del", "br0", mac, "vlan=5")
	m.fails(t, ctl.CodeNotFound, "fdb/del", "nobr", mac)
	m.fails(t, ctl.CodeInvalid, "fdb/del", "br0", "nope")
	m.d.mu.Lock()
	require.Empty(t, m.d.state.bridge("br0").StaticMACs)
	m.d.mu.Unlock()

	// A batch of the same entry twice.
	r := batch(t, m.d, []string{"fdb/add", "br0", mac, "p1"}, []string{"fdb/add", "br0", mac, "p1"}, []string{"fdb/del", "br0", "02:00:00:00:00:78"})
	require.True(t, r.OK, "%+v", r.Error)
	m.d.mu.Lock()
	require.Len(t, m.d.state.bridge("br0").StaticMACs, 1)
	m.d.mu.Unlock()
}
