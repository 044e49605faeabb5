package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

func TestBGPLayout(t *testing.T) {
	print := func(v ctl.BGPShowView) string { return human(t, "bgp/show", v) }
	require.Contains(t, print(ctl.BGPShowView{}), "not configured")
	out := print(ctl.BGPShowView{Configured: true, Running: true, AS: 65000, RouterID: "10.0.0.1", ListenPort: 179, GracefulRestart: true,
		Learned: 3, Installed: 2,
		Neighbors: []ctl.BGPNeighborView{{Addr: "10.0.0.2", AS: 65100, State: "established", Uptime: 65, Received: 3, Accepted: 3, Sent: 1},
			{Addr: "fd00::2", AS: 65100, VRF: "blue", State: "idle", PrefixLimitHit: true}},
		Announced: []ctl.BGPAnnouncedView{{Prefix: "10.244.3.0/26"}, {Prefix: "fd00:244::/64", VRF: "blue"}}})
	for _, s := range []string{"AS 65000, router id 10.0.0.1, running", "port 179", "on, 120s", "3 (2 in the FIB)",
		"10.0.0.2", "established", "1m5s", "blue", "max-prefixes hit", "10.244.3.0/26\n", "fd00:244::/64 vrf blue"} {
		require.Contains(t, out, s)
	}
}
