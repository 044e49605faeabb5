package perf

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPacer(t *testing.T) {
	// No pacing: always as many as asked.
	p := newPacer(0, 256, 0)
	require.Equal(t, 256, p.next(1e9, 256))

	// 100,000 frames/s: runs of 50 (half a millisecond). The clock is
	// moved by hand.
	p = newPacer(100000, 256, 1)
	require.EqualValues(t, 50, p.run)
	var slept time.Duration
	p.sleep = func(d time.Duration) { slept = d }
	p.start = time.Now()
	require.Zero(t, p.next(1, 256), "nothing due yet")
	require.InDelta(t, paceRun, slept, float64(50*time.Microsecond))
	p.start = time.Now().Add(-time.Millisecond) // 100 due
	require.Equal(t, 100, p.next(1, 256))
	require.Equal(t, 60, p.next(41, 60), "capped")
	require.Zero(t, p.next(101, 256), "all sent")

	// Far behind: capped at the most a run holds.
	p.start = time.Now().Add(-time.Second)
	require.Equal(t, 256, p.next(1, 256))

	// Low and high rates: runs of at least one frame, at most most.
	require.EqualValues(t, 1, newPacer(10, 256, 0).run)
	require.EqualValues(t, 64, newPacer(10000000, 64, 0).run)
}
