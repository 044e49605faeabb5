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

	// Far behind (a second's 100,000 frames due): it catches up
	// paceBacklog runs (200 frames), in calls of at most most, and
	// forgives the rest; then it runs at its rate again.
	p.start = now.Add(-time.Second)
	require.Equal(t, 150, p.next(51, 150))
	require.Equal(t, 50, p.next(201, 256))
	require.Zero(t, p.next(251, 256), "caught up: the rest forgiven")
	now = now.Add(time.Millisecond) // 100 more due (99 and a fraction: float seconds)
	n := p.next(251, 256)
	require.InDelta(t, 100, n, 1)
	require.Zero(t, p.next(251+uint64(n), 256))

	// Low and high rates: runs of at least one frame, at most most.
	require.EqualValues(t, 1, newPacer(10, 256, 0).run)
	require.EqualValues(t, 64, newPacer(10000000, 64, 0).run)
}
