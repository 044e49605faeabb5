package perf

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/pipeline"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, veth pairs, a Linux bridge, XDP programs and AF_XDP sockets")
	}
}

// ours lists the namespaces and links whose names this package gives.
func ours(t *testing.T) []string {
	t.Helper()
	var names []string
	ents, err := os.ReadDir("/run/netns")
	if err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "vsb-") {
				names = append(names, "netns "+e.Name())
			}
		}
	}
	links, err := netlink.LinkList()
	require.NoError(t, err)
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "vsb") {
			names = append(names, "link "+l.Attrs().Name)
		}
	}
	return names
}

// requireCleanedUp checks that nothing named like ours appeared since
// before (another run of the benchmark may own what was there already).
func requireCleanedUp(t *testing.T, before []string) {
	t.Helper()
	for _, n := range ours(t) {
		require.True(t, slices.Contains(before, n), "left behind: %s", n)
	}
}

// needCommands skips the test unless each of cmds is in PATH; in CI
// (VECSWITCH_CI set), which installs them, it fails instead.
func needCommands(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			if os.Getenv("VECSWITCH_CI") != "" {
				t.Fatalf("%s not installed (.ci/run installs it)", c)
			}
			t.Skipf("%s not installed (.ci/run installs it)", c)
		}
	}
}

// runCleanly runs a suite (RunE2E, RunTCPBench, ...) with cfg and
// requires that it returned no error and left nothing behind.
func runCleanly[C, R any](t *testing.T, run func(context.Context, C) ([]R, error), cfg C) []R {
	t.Helper()
	before := ours(t)
	res, err := run(context.Background(), cfg)
	requireCleanedUp(t, before)
	require.NoError(t, err)
	return res
}

// runE2EPath runs RunE2E on cfg's one path, logging to t, as runCleanly,
// and returns its result.
func runE2EPath(t *testing.T, cfg E2EConfig) E2EResult {
	t.Helper()
	cfg.Log = t.Logf
	res := runCleanly(t, RunE2E, cfg)
	require.Len(t, res, 1)
	return res[0]
}

func e2eTestConfig(path string) E2EConfig {
	ncpu := runtime.NumCPU()
	return E2EConfig{Paths: []string{path}, Duration: time.Second, Warmup: 200 * time.Millisecond,
		CPUSwitch: ncpu - 1, CPUGen: 0, Rate: 20000, UDP: true}
}

