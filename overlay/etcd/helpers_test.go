package etcd

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vecswitch/vecswitch/internal/etcdtest"
)

// testEtcd is a single-member embedded etcd on 127.0.0.1 with kernel-chosen
// ports and a temporary data dir, closed when the test ends.
type testEtcd struct {
	url string
	cli *clientv3.Client // for the test's own reads and writes
}

func startEtcd(t *testing.T) *testEtcd {
	t.Helper()
	e := etcdtest.Start(t)
	return &testEtcd{url: e.URL, cli: e.Client}
}

// memSink is the in-memory Sink test double: the state it was told, a
// channel closed at every change, and a check that calls never overlap.
type memSink struct {
	busy    atomic.Bool
	overlap atomic.Int64

	mu      sync.Mutex
	remotes map[uint32][]netip.Addr
	eps     map[epKey]Endpoint
	calls   int
	changed chan struct{}
}

type epKey struct {
	vni uint32
	mac [6]byte
}

var _ Sink = (*memSink)(nil)

func newMemSink() *memSink {
	return &memSink{
		remotes: make(map[uint32][]netip.Addr),
		eps:     make(map[epKey]Endpoint),
		changed: make(chan struct{}),
	}
}

func (m *memSink) enter() {
	if !m.busy.CompareAndSwap(false, true) {
		m.overlap.Add(1)
	}
	m.mu.Lock()
}

func (m *memSink) leave() {
	m.calls++
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
	m.busy.Store(false)
}

func (m *memSink) SetRemotes(vni uint32, vteps []netip.Addr) {
	m.enter()
	defer m.leave()
	if len(vteps) == 0 {
		delete(m.remotes, vni)
	} else {
		m.remotes[vni] = vteps
	}
}

func (m *memSink) SetEndpoint(e Endpoint) {
	m.enter()
	defer m.leave()
	m.eps[epKey{e.VNI, e.MAC}] = e
}

func (m *memSink) DeleteEndpoint(vni uint32, mac [6]byte) {
	m.enter()
	defer m.leave()
	delete(m.eps, epKey{vni, mac})
}

// Remotes returns the VTEPs last set for vni.
func (m *memSink) Remotes(vni uint32) []netip.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.remotes[vni])
}

// Endpoint returns the endpoint told for (vni, mac), if any.
func (m *memSink) Endpoint(vni uint32, mac [6]byte) (Endpoint, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.eps[epKey{vni, mac}]
	return e, ok
}

// Endpoints returns a copy of all endpoints told.
func (m *memSink) Endpoints() map[epKey]Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.eps)
}

// waitFor polls cond at every change until it holds or timeout passes, and
// returns how long it took.
func (m *memSink) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		ch := m.changed
		m.mu.Unlock()
		if cond() {
			return time.Since(start)
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// host is one Syncer running against the test etcd.
type host struct {
	s    *Syncer
	sink *memSink
	stop context.CancelFunc
	done chan struct{}
}

type hostOpt func(*Config)

func withTTL(d time.Duration) hostOpt { return func(c *Config) { c.TTL = d } }

// newHost creates a Syncer for VTEP vtep. Call start to run it.
func newHost(t *testing.T, te *testEtcd, vtep string, opts ...hostOpt) *host {
	t.Helper()
	h := &host{sink: newMemSink()}
	cfg := Config{
		Endpoints:   []string{te.url},
		Prefix:      "/test/" + t.Name() + "/",
		Local:       netip.MustParseAddr(vtep),
		DialTimeout: 2 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), nil)).With("host", vtep),
		Sink:        h.sink,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.s = s
	t.Cleanup(func() {
		h.halt()
		if err := s.Close(); err != nil {
			t.Errorf("Close %s: %v", vtep, err)
		}
		if n := h.sink.overlap.Load(); n != 0 {
			t.Errorf("%s: %d overlapping Sink calls", vtep, n)
		}
	})
	return h
}

func (h *host) start(t *testing.T) *host {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		if err := h.s.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	return h
}

// halt cancels Run and waits for it to return.
func (h *host) halt() {
	if h.stop != nil {
		h.stop()
		<-h.done
		h.stop = nil
	}
}

func mustJoin(t *testing.T, h *host, vnis ...uint32) {
	t.Helper()
	for _, vni := range vnis {
		if err := h.s.Join(t.Context(), vni); err != nil {
			t.Fatalf("Join %d: %v", vni, err)
		}
	}
}

func mustPublish(t *testing.T, h *host, e Endpoint) {
	t.Helper()
	if err := h.s.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish %v: %v", e, err)
	}
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func mac(last byte) [6]byte { return [6]byte{0x02, 0, 0, 0, 0, last} }

// remotesAre is a waitFor condition: vni's remote list equals want.
func remotesAre(h *host, vni uint32, want ...string) func() bool {
	return func() bool { return slices.Equal(h.sink.Remotes(vni), addrs(want...)) }
}

// endpointAt is a waitFor condition: (vni, m) is at vtep ("" = absent).
func endpointAt(h *host, vni uint32, m [6]byte, vtep string) func() bool {
	return func() bool {
		e, ok := h.sink.Endpoint(vni, m)
		if vtep == "" {
			return !ok
		}
		return ok && e.VTEP == netip.MustParseAddr(vtep)
	}
}

// leaseOf returns the lease the host currently holds (0 if none).
func leaseOf(h *host) clientv3.LeaseID {
	h.s.wmu.Lock()
	defer h.s.wmu.Unlock()
	return h.s.own.lease
}

// waitLease waits until the host holds a lease other than not.
func waitLease(t *testing.T, h *host, not clientv3.LeaseID) clientv3.LeaseID {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if id := leaseOf(h); id != 0 && id != not {
			return id
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no lease granted")
	return 0
}
