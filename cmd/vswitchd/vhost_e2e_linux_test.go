package main_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVhostUserPortWithVsctl: add-port type=vhostuser serves the socket a
// VMM connects to, reports the driver's counters, and del-port removes it.
// (The data path against a real virtio driver, DPDK's virtio_user, is
// tested in ports/vhostuser.)
func TestVhostUserPortWithVsctl(t *testing.T) {
	d := newDaemon(t)
	sock := filepath.Join(t.TempDir(), "vm1.sock")
	d.must("add-br", "br0")
	_, err := d.vsctl("add-port", "br0", "vm1", "type=vhostuser")
	require.ErrorContains(t, err, "socket")
	d.must("add-port", "br0", "vm1", "type=vhostuser", "socket="+sock, "mac=02:00:00:00:00:42")
	fi, err := os.Stat(sock)
	require.NoError(t, err)
	require.Equal(t, os.ModeSocket, fi.Mode().Type())
	require.Contains(t, d.must("--json", "port/stats", "vm1"), `"Connected":false`)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the default: only root connects")
	d.must("del-port", "vm1")
	_, err = os.Stat(sock)
	require.True(t, os.IsNotExist(err), "socket left behind: %v", err)

	// socket_mode= sets the socket's permissions, and mode= stays the
	// port's VLAN mode (it was taken as both, and 0660 refused).
	d.must("add-port", "br0", "vm2", "type=vhostuser", "socket="+sock, "socket_mode=0660", "mode=trunk", "trunks=10,20")
	fi, err = os.Stat(sock)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o660), fi.Mode().Perm())
	require.Contains(t, d.must("show"), "vm2")
	_, err = d.vsctl("add-port", "br0", "vm3", "type=vhostuser", "socket="+sock+"3", "mode=0660")
	require.ErrorContains(t, err, "access or trunk")
}
