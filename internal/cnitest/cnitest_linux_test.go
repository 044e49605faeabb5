//go:build linux

package cnitest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestCnitoolBridgeHostLocal drives the real cnitool with Debian's
// bridge + host-local plugins: ADD into two namespaces, which then ping
// each other, CHECK, DEL of one, GC of the other (no valid attachments:
// libcni DELs every cached attachment of the network), and nothing is
// left: no eth0 in either namespace, no lease in host-local's dataDir, no
// cached result.
func TestCnitoolBridgeHostLocal(t *testing.T) {
	ns1, ns2 := NewNetns(t), NewNetns(t)
	tool := Cnitool(t)
	br := UniqueName("vstcbr")
	NewBridge(t, br) // a fixed MAC: the plugin's CHECK compares it (see NewBridge)
	confDir, dataDir := t.TempDir(), t.TempDir()
	network := UniqueName("vst-cnitool-")
	WriteConflist(t, confDir, network, BridgePlugins(br, RandomSubnet4(), dataDir)...)
	env := map[string]string{
		"NETCONFPATH": confDir,
		"CNI_PATH":    PluginPath(t, "bridge", "host-local"),
	}
	// DEL whatever the test added, even if it fails half-way (DEL of
	// something gone succeeds), so libcni's cache in /var/lib/cni keeps
	// nothing of ours.
	for _, ns := range []*Netns{ns1, ns2} {
		t.Cleanup(func() { RunCnitool(t, tool, "del", network, ns.Path(), env) })
	}

	out1, err := RunCnitool(t, tool, "add", network, ns1.Path(), env)
	require.NoError(t, err)
	out2, err := RunCnitool(t, tool, "add", network, ns2.Path(), env)
	require.NoError(t, err)
	ip1, ip2 := FirstIPv4(out1), FirstIPv4(out2)
	require.NotNil(t, ip1, "%s", out1)
	require.NotNil(t, ip2, "%s", out2)
	require.NotEqual(t, ip1.String(), ip2.String())
	require.Len(t, ns1.Addrs(t, "eth0"), 1)

	require.NoError(t, ns1.Ping(t, ip2.String()))
	require.NoError(t, ns2.Ping(t, ip1.String()))

	_, err = RunCnitool(t, tool, "check", network, ns1.Path(), env)
	require.NoError(t, err)
	_, err = RunCnitool(t, tool, "check", network, ns2.Path(), env)
	require.NoError(t, err)

	_, err = RunCnitool(t, tool, "del", network, ns1.Path(), env)
	require.NoError(t, err)
	require.False(t, ns1.HasLink(t, "eth0"), "DEL left eth0 in %s", ns1.Name)
	require.True(t, ns2.HasLink(t, "eth0"))
	// A second DEL of what is gone succeeds.
	_, err = RunCnitool(t, tool, "del", network, ns1.Path(), env)
	require.NoError(t, err)

	// cnitool's GC passes no valid attachments: ns2's goes.
	_, err = RunCnitool(t, tool, "gc", network, ns2.Path(), env)
	require.NoError(t, err)
	require.False(t, ns2.HasLink(t, "eth0"), "GC left eth0 in %s", ns2.Name)

	leases, err := filepath.Glob(filepath.Join(dataDir, network, "10.*"))
	require.NoError(t, err)
	require.Empty(t, leases, "host-local leases left after DEL and GC")

	// Bad input comes back as an error with cnitool's message.
	_, err = RunCnitool(t, tool, "add", "no-such-network", ns1.Path(), env)
	var ce *CnitoolError
	require.ErrorAs(t, err, &ce)
	require.Contains(t, string(ce.Stderr), "no-such-network")
}
