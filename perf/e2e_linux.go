package perf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// ErrNeedRoot is returned by RunE2E when not run as root.
var ErrNeedRoot = errors.New("perf: the end-to-end benchmark needs root (namespaces, veth, XDP, AF_XDP)")

// ErrNoIperf3 is recorded when TCP was asked for and iperf3 is missing.
var ErrNoIperf3 = errors.New("perf: iperf3 not found in PATH")

// RunE2E measures each configured path on a topology of its own, made and
// removed within the call (also when ctx is cancelled: it returns once
// everything is cleaned up). A path that fails records its error in its
// result and the run goes on; the returned error is ctx's or a bad
// configuration.
func RunE2E(ctx context.Context, cfg E2EConfig) ([]E2EResult, error) {
	return runPaths(ctx, &cfg, func(p string) []E2EResult {
		r := runPath(ctx, &cfg, p)
		if r.Err != "" {
			cfg.Log("%s: %s", p, r.Err)
		}
		return []E2EResult{r}
	})
}

// needs: nothing before the run; without iperf3 the TCP measurements
// record ErrNoIperf3 (measureTCP).
func (c *E2EConfig) needs() []command { return nil }

func (c *E2EConfig) plan() ([]string, func(string, ...any)) { return c.Paths, c.Log }

func newRunID() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func runPath(ctx context.Context, cfg *E2EConfig, path string) (res E2EResult) {
	res.Path = path
	var errs []error
	defer func() {
		if err := errors.Join(errs...); err != nil {
			res.Err = err.Error()
		}
	}()
	t, err := newTopo(newRunID())
	if err != nil {
		errs = append(errs, err)
		return res
	}
	defer func() { errs = append(errs, t.close()) }()
	r, err := startPath(t, path, cfg.CPUSwitch)
	if err != nil {
		res.Skipped = errors.Is(err, ErrAsavieBind)
		errs = append(errs, err)
		return res
	}
	defer func() {
		r.report(&res)
		errs = append(errs, r.close())
	}()
	if cfg.UDP {
		if res.UDP, err = measureUDP(ctx, cfg, t, r, &res); err != nil {
			res.Skipped = errors.Is(err, ErrXDPLiveRefused)
			errs = append(errs, err)
			return res
		}
		cfg.Log("%s: %.3f Mpps received of %.3f Mpps generated (%s); CPU %d %.0f%% busy, CPU %d %.0f%% busy",
			path, res.UDP.RxPPS/1e6, res.UDP.GenPPS/1e6, cfg.Generator,
			cfg.CPUSwitch, 100*res.UDP.SwitchCPUBusy, cfg.CPUGen, 100*res.UDP.GenCPUBusy)
	}
	if cfg.TCP && (path == PathBridge || path == PathVecswitch || path == PathFastPath || path == PathAFPacket) {
		errs = append(errs, measureTCP(ctx, cfg, t, path, &res))
	}
	return res
}

// measureUDP runs the generator into the sink: warm-up, then the window,
// then a short drain for the totals.
func measureUDP(ctx context.Context, cfg *E2EConfig, t *topo, r *rig, res *E2EResult) (u *UDPResult, err error) {
	sk, err := newSink(t.rcv.ns, t.rcv.inIx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, sk.close()) }()
	frame := udpFrame(t.rcv.mac, t.snd.mac, sndIP, rcvIP, genUDPPort, sinkUDPPort)
	if cfg.Generator == GenXDPLive {
		restore, gerr := groOn(t)
		if gerr != nil {
			return nil, gerr
		}
		defer func() { err = errors.Join(err, restore()) }()
	}
	gen, err := startUDPGenerator(cfg, t, frame)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			err = errors.Join(err, gen.stop())
		}
	}()
	if err := sleepCtx(ctx, cfg.Warmup); err != nil {
		return nil, err
	}
	g0 := gen.sent.Load()
	s0, _, err := sk.read()
	if err != nil {
		return nil, err
	}
	l0, rt0 := t.linkStats(), snapRuntime(r)
	c0, err := readProcStat()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := sleepCtx(ctx, cfg.Duration); err != nil {
		return nil, err
	}
	g1 := gen.sent.Load()
	s1, _, err := sk.read()
	if err != nil {
		return nil, err
	}
	el := time.Since(t0).Seconds()
	c1, err := readProcStat()
	if err != nil {
		return nil, err
	}
	l1, rt1 := t.linkStats(), snapRuntime(r)
	stopped = true
	if err := gen.stop(); err != nil {
		return nil, err
	}
	// Let the forwarder pass on what is in flight before the totals.
	if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
		return nil, err
	}
	sT, oT, err := sk.read()
	if err != nil {
		return nil, err
	}
	u = &UDPResult{Generator: cfg.Generator, Seconds: el, Generated: g1 - g0, Received: s1 - s0,
		GenPPS: float64(g1-g0) / el, RxPPS: float64(s1-s0) / el,
		TotalGenerated: gen.sent.Load(), TotalReceived: sT, Other: oT,
		Links: subLinks(l1, l0)}
	sw, gn := sharesOf(c0[cfg.CPUSwitch], c1[cfg.CPUSwitch]), sharesOf(c0[cfg.CPUGen], c1[cfg.CPUGen])
	u.SwitchCPUBusy, u.SwitchCPUSoftIRQ, u.SwitchCPUSteal = sw.busy, sw.softIRQ, sw.steal
	u.GenCPUBusy, u.GenCPUSoftIRQ, u.GenCPUSteal = gn.busy, gn.softIRQ, gn.steal
	if rt1 != nil {
		res.Switch = &SwitchReport{Runtime: diffCounters(rt1, rt0)}
	}
	if u.TotalReceived > u.TotalGenerated {
		return u, fmt.Errorf("perf: implausible: the sink counted %d frames, the generator sent %d", u.TotalReceived, u.TotalGenerated)
	}
	return u, nil
}

