package perf

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestE2EConfigGenerator: the generator defaults to afxdp and must be one
// of E2EGenerators.
func TestE2EConfigGenerator(t *testing.T) {
	c := E2EConfig{CPUSwitch: 1}
	require.NoError(t, c.normalize(2))
	require.Equal(t, GenAFXDP, c.Generator)
	c = E2EConfig{Generator: GenXDPLive, CPUSwitch: 1}
	require.NoError(t, c.normalize(2))
	c = E2EConfig{Generator: "pktgen", CPUSwitch: 1}
	require.ErrorContains(t, c.normalize(2), "unknown generator")
}
