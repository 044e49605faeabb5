package vswitch

import (
	"net"

	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
)

// portIndexOf is the index the switch gave an attached port.
func portIndexOf(t *testing.T, s *Switch, name string) uint16 {
	t.Helper()
	for _, p := range s.Ports() {
		if p.Name == name {
			return p.Index
		}
	}
	t.Fatalf("port %s not attached", name)
	return 0
}

// TestObservationEndsWithItsPort: removing a port ends a trace and a
// capture of it. They once kept its index, so the next port to take the
// index was traced and captured under the removed port's name (another
// container's traffic in a capture file of the first). The trace keeps
// its records, named after the removed port; the capture keeps what it
// copied before for the last drain, and CaptureEnded says why it ended.
func TestObservationEndsWithItsPort(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	require.NoError(t, r.s.TraceAdd("b2", 5, nil))
	require.NoError(t, r.s.CaptureStart(CaptureConfig{Port: "b2"}))
	require.Empty(t, r.s.CaptureEnded())
	idx := portIndexOf(t, r.s, "b2")
	r.send("b2", frame(macB, "02:00:00:00:0b:02", -1))
	r.recv()

	require.NoError(t, r.s.RemovePort("b2"))
	require.Equal(t, "port b2 removed", r.s.CaptureEnded())
	r.attach("p5")
	cfg := testL3Config()
	cfg.Bridges[1].Ports = []Port{{Name: "b"}, {Name: "p5"}}
	require.NoError(t, r.s.Reconfigure(cfg))
	require.Equal(t, idx, portIndexOf(t, r.s, "p5"), "the new port takes the removed one's index")
	r.send("p5", frame(macB, "02:00:00:00:00:05", -1))
	r.send("p5", frame(macB, "02:00:00:00:00:05", -1))
	r.recv()

	trs := r.s.Traces()
	require.Len(t, trs, 1, "only b2's packet is traced")
	require.Equal(t, "b2", trs[0].InPort)
	var got []string
	r.s.CaptureDrain(func(p *pipeline.CapturedPacket) {
		got = append(got, net.HardwareAddr(p.Data[6:12]).String())
	})
	require.Equal(t, []string{"02:00:00:00:0b:02"}, got, "only b2's frame is captured")
	r.send("p5", frame(macB, "02:00:00:00:00:05", -1))
	n := 0
	r.s.CaptureDrain(func(*pipeline.CapturedPacket) { n++ })
	require.Zero(t, n)

	// A new capture and trace of the new port work, and clear the end.
	require.NoError(t, r.s.CaptureStart(CaptureConfig{Port: "p5"}))
	require.Empty(t, r.s.CaptureEnded())
	require.NoError(t, r.s.TraceAdd("p5", 1, nil))
	r.send("p5", frame(macB, "02:00:00:00:00:05", -1))
	trs = r.s.Traces()
	require.Len(t, trs, 1)
	require.Equal(t, "p5", trs[0].InPort)
	n = 0
	r.s.CaptureDrain(func(*pipeline.CapturedPacket) { n++ })
	require.Equal(t, 1, n)
	r.s.CaptureStop()
	r.s.TraceClear()
	requireNoLeak(t, r.s)
}