// startUDPGenerator starts cfg.Generator on the sender's eth0.
func startUDPGenerator(cfg *E2EConfig, t *topo, frame []byte) (*generator, error) {
	if cfg.Generator == GenXDPLive {
		return startLiveGenerator(&t.snd, t.id, frame, cfg.CPUGen, cfg.Rate)
	}
	return startGenerator(t.snd.ns, frame, cfg.CPUGen, cfg.Rate)
}

// groOn switches GRO on on both host ends for the xdp-live generator: a
// veth drops the xdp_frames that ndo_xdp_xmit hands it unless the
// receiving end runs NAPI, and GRO (or an XDP program) is what turns NAPI
// on. The returned function puts back what was there, so that the TCP
// measurement sees the host ends as the path left them.
func groOn(t *topo) (restore func() error, err error) {
	var undo []func() error
	restore = func() error {
		var errs []error
		for i := len(undo) - 1; i >= 0; i-- {
			errs = append(errs, undo[i]())
		}
		return errors.Join(errs...)
	}
	for _, e := range []*endpoint{&t.snd, &t.rcv} {
		was, err := netdev.GROAt("", e.host)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("perf: GRO of %s: %w", e.host, err), restore())
		}
		if was {
			continue
		}
		if err := netdev.SetGROAt("", e.host, true); err != nil {
			return nil, errors.Join(fmt.Errorf("perf: GRO on on %s for the xdp-live generator: %w", e.host, err), restore())
		}
		undo = append(undo, func() error {
			if err := netdev.SetGROAt("", e.host, false); err != nil {
				return fmt.Errorf("perf: GRO back off on %s: %w", e.host, err)
			}
			return nil
		})
	}
	return restore, nil
}

// measureTCP runs iperf3 through the path. Vecswitch needs TX checksum
// offload off on the namespace ends; the Linux bridge is measured as it
// comes, then with the same offload off, for a like-for-like figure.
func measureTCP(ctx context.Context, cfg *E2EConfig, t *topo, path string, res *E2EResult) error {
	if _, err := exec.LookPath("iperf3"); err != nil {
		return ErrNoIperf3
	}
	secs, omit := iperfSeconds(cfg.Duration, cfg.Warmup)
	var err error
	if path == PathAFPacket {
		// The point of the path: the namespaces keep their offloads.
		cfg.Log("%s: TCP, offloads on", path)
		res.TCP, err = runIperf(ctx, t, secs, omit, cfg.CPUGen)
		return err
	}
	if path == PathBridge {
		cfg.Log("%s: TCP", path)
		if res.TCP, err = runIperf(ctx, t, secs, omit, cfg.CPUGen); err != nil {
			return err
		}
	}
	if err := t.txChecksumOff(); err != nil {
		return err
	}
	cfg.Log("%s: TCP, tx checksum offload off", path)
	tcp, err := runIperf(ctx, t, secs, omit, cfg.CPUGen)
	if err != nil {
		return err
	}
	if path == PathBridge {
		res.TCPCsumOff = tcp
	} else {
		res.TCP = tcp
	}
	return nil
}

func snapRuntime(r *rig) []pipeline.NodeCounters {
	if r.runtime == nil {
		return nil
	}
	return r.runtime()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
