package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNATPathAllocations checks that the nat node allocates nothing:
// masqueraded packets out and back, a port-mapped flow, new flows (each
// vector a new source port, so every packet is a Commit with a port
// allocation) and dropped invalid segments.
func TestNATPathAllocations(t *testing.T) {
	r := newNATRig(t)
	w := r.s.Workers()[0]
	sport := uint16(20000)
	for _, tc := range []struct {
		name, in string
		frame    func() []byte
		out      string
	}{
		{"masquerade out", "a", func() []byte { return udp4(macRA, macA, "10.1.0.2", "10.2.0.2", 40000, 5300) }, "b"},
		{"masquerade back", "b", func() []byte { return udp4(macRB, macB, "10.2.0.2", "10.2.0.1", 5300, 40000) }, "a"},
		{"port map", "b", func() []byte { return udp4(macRB, macB, "10.2.0.2", "10.2.0.1", 1234, 6000) }, "a2"},
		{"new flows", "a", func() []byte { sport++; return udp4(macRA, macA, "10.1.0.2", "10.2.0.2", sport, 5300) }, "b"},
		{"invalid", "a", func() []byte { return tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 41001, 443, "R") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.send(tc.in, tc.frame())
			got := r.recv()
			if tc.out != "" {
				require.Contains(t, got, tc.out)
			} else {
				require.Empty(t, got)
			}
			for _, q := range r.ports {
				q.SetSink(true)
			}
			defer func() {
				for _, q := range r.ports {
					q.SetSink(false)
				}
			}()
			p := r.ports[tc.in]
			// 51 vectors (AllocsPerRun runs once more than asked), built
			// before measuring: the same frame, or for new flows each
			// frame of its own source port.
			batches := make([][][]byte, 51)
			for b := range batches {
				batches[b] = repeatFrame(64, tc.frame())
				if tc.name == "new flows" {
					for i := range batches[b] {
						batches[b][i] = tc.frame()
					}
				}
			}
			run := 0
			newBefore := r.s.NATStats().SNAT
			allocs := testing.AllocsPerRun(50, func() {
				p.Inject(0, batches[run]...)
				run++
				w.Poll()
			})
			require.Zero(t, allocs, "allocations per poll")
			if tc.name == "new flows" {
				require.EqualValues(t, 51*64, r.s.NATStats().SNAT-newBefore, "every packet a new masqueraded flow")
			}
			requireNoLeak(t, r.s)
		})
	}
}
