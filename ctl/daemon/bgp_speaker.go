package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vecswitch/vecswitch/bgp"
	"github.com/vecswitch/vecswitch/ctl"
)

// BGPConfig is the stored BGP configuration (bgp/set and the neighbor and
// announce commands), normalized: canonical addresses, "" for the default
// VRF, explicit listen port.
type BGPConfig struct {
	AS              uint32   `json:"as"`
	RouterID        string   `json:"router_id"`
	ListenPort      int      `json:"listen_port"`
	ListenAddrs     []string `json:"listen_addrs,omitempty"`
	GracefulRestart bool     `json:"graceful_restart,omitempty"`
	RestartTime     int      `json:"restart_time,omitempty"` // seconds; 0 is 120

	// EndpointNextHops are the next hops (at most one per family) of the
	// blocks announced for routed endpoints (bgp_blocks.go); none: self.
	EndpointNextHops []string `json:"endpoint_nexthops,omitempty"`

	Neighbors []BGPNeighbor  `json:"neighbors,omitempty"`
	Announce  []BGPAnnounced `json:"announce,omitempty"`
}

// BGPNeighbor is one configured neighbor. The password is stored as
// given (the state file is readable by root only).
type BGPNeighbor struct {
	Addr        string `json:"addr"`
	AS          uint32 `json:"as"`
	VRF         string `json:"vrf,omitempty"`
	Password    string `json:"password,omitempty"`
	MaxPrefixes int    `json:"max_prefixes,omitempty"`
	HoldTime    int    `json:"hold_time,omitempty"` // seconds; 0 is 90
	Passive     bool   `json:"passive,omitempty"`
}

// BGPAnnounced is one announced prefix.
type BGPAnnounced struct {
	Prefix string `json:"prefix"`
	VRF    string `json:"vrf,omitempty"`
	// NextHop is the address peers are told to send the block to ("":
	// the speaker's own address on each session). A host whose switch
	// routes its containers gives the router interface's address on the
	// uplink: the kernel's address is not the switch's.
	NextHop string `json:"nexthop,omitempty"`
}

// bgpRuntime is the daemon's speaker and the applier that publishes
// learned routes. speaker and err are guarded by Daemon.mu.
type bgpRuntime struct {
	speaker *bgp.Speaker
	err     string // why the configured speaker is not running
	// blocks are the routed endpoints' blocks the speaker announces
	// (bgp_blocks.go); guarded by Daemon.mu.
	blocks  []BGPAnnounced
	learned *learnedRoutes
	stop    chan struct{}
	done    chan struct{}
}

func (n BGPNeighbor) peer() bgp.Peer {
	a, _ := netip.ParseAddr(n.Addr)
	return bgp.Peer{Addr: a, AS: n.AS, VRF: n.VRF, Password: n.Password, MaxPrefixes: n.MaxPrefixes,
		HoldTime: time.Duration(n.HoldTime) * time.Second, Passive: n.Passive}
}

func (a BGPAnnounced) prefix() netip.Prefix {
	p, _ := netip.ParsePrefix(a.Prefix)
	return p
}

// nexthop is the announced next hop (invalid: self).
func (a BGPAnnounced) nexthop() netip.Addr {
	nh, _ := netip.ParseAddr(a.NextHop)
	return nh
}

// startBGP runs at New: the learned-route applier, and the speaker if the
// stored configuration has one. A stored neighbor or prefix the speaker
// refuses (edited by hand) is logged and left out; a speaker that cannot
// start is logged and reported by bgp/show, the rest of the daemon runs.
func (d *Daemon) startBGP() {
	d.bgp.learned = newLearnedRoutes()
	d.state.learned = d.bgp.learned
	d.bgp.stop, d.bgp.done = make(chan struct{}), make(chan struct{})
	go d.applyLearned()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state.BGP != nil {
		if err := d.runSpeaker(d.state.BGP); err != nil {
			if d.inherit != nil {
				// Taking over: the old vswitchd holds the listener
				// until it exits, just after the handover.
				d.log.Info("BGP speaker waits for the old vswitchd to release its listener", "err", err)
				go d.retrySpeaker(d.bgp.stop, speakerTakeoverWait)
				return
			}
			d.log.Error("BGP speaker not started", "err", err)
		}
	}
}

// speakerTakeoverWait bounds how long a successor retries its speaker.
const speakerTakeoverWait = 10 * time.Second

