package ctl

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/vswitch"
)

func portsecDaemon(t *testing.T) *Daemon {
	t.Helper()
	d, err := NewDaemon(DaemonConfig{StateDir: t.TempDir(), Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

func portsecRun(d *Daemon, cmd string, args ...string) Response {
	return d.Registry().Dispatch(context.Background(), &Request{V: Version, Cmd: cmd, Args: args})
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
		require.Equal(t, CodeInvalid, r.Error.Code, mac)
		require.Contains(t, r.Error.Message, why, mac)
	}
	require.Empty(t, d.state.bridge("br0").StaticMACs)
}