// TestE2EPaths runs every path for a second at 20,000 packets/s: frames
// must reach the sink, none may be lost at that rate, the sink may not
// count more than was sent, the switch must have forwarded them, TCP must
// cross Vecswitch (valid checksums), and nothing may be left behind.
func TestE2EPaths(t *testing.T) {
	needRoot(t)
	for _, path := range E2EPaths {
		t.Run(path, func(t *testing.T) {
			cfg := e2eTestConfig(path)
			cfg.TCP = path == PathVecswitch || path == PathFastPath || path == PathAFPacket
			r := runE2EPath(t, cfg)
			if r.Skipped {
				t.Skipf("%s cannot run on this kernel: %s", path, r.Err)
			}
			require.Empty(t, r.Err)
			u := r.UDP
			require.NotNil(t, u)
			require.Equal(t, GenAFXDP, u.Generator)
			require.NotZero(t, u.Received, "nothing reached the sink")
			require.LessOrEqual(t, u.TotalReceived, u.TotalGenerated)
			minShare := 0.99
			switch path {
			case PathAsavie:
				// The third-party baseline is known to lose frames (one
				// sendto per batch, a linear free-frame search: see
				// ports/internal/xsk); on a loaded machine it loses some
				// even at this rate. It only has to work.
				minShare = 0.5
			case PathXSK:
				// The bare cross-connect baseline keeps one fixed fill
				// ring and no pacing of its own: with both CPUs busy (a
				// fuzzer beside a CI run) it lost 10 % here once. It is
				// a yardstick, not the product: it only has to work.
				minShare = 0.5
			}
			if raceEnabled {
				// The measurement window only: see raceEnabled. (A backlog
				// from the warm-up may make Received exceed Generated.)
				require.GreaterOrEqual(t, float64(u.Received), minShare*float64(u.Generated),
					"lost frames at a low rate (window): %+v", u)
			} else {
				require.GreaterOrEqual(t, float64(u.TotalReceived), minShare*float64(u.TotalGenerated),
					"lost frames at a low rate: %+v", u)
			}
			// The pacer's bound, whatever the load: at most its rate
			// over the window, plus the backlog it catches up (a few
			// runs). A starved generator sends less, which is no defect
			// of the paths, so the floor is only there to catch a pacer
			// that under-sends by far (a unit wrong): a quarter.
			require.LessOrEqual(t, u.GenPPS, 20000*1.1, "generator rate")
			require.GreaterOrEqual(t, u.GenPPS, 20000*0.25, "generator rate")
			if path == PathVecswitch || path == PathFastPath || path == PathAFPacket {
				require.GreaterOrEqual(t, forwardedBy(&r, vsRcvPort), u.TotalReceived, "switch counters: %+v", r.Switch)
				require.NotNil(t, r.TCP)
				require.Greater(t, r.TCP.Gbps, 0.0)
			}
			if path == PathFastPath {
				// After the first frames (learning the sender), the
				// kernel switches them all.
				var fast uint64
				for _, p := range r.Switch.Ports {
					if p.Name == vsRcvPort && p.FastPath != nil {
						fast = p.FastPath.TxPackets
					}
				}
				require.GreaterOrEqual(t, float64(fast), 0.9*float64(u.TotalReceived), "fast path counters: %+v", r.Switch.Ports)
			}
		})
	}
}

// TestE2ELoopAllocations drives the per-packet loops (generator send, both
// cross-connect steps) on the test goroutine under traffic and checks they
// allocate nothing.
func TestE2ELoopAllocations(t *testing.T) {
	needRoot(t)
	topo := newTestTopo(t)
	frame := udpFrame(topo.rcv.mac, topo.snd.mac, sndIP, rcvIP, genUDPPort, sinkUDPPort)

	// The generator's send, on a host end (frames go to the namespace,
	// which ignores them).
	t.Run("generator", func(t *testing.T) {
		g, err := openGenTx(topo.rcv.host, frame)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, g.close()) })
		sent := 0
		require.Zero(t, testing.AllocsPerRun(500, func() {
			n, err := g.send(64)
			if err != nil {
				panic(err)
			}
			sent += n
		}))
		require.Positive(t, sent)
		require.NoError(t, g.drain(genDrain))
	})

	steps := map[string]func(t *testing.T) (step func(*pump) error, closer func() error){
		PathXSK: func(t *testing.T) (func(*pump) error, func() error) {
			x, err := openXSK(topo)
			require.NoError(t, err)
			ids := make([]pipeline.BufID, pipeline.VectorSize)
			return func(p *pump) error { return x.step(p, ids) }, x.close
		},
		PathAsavie: func(t *testing.T) (func(*pump) error, func() error) {
			x, err := openAsavie(topo)
			if errors.Is(err, ErrAsavieBind) {
				t.Skipf("asavie/xdp cannot bind on this kernel: %v", err)
			}
			require.NoError(t, err)
			return x.step, x.close
		},
	}
	for _, path := range []string{PathXSK, PathAsavie} {
		t.Run(path, func(t *testing.T) {
			step, closer := steps[path](t)
			t.Cleanup(func() { require.NoError(t, closer()) })
			gen, err := startGenerator(topo.snd.ns, frame, 0, 50000)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, gen.stop()) })
			p := &pump{}
			require.NoError(t, step(p))       // posts the fill ring
			time.Sleep(50 * time.Millisecond) // frames wait on the rx ring
			require.Zero(t, testing.AllocsPerRun(2000, func() {
				if err := step(p); err != nil {
					panic(err)
				}
			}))
			require.Positive(t, p.fwd[0].Load(), "the step forwarded nothing")
		})
	}
}