// retrySpeaker starts the stored speaker every 100 ms until it runs, it is
// no longer wanted (bgp/set ran one, or stop: the daemon closes), or limit
// has passed.
func (d *Daemon) retrySpeaker(stop <-chan struct{}, limit time.Duration) {
	end := time.Now().Add(limit)
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		d.mu.Lock()
		if d.bgp.speaker != nil || d.state.BGP == nil {
			d.mu.Unlock()
			return
		}
		err := d.runSpeaker(d.state.BGP)
		d.mu.Unlock()
		switch {
		case err == nil:
			d.log.Info("BGP speaker started after the takeover")
			return
		case time.Now().After(end):
			d.log.Error("BGP speaker not started", "err", err)
			return
		}
	}
}

// applyLearned publishes learned routes, once per burst of OnRoutes calls.
func (d *Daemon) applyLearned() {
	defer close(d.bgp.done)
	for {
		select {
		case <-d.bgp.stop:
			return
		case <-d.bgp.learned.kick:
		}
		d.mu.Lock()
		if err := d.sw.Reconfigure(d.state.switchConfig()); err != nil {
			d.log.Error("learned BGP routes not installed", "err", err)
		}
		d.mu.Unlock()
	}
}

// stopBGPApplier stops the applier; called by Close before it takes mu.
func (d *Daemon) stopBGPApplier() {
	if d.bgp.stop != nil {
		close(d.bgp.stop)
		<-d.bgp.done
		d.bgp.stop = nil
	}
}

// runSpeaker starts a speaker for c with c's neighbors and announcements.
// Only the global configuration's failure is returned; a neighbor or
// prefix refused is logged and skipped.
func (d *Daemon) runSpeaker(c *BGPConfig) error {
	gen, _ := d.bgp.learned.reset()
	cfg := bgp.Config{AS: c.AS, ListenPort: c.ListenPort, OnRoutes: d.bgp.learned.handler(gen), Logger: slog.New(warnHandler{d.log.Handler()}).With("component", "bgp"),
		GracefulRestart: bgp.GracefulRestart{Enabled: c.GracefulRestart, RestartTime: time.Duration(c.RestartTime) * time.Second}}
	cfg.RouterID, _ = netip.ParseAddr(c.RouterID)
	for _, a := range c.ListenAddrs {
		ad, _ := netip.ParseAddr(a)
		cfg.ListenAddrs = append(cfg.ListenAddrs, ad)
	}
	s, err := bgp.Start(cfg)
	if err != nil {
		d.bgp.err = err.Error()
		return err
	}
	d.bgp.speaker, d.bgp.err = s, ""
	for _, n := range c.Neighbors {
		if err := s.AddPeer(n.peer()); err != nil {
			d.log.Error("stored BGP neighbor left out", "neighbor", n.Addr, "err", err)
		}
	}
	for _, a := range c.Announce {
		if err := s.Announce(a.prefix(), a.nexthop(), a.VRF); err != nil {
			d.log.Error("stored BGP announcement left out", "prefix", a.Prefix, "vrf", a.VRF, "err", err)
		}
	}
	d.bgp.blocks = nil
	// The endpoints' blocks: from the state being committed (bgp/set
	// runs the speaker before its commit, with d.state still the old
	// one; the commit syncs again).
	d.syncBlocks()
	return nil
}

// stopSpeaker stops the speaker and removes every learned route from the
// FIB (publish false: the switch is closing anyway).
func (d *Daemon) stopSpeaker(publish bool) {
	if d.bgp.speaker == nil {
		return
	}
	d.bgp.speaker.Stop()
	d.bgp.speaker, d.bgp.blocks = nil, nil
	if _, had := d.bgp.learned.reset(); had && publish {
		if err := d.sw.Reconfigure(d.state.switchConfig()); err != nil {
			d.log.Error("learned BGP routes not removed", "err", err)
		}
	}
}

// bgpError maps the speaker's errors to typed ctl errors.
func bgpError(err error) error {
	var ce *bgp.ConfigError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bgp.ErrDuplicatePeer):
		return ctl.Errorf(ctl.CodeExists, "%v", err)
	case errors.Is(err, bgp.ErrUnknownPeer), errors.Is(err, bgp.ErrNotAnnounced):
		return ctl.Errorf(ctl.CodeNotFound, "%v", err)
	case errors.As(err, &ce):
		return ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	return ctl.Errorf(ctl.CodeInternal, "%v", err)
}

// warnHandler passes on GoBGP's warnings and errors only: its info logs
// (a line per peer change and connection attempt) would drown ours.
type warnHandler struct{ slog.Handler }

func (h warnHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return warnHandler{h.Handler.WithAttrs(as)}
}

func (h warnHandler) WithGroup(g string) slog.Handler { return warnHandler{h.Handler.WithGroup(g)} }
