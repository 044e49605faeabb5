package vhostuser_test

import (
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/vhostuser"
)

func TestParseOptions(t *testing.T) {
	c, err := vhostuser.ParseOptions(map[string]string{"socket": "/run/vs/vm1.sock", "mac": "02:00:00:00:00:01", "queues": "4", "socket_mode": "0660", "mode": "trunk", "other": "x"})
	require.NoError(t, err)
	require.Equal(t, vhostuser.Config{Socket: "/run/vs/vm1.sock", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Queues: 4, SocketMode: 0o660}, c)
	c, err = vhostuser.ParseOptions(map[string]string{"socket": "/run/vs/vm1.sock", "mac": "", "offload": "on"})
	require.NoError(t, err)
	require.Equal(t, vhostuser.Config{Socket: "/run/vs/vm1.sock"}, c)
	c, err = vhostuser.ParseOptions(map[string]string{"socket": "/run/vs/vm1.sock", "offload": "off"})
	require.NoError(t, err)
	require.Equal(t, vhostuser.Config{Socket: "/run/vs/vm1.sock", NoOffload: true}, c)

	for _, o := range []map[string]string{
		{},
		{"socket": "relative.sock"},
		{"socket": "/" + strings.Repeat("a", 107)},
		{"socket": "/s", "mac": "01:00:5e:00:00:01"},
		{"socket": "/s", "mac": "nope"},
		{"socket": "/s", "queues": "0"},
		{"socket": "/s", "queues": "65"},
		{"socket": "/s", "queues": "two"},
		{"socket": "/s", "socket_mode": "0999"},
		{"socket": "/s", "socket_mode": "01777"},
		{"socket": "/s", "offload": "tso"},
	} {
		_, err := vhostuser.ParseOptions(o)
		require.ErrorIs(t, err, vhostuser.ErrInvalid, "%v", o)
	}
	for _, k := range vhostuser.Options {
		require.Contains(t, []string{"socket", "mac", "queues", "socket_mode", "offload"}, k)
	}
}

func TestConfigErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	for _, c := range []vhostuser.Config{
		{Socket: sock},
		{Name: "p"},
		{Name: "p", Socket: "rel.sock"},
		{Name: "p", Socket: sock, Queues: vhostuser.MaxQueues + 1},
		{Name: "p", Socket: sock, BatchSize: 257},
		{Name: "p", Socket: sock, MAC: net.HardwareAddr{1, 2, 3}},
		{Name: "p", Socket: sock, SocketMode: fs.ModeDir | 0o600},
	} {
		_, err := vhostuser.New(c)
		require.ErrorIs(t, err, vhostuser.ErrInvalid, "%+v", c)
	}
}
