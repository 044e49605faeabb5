package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
)

// TestPortIndexReuseZeroCounters: a port attached at the index of a
// deleted one starts with zero counters (PortCounters and Ports), not the
// deleted port's; the same port detached and attached again at its index
// (set-port mtu=, its interface back) counts on.
func TestPortIndexReuseZeroCounters(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a", "b")
	cfg := func(names ...string) Config {
		var ps []Port
		for _, n := range names {
			ps = append(ps, Port{Name: n})
		}
		return Config{Bridges: []Bridge{{Name: "br0", Ports: ps}}}
	}
	require.NoError(t, r.s.Reconfigure(cfg("a", "b")))
	for range 3 {
		r.send("a", frame(bcast(), macN(1), -1))
	}
	r.recv()
	a, _ := r.s.PortCounters("a")
	require.Equal(t, uint64(3), a.RxPackets)
	b, _ := r.s.PortCounters("b")
	require.Equal(t, uint64(3), b.TxPackets)

	// b goes, c takes its index.
	idxB := portIndex(t, r, "b")
	require.NoError(t, r.s.Reconfigure(cfg("a")))
	require.NoError(t, r.s.RemovePort("b"))
	delete(r.ports, "b")
	r.attach("c")
	require.Equal(t, idxB, portIndex(t, r, "c"), "the test needs c at b's index")
	require.NoError(t, r.s.Reconfigure(cfg("a", "c")))
	c, ok := r.s.PortCounters("c")
	require.True(t, ok)
	require.Equal(t, pipeline.PortCounters{}, c, "a new port's counters start at zero")
	require.Equal(t, pipeline.PortCounters{}, portInfo(t, r.s, "c").Counters)

	r.send("a", frame(bcast(), macN(1), -1))
	r.recv()
	c, _ = r.s.PortCounters("c")
	require.Equal(t, uint64(1), c.TxPackets, "and count the new port's frames")
	require.Equal(t, uint64(1), portInfo(t, r.s, "c").Counters.TxPackets)

	// c detached and attached again under its own name keeps its count.
	require.NoError(t, r.s.RemovePort("c"))
	delete(r.ports, "c")
	r.attach("c")
	require.Equal(t, idxB, portIndex(t, r, "c"))
	require.NoError(t, r.s.Reconfigure(cfg("a", "c")))
	c, _ = r.s.PortCounters("c")
	require.Equal(t, uint64(1), c.TxPackets, "the same port attached again counts on")
}

func portIndex(t *testing.T, r *rig, name string) uint16 {
	t.Helper()
	return portInfo(t, r.s, name).Index
}
