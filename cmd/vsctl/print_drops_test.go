package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/afpacket"
)

// TestPrintLimitAndKernelDrops: show's bridge line counts the sources
// the bridge's MAC limit refused (nothing when none), and port/stats
// prints an AF_PACKET port's kernel drops.
func TestPrintLimitAndKernelDrops(t *testing.T) {
	print := func(cmd string, v any) string { return human(t, cmd, v) }
	out := print("show", ctl.ShowView{Bridges: []ctl.BridgeView{{Name: "br0", MACAgeSeconds: 300, MACLimit: 64, MACLimitDrops: 12, FastPath: true}}})
	require.Contains(t, out, "bridge br0 (mac age 300s, limit 64, 12 refused)")
	out = print("show", ctl.ShowView{Bridges: []ctl.BridgeView{{Name: "br0", MACAgeSeconds: 300, MACLimit: 64, FastPath: true}}})
	require.Contains(t, out, "bridge br0 (mac age 300s, limit 64)")

	out = print("port/stats", []ctl.PortStats{{Name: "c1", Driver: afpacket.Stats{RxPackets: 5, RxKernelDrops: 7}}})
	require.Contains(t, out, "rx_kernel_drops 7")
}
