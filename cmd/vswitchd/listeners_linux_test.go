package main

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProcIP: /proc/net/tcp's addresses, each 32-bit word in the host's
// byte order (little-endian on the machines vswitchd runs on).
func TestProcIP(t *testing.T) {
	require.Equal(t, "127.0.0.1", procIP("0100007F").String())
	require.Equal(t, "0.0.0.0", procIP("00000000").String())
	require.Equal(t, "::1", procIP("00000000000000000000000001000000").String())
	require.Equal(t, "::", procIP("00000000000000000000000000000000").String())
	require.Nil(t, procIP("7F"))
	require.Nil(t, procIP("zz00007F"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	inodes := tcpListeners(ln.Addr().(*net.TCPAddr))
	require.Len(t, inodes, 1, "this test's own listener")
	require.True(t, heldOnlyBy(os.Getpid(), inodes))
	require.False(t, heldOnlyBy(1, inodes))
	require.False(t, heldOnlyBy(os.Getpid(), nil))
}
