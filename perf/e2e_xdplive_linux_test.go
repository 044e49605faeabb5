package perf

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestE2EXDPLive runs the Linux bridge and Vecswitch with the xdp-live
// generator for a second at 50,000 packets/s: frames must reach the sink
// (at least 90 % of those sent over the run), the sink may not count more
// than was sent, the CPU shares must be shares, and nothing may be left
// behind. It is skipped where the kernel refuses live-frame mode.
func TestE2EXDPLive(t *testing.T) {
	needRoot(t)
	for _, path := range []string{PathBridge, PathVecswitch, PathFastPath} {
		t.Run(path, func(t *testing.T) {
			cfg := e2eTestConfig(path)
			cfg.Generator, cfg.Rate = GenXDPLive, 50000
			r := runE2EPath(t, cfg)
			if r.Skipped && strings.Contains(r.Err, ErrXDPLiveRefused.Error()) {
				t.Skipf("no live-frame mode on this kernel: %s", r.Err)
			}
			require.Empty(t, r.Err)
			u := r.UDP
			require.NotNil(t, u)
			require.Equal(t, GenXDPLive, u.Generator)
			require.NotZero(t, u.Received, "nothing reached the sink: %+v", u)
			require.LessOrEqual(t, u.TotalReceived, u.TotalGenerated)
			require.GreaterOrEqual(t, float64(u.TotalReceived), 0.9*float64(u.TotalGenerated), "lost frames at a low rate: %+v", u)
			for _, v := range []float64{u.SwitchCPUBusy, u.SwitchCPUSoftIRQ, u.SwitchCPUSteal, u.GenCPUBusy, u.GenCPUSoftIRQ, u.GenCPUSteal} {
				require.True(t, v >= 0 && v <= 1, "CPU share %v: %+v", v, u)
			}
			require.LessOrEqual(t, u.GenCPUSoftIRQ+u.GenCPUSteal, u.GenCPUBusy+1e-9)
		})
	}
}

// TestGROOn: groOn switches GRO on on both host ends and puts back what
// was there.
func TestGROOn(t *testing.T) {
	needRoot(t)
	topo := newTestTopo(t)
	// The sender's host end starts with GRO on, the receiver's off.
	require.NoError(t, netdev.SetGROAt("", topo.snd.host, true))
	require.NoError(t, netdev.SetGROAt("", topo.rcv.host, false))
	restore, err := groOn(topo)
	require.NoError(t, err)
	for _, e := range []*endpoint{&topo.snd, &topo.rcv} {
		on, err := netdev.GROAt("", e.host)
		require.NoError(t, err)
		require.True(t, on, e.host)
	}
	require.NoError(t, restore())
	for e, want := range map[*endpoint]bool{&topo.snd: true, &topo.rcv: false} {
		on, err := netdev.GROAt("", e.host)
		require.NoError(t, err)
		require.Equal(t, want, on, e.host)
	}
}
