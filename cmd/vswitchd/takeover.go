package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ctl/daemon"
	"github.com/vecswitch/vecswitch/internal/takeover"
)

// Hitless restart: a running vswitchd listens on its takeover socket
// (beside the control socket); `vswitchd --takeover` with the same flags
// connects there, receives the ports and learned tables, and the old one
// exits once the new one forwards (internal/takeover, ctl/daemon's
// takeover.go).

// takeoverSocket is the takeover socket's path for a control socket's.
func takeoverSocket(ctlSocket string) string {
	return strings.TrimSuffix(ctlSocket, ".sock") + ".takeover.sock"
}

func buildID() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
		return bi.Main.Version
	}
	return ""
}

// ctlServer is the control socket's server; a takeover closes it (the
// successor opens its own) and opens it again if the takeover fails.
type ctlServer struct {
	cfg    ctl.ServerConfig
	reg    *ctl.Registry
	failed chan error // a Serve that failed for another reason than Close

	mu  sync.Mutex
	srv *ctl.Server
}

func newCtlServer(cfg ctl.ServerConfig, reg *ctl.Registry) (*ctlServer, error) {
	c := &ctlServer{cfg: cfg, reg: reg, failed: make(chan error, 1)}
	return c, c.open()
}

func (c *ctlServer) open() error {
	srv, err := ctl.Listen(c.cfg, c.reg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.srv = srv
	c.mu.Unlock()
	go func() {
		if err := srv.Serve(); err != nil {
			select {
			case c.failed <- err:
			default:
			}
		}
	}()
	return nil
}

// Close closes the control socket (open opens it again).
func (c *ctlServer) Close() error {
	c.mu.Lock()
	srv := c.srv
	c.srv = nil
	c.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// giver is the daemon's takeover.Giver plus the control socket, closed
// for the takeover and open again if it fails.
type giver struct {
	g   *daemon.Giver
	cs  *ctlServer
	log *slog.Logger
}

func (g *giver) Export() ([]byte, []*os.File, error) {
	g.cs.Close()
	st, files, err := g.g.Export()
	if err != nil {
		g.reopen()
	}
	return st, files, err
}

func (g *giver) StopPolling() ([]byte, error) { return g.g.StopPolling() }

func (g *giver) Resume() {
	g.g.Resume()
	g.reopen()
}

func (g *giver) reopen() {
	var err error
	for range 50 { // the successor may still be closing its own
		if err = g.cs.open(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.log.Error("control socket not reopened after the failed takeover: the data plane runs, vsctl cannot reach it", "err", err)
}

// listenTakeover serves takeovers on the takeover socket until one
// commits: then it sends the giver on the returned channel (the caller
// calls HandedOver and closes everything, deleting nothing). A failed
// takeover is logged; this process runs on.
func listenTakeover(o options, d *daemon.Daemon, cs *ctlServer, log *slog.Logger) (<-chan *daemon.Giver, func(), error) {
	ln, err := takeover.Listen(takeoverSocket(o.Socket), 0)
	if err != nil {
		return nil, nil, err
	}
	handed := make(chan *daemon.Giver, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ln.Close() // at once after a handover: the successor listens next
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			g := d.Giver()
			start := time.Now()
			err = takeover.Serve(c, takeover.Peer{PID: os.Getpid(), Build: buildID()}, &giver{g: g, cs: cs, log: log})
			if err == nil {
				log.Info("handed over to the new vswitchd", "took", time.Since(start))
				handed <- g
				return
			}
			log.Warn("takeover failed: this vswitchd keeps running", "err", err)
		}
	}()
	return handed, func() { ln.Close(); <-done }, nil
}

// taker is the successor's side; its methods do nothing on a nil taker
// (a plain start).
type taker struct {
	s   *takeover.Session
	in  *daemon.Inherited
	log *slog.Logger
	t0  time.Time
	// mainPID: this process told the service manager it is the main one.
	mainPID bool
}

// becomeMain tells the service manager (systemd, NOTIFY_SOCKET) that this
// process is the unit's main one now, before the commit lets the old one
// exit; abort says the old one is again.
func (t *taker) becomeMain() {
	notify(t.log, fmt.Sprintf("MAINPID=%d", os.Getpid()))
	t.mainPID = true
}

// beginTakeover connects to the running vswitchd and receives its ports
// and tables.
func beginTakeover(o options, log *slog.Logger) (*taker, error) {
	t0 := time.Now()
	s, err := takeover.Take(takeoverSocket(o.Socket), takeover.Peer{PID: os.Getpid(), Build: buildID()}, 0)
	if err != nil {
		return nil, err
	}
	in, err := daemon.Inherit(s.State(), s.Files())
	if err != nil {
		s.Abort(err.Error())
		return nil, err
	}
	log.Info("taking over", "from-pid", s.Giver().PID, "from-build", s.Giver().Build)
	return &taker{s: s, in: in, log: log, t0: t0}, nil
}

func (t *taker) inherit() *daemon.Inherited {
	if t == nil {
		return nil
	}
	return t.in
}

// ready checks every port was adopted, imports the learned tables and
// then swaps the adopted AF_XDP ports' XDP programs into their links (so
// the new fast path starts with the old one's MACs); the caller starts
// its workers next, while the old ones still run (or, stop-first, once
// they have stopped).
func (t *taker) ready(d *daemon.Daemon) error {
	if t == nil {
		return nil
	}
	is, err := d.FinishTakeover()
	if err != nil {
		return err
	}
	t.log.Info("learned tables taken over", "macs", is.MACs, "neighbors", is.Neighbors, "nat-flows", is.NATFlows,
		"sg-flows", is.SGFlows, "skipped-macs", is.SkippedMACs, "skipped-neighbors", is.SkippedNeighbors,
		"skipped-nat-flows", is.SkippedNATFlows, "skipped-sg-flows", is.SkippedSGFlows)
	return nil
}

// stopFirst reports whether the old workers must stop before this
// process starts its own (AF_XDP ports: their rings allow one poller).
func (t *taker) stopFirst() bool { return t != nil && t.in.StopFirst() }

// commit, called once this process's workers run, stops the old ones and
// lets the old process exit. Until the old workers have stopped, both
// processes poll the same queues: a tap queue or an AF_PACKET socket
// hands each frame to one reader, and both forward it the same way, so
// the handover has no gap at all.
func (t *taker) commit() error {
	if t == nil {
		return nil
	}
	start := time.Now()
	if _, err := t.s.StopGiver(); err != nil {
		return err
	}
	overlap := time.Since(start)
	t.becomeMain()
	if err := t.s.Commit(); err != nil {
		return err
	}
	t.log.Info("takeover done", "took", time.Since(t.t0), "overlap", overlap)
	return nil
}

// stopThenStart is commit's order for AF_XDP ports: the old workers stop,
// this process takes what they held (the pools' free lists, the sockets'
// frames), commits, and only then starts its workers. If the start fails
// after the commit, the old process is gone: this one exits with the
// error and a plain start replays the stored configuration.
func (t *taker) stopThenStart(d *daemon.Daemon) (gap time.Duration, committed bool, err error) {
	late, err := t.s.StopGiver()
	if err != nil {
		return 0, false, err
	}
	start := time.Now()
	if err := d.FinishStopped(late); err != nil {
		return 0, false, err
	}
	t.becomeMain()
	if err := t.s.Commit(); err != nil {
		return 0, false, err
	}
	if err := d.Start(); err != nil {
		return 0, true, fmt.Errorf("the old vswitchd has stopped and this one's data plane did not start (start vswitchd again: the stored configuration is replayed): %w", err)
	}
	gap = time.Since(start)
	t.log.Info("takeover done", "took", time.Since(t.t0), "gap", gap)
	return gap, true, nil
}

// abort gives everything back: this process's data plane stops and its
// control socket closes first, then the ports are released (their
// devices stay) and the old vswitchd resumes.
func (t *taker) abort(d *daemon.Daemon, cs *ctlServer, cause error) error {
	if t == nil {
		return cause
	}
	if t.mainPID {
		notify(t.log, fmt.Sprintf("MAINPID=%d", t.s.Giver().PID))
	}
	if cs != nil {
		cs.Close()
	}
	if d != nil {
		d.Switch().Stop()
		d.ReleaseInherited()
	} else {
		t.in.Close()
	}
	t.s.Abort(cause.Error())
	return fmt.Errorf("takeover failed, the running vswitchd keeps running: %w", cause)
}

// retry runs fn until it succeeds or, when taking over (the old process
// may still hold a port or socket for a moment), 5 s have passed.
func retry(takingOver bool, fn func() error) error {
	err := fn()
	for end := time.Now().Add(5 * time.Second); err != nil && takingOver && time.Now().Before(end); err = fn() {
		time.Sleep(50 * time.Millisecond)
	}
	return err
}
