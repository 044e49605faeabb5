package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/vswitch"
)

// TestRIFMACsDifferAcrossHostsAndPersist: two daemons (two hosts) that
// make a router interface of the same name get different MACs, and a
// restart keeps each host's.
func TestRIFMACsDifferAcrossHostsAndPersist(t *testing.T) {
	mac := func(d *Daemon) string {
		for _, ifc := range d.sw.Config().Interfaces {
			if ifc.Name == "up" {
				return ifc.MAC
			}
		}
		t.Fatal("no interface up")
		return ""
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	var macs []string
	for _, dir := range []string{dirA, dirB} {
		d, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
		require.NoError(t, err)
		require.True(t, run(t, d, "add-br", "under").OK)
		r := run(t, d, "rif/add", "up", "bridge=under", "addr=192.168.88.1/24")
		require.True(t, r.OK, "%+v", r.Error)
		macs = append(macs, mac(d))
		require.NoError(t, d.Close())
	}
	require.NotEqual(t, macs[0], macs[1], "two hosts' router interfaces named alike share a MAC")

	d, err := New(Config{StateDir: dirA, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	defer d.Close()
	require.Equal(t, macs[0], mac(d), "the MAC changed across a restart")
}
