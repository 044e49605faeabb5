package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func repeatFrame(n int, f []byte) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// TestL2PathAllocations checks that a worker's poll allocates nothing on
// the L2 paths: known unicast, flooding (with clones), VLAN tag push and
// pop, drops. The frames are built and the outputs set to discard before
// measuring; each path is first run once with real outputs and checked.
func TestL2PathAllocations(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c", "t")
	r.reconf(oneBridge(acc("a", 10), acc("b", 10), acc("c", 10), trunk("t", 0, 10)))
	r.send("a", frame(bcast(), macN(1), -1), frame(bcast(), macN(5), -1))
	r.send("b", frame(bcast(), macN(2), -1))
	r.send("c", frame(bcast(), macN(3), -1))
	r.send("t", frame(bcast(), macN(4), 10))
	r.recv()
	w := r.s.Workers()[0]

	for _, tc := range []struct {
		name   string
		in     string
		frames [][]byte
		want   map[string]int // receiving port -> VID it sees, -1 untagged
		flood  bool           // every frame goes to every port in want
		drop   string         // node/reason every frame is dropped for
	}{
		{name: "known unicast", in: "a", frames: repeatFrame(32, frame(macN(2), macN(1), -1)), want: map[string]int{"b": -1}},
		{name: "known unicast full vector", in: "b", frames: repeatFrame(256, frame(macN(3), macN(2), -1)), want: map[string]int{"c": -1}},
		{name: "mixed unicast", in: "c", frames: [][]byte{
			frame(macN(1), macN(3), -1), frame(macN(2), macN(3), -1), frame(macN(4), macN(3), -1), frame(macN(1), macN(3), -1),
		}, want: map[string]int{"a": -1, "b": -1, "t": 10}},
		{name: "broadcast flood", in: "a", frames: repeatFrame(32, frame(bcast(), macN(1), -1)), want: map[string]int{"b": -1, "c": -1, "t": 10}, flood: true},
		{name: "unknown unicast flood", in: "t", frames: repeatFrame(32, frame(macN(99), macN(4), 10)), want: map[string]int{"a": -1, "b": -1, "c": -1}, flood: true},
		{name: "vlan push", in: "a", frames: repeatFrame(32, frame(macN(4), macN(1), -1)), want: map[string]int{"t": 10}},
		{name: "vlan pop", in: "t", frames: repeatFrame(32, frame(macN(1), macN(4), 10)), want: map[string]int{"a": -1}},
		{name: "dst on ingress port", in: "a", frames: repeatFrame(8, frame(macN(5), macN(1), -1)), drop: nodeL2Fwd + "/dst-on-ingress-port"},
		{name: "src is dst", in: "a", frames: repeatFrame(8, frame(macN(2), macN(2), -1)), drop: nodeL2Input + "/src-mac-is-dst"},
		{name: "src zero", in: "a", frames: repeatFrame(8, frame(macN(2), "00:00:00:00:00:00", -1)), drop: nodeL2Input + "/src-mac-zero"},
		{name: "vlan not allowed", in: "t", frames: repeatFrame(8, frame(macN(1), macN(4), 30)), drop: nodeL2Input + "/vlan-not-allowed"},
		{name: "runt", in: "a", frames: repeatFrame(8, frame(macN(2), macN(1), -1)[:10]), drop: nodeL2Input + "/runt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := r.ports[tc.in]
			before := allDrops(r.s)
			require.Equal(t, len(tc.frames), p.Inject(0, tc.frames...))
			w.Poll()
			got := r.recv()
			if tc.drop != "" {
				require.Empty(t, got)
				require.Equal(t, map[string]uint64{tc.drop: uint64(len(tc.frames))}, dropsSince(r.s, before))
			} else {
				require.Empty(t, dropsSince(r.s, before))
				require.Equal(t, keys(tc.want), keys(got))
				n := 0
				for port, fs := range got {
					n += len(fs)
					for _, f := range fs {
						require.Equal(t, tc.want[port], decode(t, f).vlan, "port %s", port)
					}
				}
				if tc.flood {
					require.Equal(t, len(tc.frames)*len(tc.want), n)
				} else {
					require.Equal(t, len(tc.frames), n)
				}
			}
			require.Zero(t, r.s.lrn.rings[0].tail.Load()-r.s.lrn.rings[0].head.Load(), "no learn event expected")

			for _, q := range r.ports {
				q.SetSink(true)
			}
			defer func() {
				for _, q := range r.ports {
					q.SetSink(false)
				}
			}()
			sunk := func() (n uint64) {
				for _, q := range r.ports {
					n += q.Sunk()
				}
				return n
			}
			s0 := sunk()
			frames := tc.frames
			allocs := testing.AllocsPerRun(100, func() {
				p.Inject(0, frames...)
				w.Poll()
			})
			require.Zero(t, allocs, "allocations per poll")
			require.Zero(t, p.Pending())
			if tc.drop == "" {
				require.Positive(t, sunk()-s0)
			}
			requireNoLeak(t, r.s)
		})
	}
}

// TestL2LearnPathAllocations checks that a frame from an unknown source,
// which makes the worker push a learn event, allocates nothing in the
// worker. Draining the events (SyncLearning) is the control plane's work
// and may allocate when the table grows; it is left out of the measure.
func TestL2LearnPathAllocations(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0)))
	const perRun, runs = 8, 101 // AllocsPerRun runs once more than asked
	frames := make([][]byte, perRun*runs)
	for i := range frames {
		frames[i] = frame(macN(2), macN(1000+i), -1)
	}
	r.send("b", frame(bcast(), macN(2), -1))
	r.recv()
	r.ports["b"].SetSink(true)
	p, w, ring := r.ports["a"], r.s.Workers()[0], r.s.lrn.rings[0]
	tail0 := ring.tail.Load()
	next := 0
	allocs := testing.AllocsPerRun(runs-1, func() {
		p.Inject(0, frames[next:next+perRun]...)
		next += perRun
		w.Poll()
	})
	require.Zero(t, allocs, "allocations per poll")
	require.Equal(t, len(frames), next)
	require.EqualValues(t, len(frames), ring.tail.Load()-tail0, "one learn event per new source")
	require.Zero(t, ring.drops.get())
	require.EqualValues(t, len(frames), r.ports["b"].Sunk())

	r.s.SyncLearning()
	for i := range frames {
		r.requireFDB(0, macN(1000+i), "a", false)
	}
	requireNoLeak(t, r.s)
}
