package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Endpoint is one overlay endpoint: a MAC (and optional IP) in a VNI, behind
// a VTEP.
type Endpoint struct {
	VNI  uint32
	MAC  [6]byte
	IP   netip.Addr // optional: the zero Addr when unknown
	VTEP netip.Addr
}

// Member is a VTEP participating in a VNI.
type Member struct {
	VNI  uint32
	VTEP netip.Addr
}

// Sink receives the view of the other hosts: every member and endpoint of
// the VNIs this host has joined, except those of our own VTEP.
//
// The Syncer calls a Sink's methods one at a time, never concurrently, from
// its Run goroutine or from inside Join and Leave. They must return quickly
// and must not call back into the Syncer.
type Sink interface {
	// SetRemotes gives the full current list of the other VTEPs in a VNI,
	// sorted, for head-end replication of flooded traffic. An empty list
	// means no other host is in the VNI. The slice is the Sink's to keep.
	SetRemotes(vni uint32, vteps []netip.Addr)
	// SetEndpoint says a remote endpoint appeared, or moved to another VTEP,
	// or changed its IP.
	SetEndpoint(e Endpoint)
	// DeleteEndpoint says a remote endpoint went away (or became ours).
	DeleteEndpoint(vni uint32, mac [6]byte)
}

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "/vecswitch/overlay/"

// Defaults for the zero values of Config.
const (
	DefaultTTL         = 10 * time.Second
	DefaultDialTimeout = 5 * time.Second
)

// Errors returned by the Syncer.
var (
	ErrClosed     = errors.New("etcd overlay syncer closed")
	ErrRunning    = errors.New("etcd overlay syncer already running")
	ErrBadVNI     = errors.New("VNI out of range")
	ErrNotLocal   = errors.New("endpoint VTEP is not the local VTEP")
	ErrBadAddress = errors.New("invalid address")
)

// Config configures a Syncer.
type Config struct {
	// Endpoints are the etcd client URLs, e.g. "http://10.0.0.1:2379".
	// Ignored when Client is set.
	Endpoints []string
	// Client, if set, is used instead of dialing Endpoints (to share one
	// connection with other etcd users of the process). The Syncer does not
	// close it.
	Client *clientv3.Client
	// TLS, Username and Password are passed to the etcd client.
	TLS      *tls.Config
	Username string
	Password string
	// Prefix is the key prefix; DefaultPrefix when empty. A trailing "/" is
	// added when missing.
	Prefix string
	// Local is our VTEP address. Required.
	Local netip.Addr
	// TTL is the lease TTL: how long our entries outlive us when we vanish
	// without revoking (crash, partition). DefaultTTL when zero; rounded up
	// to whole seconds, and etcd raises it to its own minimum (about 2 s
	// with default election timing).
	TTL time.Duration
	// DialTimeout bounds connecting to etcd and each internal request;
	// DefaultDialTimeout when zero.
	DialTimeout time.Duration
	// Logger receives state changes and failures; discarded when nil. The
	// etcd client's own (zap) log is discarded.
	Logger *slog.Logger
	// Sink receives the other hosts' members and endpoints. Required.
	Sink Sink
}

// Stats are the Syncer's counters. Each is monotonic.
type Stats struct {
	// Malformed counts keys or values under <prefix>vni/ that did not parse
	// and were ignored (a key is counted again at every re-list).
	Malformed uint64
	// Relists counts full reads of the prefix: at start, after watch
	// compaction and after watch failures.
	Relists uint64
	// WatchErrors counts watches that ended with an error (compaction
	// included) and so caused a re-list.
	WatchErrors uint64
	// Leases counts leases granted: 1 plus the number of lease losses.
	Leases uint64
	// Writes counts successful puts and deletes of our own keys.
	Writes uint64
	// WriteErrors counts failed writes; they are retried.
	WriteErrors uint64
	// Superseded counts our entries that another host wrote after us (a MAC
	// that moved away), and that we therefore neither deleted nor
	// re-published.
	Superseded uint64
}

type counters struct {
	malformed, relists, watchErrors, leases, writes, writeErrors, superseded atomic.Uint64
}

// Syncer publishes this host's VNI memberships and endpoints to etcd and
// feeds the other hosts' ones to a Sink. Create it with New, start it with
// Run, stop it by cancelling Run's context or with Close. Its methods are
// safe for concurrent use.
type Syncer struct {
	cli      *clientv3.Client
	ownsCli  bool
	prefix   string
	local    netip.Addr
	ttl      int64 // seconds
	opTO     time.Duration
	log      *slog.Logger
	stats    counters
	closeCtx context.Context
	closeFn  context.CancelFunc
	// keepLease (KeepLease): Run ends without revoking the lease.
	keepLease atomic.Bool

	// Lock order: runMu, then wmu, then mu.
	runMu   sync.Mutex
	running bool
	closed  bool
	runDone chan struct{}

	// wmu guards our desired state and every write of it (see own.go).
	wmu sync.Mutex
	own ownState

	// mu guards the view of etcd and what the Sink was told (see view.go),
	// and serializes calls into the Sink.
	mu   sync.Mutex
	view viewState

	// afterList, if set (tests only), runs after each re-list with the
	// revision read, before the watch starts from the next one.
	afterList func(rev int64)
}

