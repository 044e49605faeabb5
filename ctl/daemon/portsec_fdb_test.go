package daemon

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

func portsecDaemon(t *testing.T) *Daemon {
	t.Helper()
	d, err := New(Config{StateDir: t.TempDir(), Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

func portsecRun(d *Daemon, cmd string, args ...string) ctl.Response {
	return d.Registry().Dispatch(context.Background(), &ctl.Request{V: ctl.Version, Cmd: cmd, Args: args})
}

// TestFDBAddRefusesGroupAndZeroMAC: fdb/add of the zero MAC, a multicast
// or the broadcast MAC is refused as invalid, naming why, and changes
// nothing.
func TestFDBAddRefusesGroupAndZeroMAC(t *testing.T) {
	d := portsecDaemon(t)
	require.True(t, portsecRun(d, "add-br", "br0").OK)
	for mac, why := range map[string]string{
		"00:00:00:00:00:00": "zero",
		"ff:ff:ff:ff:ff:ff": "broadcast",
		"01:00:5e:00:00:01": "multicast",
		"33:33:00:00:00:01": "multicast",
	} {
		r := portsecRun(d, "fdb/add", "br0", mac, "p1")
		require.False(t, r.OK, mac)
		require.Equal(t, ctl.CodeInvalid, r.Error.Code, mac)
		require.Contains(t, r.Error.Message, why, mac)
	}
	require.Empty(t, d.state.bridge("br0").StaticMACs)
}

// TestFDBShowPaged: fdb/show answers a page object (entries, total, next)
// and checks its options.
func TestFDBShowPaged(t *testing.T) {
	d := portsecDaemon(t)
	require.True(t, portsecRun(d, "add-br", "br0").OK)
	r := portsecRun(d, "fdb/show", "br0")
	require.True(t, r.OK, "%+v", r.Error)
	require.JSONEq(t, `{"entries":[],"total":0}`, string(r.Result))
	r = portsecRun(d, "fdb/show", "br0", "vlan=10", "mac=02:00:00:00:00:01", "limit=5", "after=10/02:00:00:00:00:00")
	require.True(t, r.OK, "%+v", r.Error)
	r = portsecRun(d, "fdb/show", "br0", "port=p1") // no such port in br0: not "0 entries"
	require.Equal(t, ctl.CodeNotFound, r.Error.Code, "%+v", r.Error)
	for _, bad := range [][]string{
		{"vlan=4095"}, {"vlan=x"}, {"mac=zz"}, {"limit=0"}, {"limit=10001"}, {"after=nope"},
	} {
		r := portsecRun(d, "fdb/show", append([]string{"br0"}, bad...)...)
		require.False(t, r.OK, "%v", bad)
		require.Equal(t, ctl.CodeInvalid, r.Error.Code, "%v: %+v", bad, r.Error)
	}
	r = portsecRun(d, "fdb/show", "br0", "bogus=1")
	require.False(t, r.OK)
	r = portsecRun(d, "fdb/show", "nobr")
	require.Equal(t, ctl.CodeNotFound, r.Error.Code)
}

// TestFDBAddOnSecuredPort: a static MAC on a port with port security must
// be one of the port's bound MACs (the port drops frames from any other
// source, so the entry could only mislead; in the kernel fast path it
// let such frames through); with port_security=off any goes.
func TestFDBAddOnSecuredPort(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "sp", "macs=02:00:00:00:00:0a,02:00:00:00:00:0b")
	m.ok(t, nil, "add-port", "br0", "op", "macs=02:00:00:00:00:0c", "port_security=off")
	m.failsWith(t, ctl.CodeInvalid, "port sp has port security", "fdb/add", "br0", "02:00:00:00:00:55", "sp")
	m.failsWith(t, ctl.CodeInvalid, "bound to port", "fdb/add", "br0", "02:00:00:00:00:0b", "sp")
	m.ok(t, nil, "fdb/add", "br0", "02:00:00:00:00:55", "op")
	require.Len(t, m.d.state.bridge("br0").StaticMACs, 1)
}
