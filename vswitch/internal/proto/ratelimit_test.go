package proto

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// allowed counts how many of n calls at time now are allowed.
func allowed(l *Limiter, now int64, n int) int {
	c := 0
	for range n {
		if l.Allow(now) {
			c++
		}
	}
	return c
}

func TestLimiterDefaults(t *testing.T) {
	var l Limiter
	now := int64(1e12)
	require.Equal(t, DefaultBurst, allowed(&l, now, 1000), "a full burst at first")
	require.Equal(t, 0, allowed(&l, now, 10))
	now += 1e6 // 1ms at 1000/s: one token
	require.Equal(t, 1, allowed(&l, now, 10))
	now += 5e5
	require.Equal(t, 0, allowed(&l, now, 10), "half a token")
	now += 5e5
	require.Equal(t, 1, allowed(&l, now, 10), "halves add up")

	// Over a second of steady demand the rate holds.
	got := 0
	for range 1000 {
		now += 1e6
		got += allowed(&l, now, 5)
	}
	require.Equal(t, DefaultRate, got)

	// A long quiet period refills only the burst.
	now += 3600e9
	require.Equal(t, DefaultBurst, allowed(&l, now, 1000))
}

func TestLimiterConfigured(t *testing.T) {
	l := NewLimiter(10, 3)
	now := int64(5e9)
	require.Equal(t, 3, allowed(&l, now, 100))
	require.Equal(t, 1, allowed(&l, now+1e8, 100))
	require.Equal(t, 0, allowed(&l, now+1e8+9e7, 100))

	// The clock going backwards refills nothing and breaks nothing.
	require.Equal(t, 0, allowed(&l, now-1e9, 100))
	require.Equal(t, 1, allowed(&l, now+2e8, 100))

	l = NewLimiter(0, 0)
	require.Equal(t, DefaultBurst, allowed(&l, 1e12, 1000), "<= 0 takes the defaults")
	l = NewLimiter(2e9, 1<<30)
	require.Equal(t, int64(1), l.cost, "rate clamped")
	require.Equal(t, int64(maxBurst), l.max, "burst clamped")
}