// New checks cfg and creates a Syncer with its etcd client. It does not
// wait for etcd to be reachable: Run keeps trying.
func New(cfg Config) (*Syncer, error) {
	if cfg.Sink == nil {
		return nil, errors.New("etcd overlay: Config.Sink is required")
	}
	if !cfg.Local.IsValid() || cfg.Local.Zone() != "" || cfg.Local.IsUnspecified() {
		return nil, fmt.Errorf("etcd overlay: Config.Local %v: %w", cfg.Local, ErrBadAddress)
	}
	if cfg.Client == nil && len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd overlay: Config.Endpoints or Config.Client is required")
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	ttl := cfg.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	dialTO := cfg.DialTimeout
	if dialTO <= 0 {
		dialTO = DefaultDialTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Syncer{
		cli:    cfg.Client,
		prefix: prefix,
		local:  cfg.Local.Unmap(),
		ttl:    int64((ttl + time.Second - 1) / time.Second),
		opTO:   dialTO,
		log:    log.With("component", "overlay/etcd", "vtep", cfg.Local.Unmap()),
	}
	if s.cli == nil {
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   cfg.Endpoints,
			DialTimeout: dialTO,
			TLS:         cfg.TLS,
			Username:    cfg.Username,
			Password:    cfg.Password,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			return nil, fmt.Errorf("etcd overlay: connect %v: %w", cfg.Endpoints, err)
		}
		s.cli, s.ownsCli = cli, true
	}
	s.closeCtx, s.closeFn = context.WithCancel(context.Background())
	s.own.init()
	s.view.init(cfg.Sink)
	return s, nil
}

// Local returns our VTEP address.
func (s *Syncer) Local() netip.Addr { return s.local }

// Stats returns a snapshot of the counters.
func (s *Syncer) Stats() Stats {
	c := &s.stats
	return Stats{
		Malformed:   c.malformed.Load(),
		Relists:     c.relists.Load(),
		WatchErrors: c.watchErrors.Load(),
		Leases:      c.leases.Load(),
		Writes:      c.writes.Load(),
		WriteErrors: c.writeErrors.Load(),
		Superseded:  c.superseded.Load(),
	}
}

// Run keeps the lease alive, (re-)publishes our entries under it, and
// feeds the Sink from a list-then-watch of the prefix, until ctx is
// cancelled or Close is called. It then revokes the lease, so that our
// entries vanish from etcd at once, and returns nil; the Sink keeps what it
// was last told. Connection failures are retried, never returned. Run may
// be called again after it returned.
func (s *Syncer) Run(ctx context.Context) error {
	s.runMu.Lock()
	switch {
	case s.closed:
		s.runMu.Unlock()
		return ErrClosed
	case s.running:
		s.runMu.Unlock()
		return ErrRunning
	}
	s.running = true
	done := make(chan struct{})
	s.runDone = done
	s.runMu.Unlock()
	defer func() {
		s.runMu.Lock()
		s.running = false
		s.runMu.Unlock()
		close(done)
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.closeCtx, cancel)
	defer stop()

	var wg sync.WaitGroup
	wg.Go(func() { s.leaseLoop(ctx) })
	wg.Go(func() { s.watchLoop(ctx) })
	wg.Wait()
	if !s.keepLease.Load() {
		s.revoke()
	}
	return nil
}

// KeepLease makes Run, when it ends, leave the lease to expire instead of
// revoking it: for a handover to a successor process of the same host
// (vswitchd --takeover), which writes the same entries under a lease of
// its own. Revoking would delete every entry the successor has not
// rewritten yet, and the other hosts would drop this VTEP for a moment;
// left alone, the entries move to the successor's lease as it writes them,
// and what it does not write vanishes after the TTL.
func (s *Syncer) KeepLease() { s.keepLease.Store(true) }

// Close stops Run (revoking the lease) and waits for it to return, then
// closes the etcd client if the Syncer created it. Further calls return
// ErrClosed or do nothing.
func (s *Syncer) Close() error {
	s.runMu.Lock()
	if s.closed {
		s.runMu.Unlock()
		return nil
	}
	s.closed = true
	done := s.runDone
	running := s.running
	s.runMu.Unlock()
	s.closeFn()
	if running {
		<-done
	}
	if s.ownsCli {
		return s.cli.Close()
	}
	return nil
}

// opCtx bounds one internal etcd request.
func (s *Syncer) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTO)
}

// backoff is a capped exponential delay with jitter for retry loops.
type backoff struct {
	next time.Duration
}

const (
	backoffMin = 50 * time.Millisecond
	backoffMax = 5 * time.Second
)

// wait sleeps for the next delay or until ctx is done; it reports whether
// ctx is still live.
func (b *backoff) wait(ctx context.Context) bool {
	if b.next == 0 {
		b.next = backoffMin
	}
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(2*b.next, backoffMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (b *backoff) reset() { b.next = 0 }
