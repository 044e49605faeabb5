package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/tap"
)

// TestPortStatsDriverCounters: port/stats prints each driver's own
// counters (only --json had them, though docs/debugging.md sent readers
// to the text), in snake_case whatever the driver's JSON keys; --json
// keeps the driver's keys.
func TestPortStatsDriverCounters(t *testing.T) {
	ps := []ctl.PortStats{
		{Name: "c1", Counters: ctl.PortCounters{RxPackets: 5}, Driver: tap.Stats{RxPackets: 7, RxNoBuffer: 3, TxLinkDown: 2}},
		{Name: "x1", Driver: afxdp.Stats{FillEmpty: 4, RxFillEmpty: 9, Queues: []afxdp.QueueStats{{Queue: 0, FillTarget: 64, Pool: afxdp.PoolStats{Frames: 4096}}}}},
		{Name: "m1"},
	}
	b, err := json.Marshal(ps)
	require.NoError(t, err)
	require.Contains(t, string(b), `"RxNoBuffer":3`, "the JSON keys stay")
	var w bytes.Buffer
	require.NoError(t, printHuman(&w, "port/stats", b))
	out := w.String()
	for _, s := range []string{
		"c1 driver: rx_packets 7, rx_bytes 0,",
		"rx_no_buffer 3,",
		"tx_link_down 2",
		"x1 driver: tx_ring_full 0, fill_empty 4,",
		"rx_fill_ring_empty 9",
		"  queues[0]: queue 0, fill_target 64, fill_starved 0, rx_fill_ring_empty 0, pool.frames 4096,",
	} {
		require.Contains(t, out, s)
	}
	require.NotContains(t, out, "m1 driver")
	require.NotContains(t, out, "{")
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{"RxNoBuffer": "rx_no_buffer", "RxGSOFrames": "rx_gso_frames", "rx_fill_ring_empty": "rx_fill_ring_empty",
		"TxBadDesc": "tx_bad_desc", "Connected": "connected", "ProtocolFeatures": "protocol_features"} {
		require.Equal(t, want, snakeCase(in), in)
	}
}
