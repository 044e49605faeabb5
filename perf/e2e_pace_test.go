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
	// (It once read the wall clock: 101 were due instead of 100 when
	// more than 10 µs passed between two lines under -race on a loaded
	// machine.)
	p = newPacer(100000, 256, 1)
	require.EqualValues(t, 50, p.run)
	var slept time.Duration
	p.sleep = func(d time.Duration) { slept = d }
	now := time.Now()
	p.now = func() time.Time { return now }
	p.start = now
	require.Zero(t, p.next(1, 256), "nothing due yet")
	require.Equal(t, paceRun, slept)
	p.start = now.Add(-time.Millisecond) // 100 due
	require.Equal(t, 100, p.next(1, 256))
	require.Equal(t, 60, p.next(41, 60), "capped")
	require.Zero(t, p.next(101, 256), "all sent")

	// Far behind: capped at the most a run holds.
	p.start = now.Add(-time.Second)
	require.Equal(t, 256, p.next(1, 256))

	// Low and high rates: runs of at least one frame, at most most.
	require.EqualValues(t, 1, newPacer(10, 256, 0).run)
	require.EqualValues(t, 64, newPacer(10000000, 64, 0).run)
}
