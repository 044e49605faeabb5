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
	d.must("del-port", "vm1")
	_, err = os.Stat(sock)
	require.True(t, os.IsNotExist(err), "socket left behind: %v", err)
}
