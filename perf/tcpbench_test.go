package perf

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTCPBenchConfig(t *testing.T) {
	var c TCPBenchConfig
	require.NoError(t, c.normalize(2))
	require.Equal(t, TCPPaths, c.Paths)
	require.Equal(t, []int{1, 4}, c.Streams)
	require.Equal(t, 10*time.Second, c.Duration)
	for _, bad := range []TCPBenchConfig{
		{Paths: []string{"nope"}},
		{Paths: []string{PathAsavie}},
		{Streams: []int{0}},
		{Streams: []int{129}},
		{Duration: time.Millisecond},
		{CPUSwitch: 2},
		{CPUGen: -1},
	} {
		require.Error(t, bad.normalize(2), "%+v", bad)
	}
}
