package daemon

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// pcapSources reads a pcapng capture and returns each frame's source MAC.
func pcapSources(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	require.NoError(t, err)
	var out []string
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, net.HardwareAddr(data[6:12]).String())
	}
}

// TestCaptureAndTraceEndWithTheirPort: del-port ends a capture and a
// trace of the port. Both once kept the port's index, so the port added
// next (which takes the index) was traced and captured in its place: its
// frames in the first port's file, under the first port's name. Now the
// capture's file is closed, capture/show says why it ended, the trace
// keeps what it recorded, and a new capture may start at once.
func TestCaptureAndTraceEndWithTheirPort(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p3", "type=tap")
	m.ok(t, nil, "add-port", "br0", "p4", "type=tap")
	m.ok(t, nil, "trace/add", "p3", "5")
	m.ok(t, nil, "capture/start", "p3", "file=del.pcapng")
	var cv ctl.CaptureView
	require.Eventually(t, func() bool {
		m.port("p3").Inject(0, frame(0x33))
		m.ok(t, &cv, "capture/show")
		return cv.Packets > 0
	}, 10*time.Second, 10*time.Millisecond)

	m.ok(t, nil, "del-port", "p3")
	m.ok(t, &cv, "capture/show")
	require.False(t, cv.Running)
	require.Equal(t, "port p3 removed", cv.Done)
	written := cv.Packets

	m.ok(t, nil, "add-port", "br0", "p5", "type=tap")
	m.port("p4").CollectAll()
	require.Eventually(t, func() bool {
		m.port("p5").Inject(0, frame(0x55))
		return len(m.port("p4").CollectAll()) > 0
	}, 10*time.Second, 10*time.Millisecond)
	time.Sleep(3 * captureTick) // a capture still running would drain p5's frames now

	m.ok(t, &cv, "capture/show")
	require.Equal(t, written, cv.Packets, "nothing written after the port's removal")
	srcs := pcapSources(t, cv.File) // readable to the end: closed complete
	require.Len(t, srcs, written)
	for _, s := range srcs {
		require.Equal(t, "02:00:00:00:00:33", s)
	}
	var traces []ctl.TraceView
	m.ok(t, &traces, "trace/show")
	require.NotEmpty(t, traces, "the records stay")
	for _, tr := range traces {
		require.Equal(t, "p3", tr.InPort)
		require.NotContains(t, tr.Headers, "02:00:00:00:00:55")
	}

	// The ended capture does not block the next; capture/stop of it
	// reports how it ended.
	m.ok(t, nil, "capture/start", "p5", "file=new.pcapng")
	cv = ctl.CaptureView{}
	m.ok(t, &cv, "capture/show")
	require.True(t, cv.Running)
	require.Equal(t, "p5", cv.Port)
	m.ok(t, &cv, "capture/stop")
}

// TestFinishedCaptureDoesNotBlock: a capture that reached max= is done,
// its file closed; capture/start then starts a new one (it was refused,
// "a capture of p1 runs: capture/stop first").
func TestFinishedCaptureDoesNotBlock(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p1", "type=tap")
	m.ok(t, nil, "add-port", "br0", "p2", "type=tap")
	m.ok(t, nil, "capture/start", "p1", "rx", "file=one.pcapng", "max=2")
	var cv ctl.CaptureView
	require.Eventually(t, func() bool {
		m.port("p1").Inject(0, frame(0x21))
		m.ok(t, &cv, "capture/show")
		return cv.Done != ""
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "packet count reached", cv.Done)
	require.False(t, cv.Running)
	require.Len(t, pcapSources(t, cv.File), 2)

	m.ok(t, nil, "capture/start", "p2", "file=two.pcapng")
	cv = ctl.CaptureView{}
	m.ok(t, &cv, "capture/show")
	require.True(t, cv.Running)
	require.Equal(t, "p2", cv.Port)
	m.fails(t, ctl.CodeExists, "capture/start", "p1", "file=three.pcapng")
	var stopped ctl.CaptureView
	m.ok(t, &stopped, "capture/stop")
	require.Equal(t, "p2", stopped.Port)
	require.Empty(t, stopped.Done)
	m.fails(t, ctl.CodeNotFound, "capture/stop")
}

// TestObserveOptionErrors: an unknown option is a usage error for
// trace/add as for capture/start (trace/add called it invalid, vsctl
// exit 1 instead of 2); a bad filter value is invalid for both.
func TestObserveOptionErrors(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p1", "type=tap")
	m.fails(t, ctl.CodeUsage, "trace/add", "p1", "5", "colour=red")
	m.fails(t, ctl.CodeUsage, "capture/start", "p1", "colour=red")
	m.fails(t, ctl.CodeInvalid, "trace/add", "p1", "5", "proto=sctpx")
	m.fails(t, ctl.CodeInvalid, "capture/start", "p1", "proto=sctpx")
	m.fails(t, ctl.CodeInvalid, "capture/start", "p1", "snaplen=65536")
	m.ok(t, nil, "capture/start", "p1", "snaplen=65535", "file=big.pcapng")
	m.ok(t, nil, "capture/stop")
}
