package main

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/sriov"
)

// TestSRIOVLayout: sriov/show and sriov/move print tables and sentences,
// not the JSON they arrive as (Go field names, a MAC as base64).
func TestSRIOVLayout(t *testing.T) {
	print := func(cmd string, v any) string { return human(t, cmd, v) }
	mac, _ := net.ParseMAC("02:00:00:00:0a:01")
	out := print("sriov/show", []sriov.VF{
		{Index: 0, PCI: "0000:03:00.1", Netdev: "ens1f0v0", Netlink: true, MAC: mac, VLAN: 10, QoS: 2, SpoofCheck: true,
			LinkState: sriov.StateAuto, MaxTxRate: 1000},
		{Index: 1, PCI: "0000:03:00.2"},
	})
	for _, s := range []string{"VF", "0000:03:00.1", "ens1f0v0", "02:00:00:00:0a:01", "10 qos 2", "on", "0-1000",
		"0000:03:00.2", "reports no VF settings"} {
		require.Contains(t, out, s)
	}
	require.Equal(t, "no VFs\n", print("sriov/show", []sriov.VF{}))
	require.Equal(t, "VF 2 of ens1f0 is eth0 in /run/netns/c1 (sriov/restore ens1f0 2 brings it back)\n",
		print("sriov/move", map[string]any{"pf": "ens1f0", "vf": 2, "netns": "/run/netns/c1", "name": "eth0"}))
}
