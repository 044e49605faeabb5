package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

func TestNATCommands(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	for _, c := range [][]string{
		{"add-br", "ctr"}, {"add-br", "up"},
		{"rif/add", "ra", "bridge=ctr", "addr=10.1.0.1/24"},
		{"rif/add", "rb", "bridge=up", "addr=192.0.2.1/24"},
		{"rif/add", "rc", "bridge=up", "vlan=7", "addr=198.51.100.1/24"},
	} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	var v ctl.NATShowView
	m.ok(t, &v, "nat/show")
	require.False(t, v.Enabled)
	require.Empty(t, v.PortMaps)

	m.ok(t, nil, "nat/masquerade-add", "ra", "external=rb")
	m.ok(t, nil, "nat/map-add", "proto=tcp", "host-port=8080", "target=10.1.0.5", "target-port=80")
	m.ok(t, nil, "nat/map-add", "proto=UDP", "host=192.0.2.1", "host-port=53", "target=10.1.0.6")
	m.ok(t, nil, "nat/uplink-add", "rc")

	// Idempotent: the same again writes nothing.
	before, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	m.ok(t, nil, "nat/masquerade-add", "ra", "external=rb")
	m.ok(t, nil, "nat/map-add", "proto=tcp", "host-port=8080", "target=10.1.0.5", "target-port=80")
	m.ok(t, nil, "nat/map-add", "proto=udp", "host=192.0.2.1", "host-port=53", "target=10.1.0.6", "target-port=53")
	m.ok(t, nil, "nat/uplink-add", "rc")
	m.ok(t, nil, "nat/masquerade-del", "rb")
	m.ok(t, nil, "nat/map-del", "proto=tcp", "host-port=9999")
	m.ok(t, nil, "nat/map-del", "proto=tcp", "host-port=8080", "target=10.1.0.99")
	m.ok(t, nil, "nat/uplink-del", "rb")
	// Bad input: typed errors, nothing changes.
	for _, c := range []struct {
		code ctl.Code
		args []string
	}{
		{ctl.CodeNotFound, []string{"nat/masquerade-add", "nope", "external=rb"}},
		{ctl.CodeNotFound, []string{"nat/masquerade-add", "rc", "external=nope"}},
		{ctl.CodeExists, []string{"nat/masquerade-add", "ra", "external=rc"}},
		{ctl.CodeInvalid, []string{"nat/masquerade-add", "rb", "external=rb"}},
		{ctl.CodeUsage, []string{"nat/masquerade-add", "rc", "bogus=rb"}},
		{ctl.CodeNotFound, []string{"nat/uplink-add", "nope"}},
		{ctl.CodeInvalid, []string{"addr/del", "ra", "10.1.0.1/24"}}, // the masquerade needs it
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=sctp", "host-port=1", "target=10.1.0.5"}},
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host-port=0", "target=10.1.0.5"}},
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host-port=65536", "target=10.1.0.5"}},
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host-port=81", "target=10.1.0.5", "target-port=0"}},
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host-port=81", "target=10.1.0.300"}},
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host=nohost", "host-port=81", "target=10.1.0.5"}},
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host-port=81", "target=0.0.0.0"}},
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host=fd00::1", "host-port=81", "target=10.1.0.5"}},
		// The network and broadcast addresses of a router interface's
		// subnet are no container's.
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host-port=81", "target=10.1.0.0"}},
		{ctl.CodeInvalid, []string{"nat/map-add", "proto=tcp", "host-port=81", "target=10.1.0.255"}},
		// An uplink is not masqueraded, nor a masqueraded network an uplink.
		{ctl.CodeInvalid, []string{"nat/masquerade-add", "rb", "external=rc"}},
		{ctl.CodeInvalid, []string{"nat/masquerade-add", "rc", "external=ra"}},
		{ctl.CodeUsage, []string{"nat/map-add", "proto=tcp", "host-port=81", "port=1"}},
		{ctl.CodeUsage, []string{"nat/map-add", "proto=tcp", "host-port=81", "target-port=1"}},
		// Overlaps: the same host port to another target, or a host
		// address the any-address map covers.
		{ctl.CodeExists, []string{"nat/map-add", "proto=tcp", "host-port=8080", "target=10.1.0.7"}},
		{ctl.CodeExists, []string{"nat/map-add", "proto=tcp", "host=192.0.2.1", "host-port=8080", "target=10.1.0.5"}},
		{ctl.CodeExists, []string{"nat/map-add", "proto=udp", "host-port=53", "target=10.1.0.9"}},
		{ctl.CodeInvalid, []string{"nat/map-del", "proto=icmp", "host-port=8080"}},
		{ctl.CodeUsage, []string{"nat/map-del", "proto=tcp", "target=10.1.0.5"}},
		{ctl.CodeInvalid, []string{"nat/map-del", "proto=tcp", "host-port=8080", "target=x"}},
		{ctl.CodeUsage, []string{"nat/map-del", "proto=tcp", "host-port=8080", "target-port=80"}},
	} {
		m.fails(t, c.code, c.args[0], c.args[1:]...)
	}
	after, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	require.Equal(t, string(before), string(after), "failed or repeated commands changed the store")

	m.ok(t, &v, "nat/show")
	require.True(t, v.Enabled)
	require.Equal(t, []ctl.NATMasqueradeView{{Interface: "ra", External: "rb"}}, v.Masquerade)
	require.Equal(t, []ctl.NATPortMapView{
		{Proto: "tcp", HostPort: 8080, Target: "10.1.0.5", TargetPort: 80},
		{Proto: "udp", Host: "192.0.2.1", HostPort: 53, Target: "10.1.0.6", TargetPort: 53},
	}, v.PortMaps)
	require.Equal(t, []string{"rc"}, v.Uplinks)
	require.NotNil(t, v.Conntrack)
	var fl map[string]int
	m.ok(t, &fl, "nat/flush-flows")
	require.Contains(t, fl, "flushed")

	// Restart (as after kill -9: the store is all there is).
	m.stop()
	newDaemon := func() *Daemon {
		d := newMemPortDaemon(t, dir, nil)
		return d
	}
	d2 := newDaemon()
	r := run(t, d2, "nat/show")
	require.True(t, r.OK, "%+v", r.Error)
	var v2 ctl.NATShowView
	decode(t, r, &v2)
	require.True(t, v2.Enabled)
	require.Equal(t, v.PortMaps, v2.PortMaps)
	require.Equal(t, v.Masquerade, v2.Masquerade)

	// Removing a router interface drops the NAT entries naming it; the
	// port maps stay.
	for _, c := range [][]string{{"rif/del", "rb"}, {"rif/del", "rc"}, {"nat/map-del", "proto=udp", "host=192.0.2.1", "host-port=53"}} {
		r := run(t, d2, c[0], c[1:]...)
		require.True(t, r.OK, "%v: %+v", c, r.Error)
	}
	require.NotNil(t, d2.state.NAT)
	require.Empty(t, d2.state.NAT.Masquerade)
	require.Empty(t, d2.state.NAT.Uplinks)
	require.Len(t, d2.state.NAT.PortMaps, 1)
	r = run(t, d2, "nat/map-del", "proto=tcp", "host=0.0.0.0", "host-port=8080")
	require.True(t, r.OK, "%+v", r.Error)
	require.Nil(t, d2.state.NAT, "no entry left: no NAT")
	for _, c := range [][]string{{"rif/add", "rb", "bridge=up", "addr=192.0.2.1/24"}, {"nat/masquerade-add", "ra", "external=rb"}} {
		r := run(t, d2, c[0], c[1:]...)
		require.True(t, r.OK, "%v: %+v", c, r.Error)
	}
	require.NoError(t, d2.Close())

	// A stored NAT entry the switch refuses (edited by hand) does not
	// poison the next start: the previous good copy is used.
	raw, err := os.ReadFile(d2.store.Path())
	require.NoError(t, err)
	bad := replaceOnce(string(raw), `"external": "rb"`, `"external": "gone"`)
	require.NotEqual(t, string(raw), bad)
	require.NoError(t, os.WriteFile(d2.store.Path(), []byte(bad), 0o600))
	d3 := newDaemon()
	defer d3.Close()
	require.NotNil(t, d3.state.rif("rb"))
	aside, _ := filepath.Glob(d3.store.Path() + ".corrupt-*")
	require.Len(t, aside, 1, "the refused file is set aside")
}
