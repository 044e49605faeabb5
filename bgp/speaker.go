package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// Timers GoBGP would otherwise default to 120 s and 30 s: how long an
// unanswered connection attempt waits before the next, and how long a
// session stays idle after it was reset. Short values make a datacenter
// router that restarts come back in seconds.
const (
	connectRetry    = 5 // seconds
	idleAfterReset  = 5 // seconds
	defaultHoldTime = 90 * time.Second
)

// Speaker is an embedded BGP speaker: GoBGP's server with the peers,
// announcements and learned routes of one vswitchd. Its methods are safe
// for concurrent use.
type Speaker struct {
	cfg    Config
	srv    *server.BgpServer
	cancel context.CancelFunc // stops the event watcher

	mu        sync.Mutex // guards the fields below; never held while calling OnRoutes
	stopped   bool
	peers     map[netip.Addr]Peer
	announced map[routeKey]netip.Addr
	vrfs      map[string]string // VRF name -> route distinguisher (as text)
	vrfByRD   map[string]string

	evMu      sync.Mutex // serializes event delivery; lock order: evMu, then mu
	evStopped bool
	rib       *ribTracker
}

// Start validates cfg and starts a speaker: GoBGP's server loop, the
// listener when cfg.ListenPort is set, and the goroutine that turns
// best-path changes into RouteEvents. Stop ends all of them.
func Start(cfg Config) (*Speaker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.ListenAddrs = slices.Clone(cfg.ListenAddrs)
	var opts []server.ServerOption
	if cfg.Logger != nil {
		opts = append(opts, server.LoggerOption(cfg.Logger, nil))
	}
	s := &Speaker{
		cfg:       cfg,
		srv:       server.NewBgpServer(opts...),
		peers:     make(map[netip.Addr]Peer),
		announced: make(map[routeKey]netip.Addr),
		vrfs:      make(map[string]string),
		vrfByRD:   make(map[string]string),
	}
	s.rib = newRIBTracker(s.vrfOfRD)
	go s.srv.Serve()

	g := &api.Global{
		Asn:              cfg.AS,
		RouterId:         cfg.RouterID.String(),
		ListenPort:       -1, // GoBGP: negative means no listener
		UseMultiplePaths: true,
	}
	if cfg.ListenPort > 0 {
		g.ListenPort = int32(cfg.ListenPort)
		g.ListenAddresses = []string{"0.0.0.0", "::"}
		if len(cfg.ListenAddrs) > 0 {
			g.ListenAddresses = g.ListenAddresses[:0]
			for _, a := range cfg.ListenAddrs {
				g.ListenAddresses = append(g.ListenAddresses, a.String())
			}
		}
	}
	if err := s.srv.StartBgp(context.Background(), &api.StartBgpRequest{Global: g}); err != nil {
		s.srv.Stop()
		return nil, fmt.Errorf("bgp: start: %w", err)
	}
	if err := s.exportOnlyLocal(); err != nil {
		s.srv.Stop()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	err := s.srv.WatchEvent(ctx, server.WatchEventMessageCallbacks{OnBestPath: s.onBestPath}, server.WatchBestPath(false))
	if err != nil {
		cancel()
		s.srv.Stop()
		return nil, fmt.Errorf("bgp: watch best paths: %w", err)
	}
	return s, nil
}

// exportOnlyLocal installs the global export policy: peers get the routes
// this host originates (Announce) and nothing else, so a host never
// becomes a transit path between its routers.
func (s *Speaker) exportOnlyLocal() error {
	const name = "vecswitch-export-local"
	ctx := context.Background()
	err := s.srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{
		Name: name,
		Statements: []*api.Statement{{
			Name:       name + "-accept",
			Conditions: &api.Conditions{RouteType: api.Conditions_ROUTE_TYPE_LOCAL},
			Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
		}},
	}})
	if err != nil {
		return fmt.Errorf("bgp: export policy: %w", err)
	}
	err = s.srv.AddPolicyAssignment(ctx, &api.AddPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name:          "global",
		Direction:     api.PolicyDirection_POLICY_DIRECTION_EXPORT,
		Policies:      []*api.Policy{{Name: name}},
		DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT,
	}})
	if err != nil {
		return fmt.Errorf("bgp: export policy: %w", err)
	}
	return nil
}

// Stop closes every session (with a Cease notification), the listener
// and GoBGP's goroutines. OnRoutes is not called during or after Stop;
// the caller flushes what it installed itself. Stop is idempotent.
func (s *Speaker) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()
	s.evMu.Lock()
	s.evStopped = true
	s.rib.reset()
	s.evMu.Unlock()
	s.cancel()
	s.srv.Stop()
}

// onBestPath runs on GoBGP's watcher goroutine, one batch at a time.
func (s *Speaker) onBestPath(paths []*apiutil.Path, _ time.Time) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	if s.evStopped {
		return
	}
	evs := s.rib.apply(paths)
	if len(evs) > 0 && s.cfg.OnRoutes != nil {
		s.cfg.OnRoutes(evs)
	}
	// GoBGP's watcher goroutine reads fields of the paths it hands us
	// (stale flag, source) that its FSM goroutines later write without a
	// lock (osrg/gobgp#2705; with graceful restart, Path.MarkStale). A
	// management call goes through GoBGP's server loop, which takes the
	// lock those writers take, so our reads happen before their writes.
	s.srv.GetBgp(context.Background(), &api.GetBgpRequest{})
}

func (s *Speaker) vrfOfRD(rd string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vrfByRD[rd]
	return v, ok
}

// ensureVRF creates GoBGP's VRF for name on first use: route distinguisher
// and route target RouterID:n, unique per VRF, so nothing leaks between
// tables. Called with s.mu held.
func (s *Speaker) ensureVRF(name string) error {
	if name == "" {
		return nil
	}
	if _, ok := s.vrfs[name]; ok {
		return nil
	}
	id := len(s.vrfs) + 1
	if id > 0xffff {
		return cfgErr("VRF", name, ErrBadVRF)
	}
	rd, err := bgp.NewRouteDistinguisherIPAddressAS(s.cfg.RouterID, uint16(id))
	if err != nil {
		return fmt.Errorf("bgp: VRF %s: %w", name, err)
	}
	rt, err := bgp.ParseRouteTarget(fmt.Sprintf("%s:%d", s.cfg.RouterID, id))
	if err != nil {
		return fmt.Errorf("bgp: VRF %s: %w", name, err)
	}
	ard, err := apiutil.MarshalRD(rd)
	if err != nil {
		return fmt.Errorf("bgp: VRF %s: %w", name, err)
	}
	art, err := apiutil.MarshalRTs([]bgp.ExtendedCommunityInterface{rt})
	if err != nil {
		return fmt.Errorf("bgp: VRF %s: %w", name, err)
	}
	err = s.srv.AddVrf(context.Background(), &api.AddVrfRequest{Vrf: &api.Vrf{
		Name: name, Rd: ard, ImportRt: art, ExportRt: art, Id: uint32(id),
	}})
	if err != nil {
		return fmt.Errorf("bgp: VRF %s: %w", name, err)
	}
	s.vrfs[name] = rd.String()
	s.vrfByRD[rd.String()] = name
	return nil
}

var families = []bgp.Family{bgp.RF_IPv4_UC, bgp.RF_IPv6_UC}

func apiFamily(f bgp.Family) *api.Family {
	return &api.Family{Afi: api.Family_Afi(f.Afi()), Safi: api.Family_Safi(f.Safi())}
}

// AddPeer configures a neighbor for IPv4 and IPv6 unicast (what is used
// is what the peer also offers). A bad or duplicate peer is refused with
// a *ConfigError and changes nothing.
func (s *Speaker) AddPeer(p Peer) error {
	if err := p.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if _, ok := s.peers[p.Addr]; ok {
		return cfgErr("Peer.Addr", p.Addr, ErrDuplicatePeer)
	}
	if p.Passive && s.cfg.ListenPort == 0 {
		return cfgErr("Peer.Passive", "true", ErrBadPort)
	}
	if err := s.ensureVRF(p.VRF); err != nil {
		return err
	}
	hold := p.HoldTime
	if hold == 0 {
		hold = defaultHoldTime
	}
	secs := uint64(hold / time.Second)
	ap := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: p.Addr.String(),
			PeerAsn:         p.AS,
			AuthPassword:    p.Password,
			Vrf:             p.VRF,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:               secs,
			KeepaliveInterval:      max(secs/3, 1),
			ConnectRetry:           connectRetry,
			IdleHoldTimeAfterReset: idleAfterReset,
		}},
		Transport: &api.Transport{PassiveMode: p.Passive},
	}
	gr := s.cfg.GracefulRestart
	if gr.Enabled {
		rt := uint32(gr.RestartTime / time.Second)
		if rt == 0 {
			rt = 120
		}
		ap.GracefulRestart = &api.GracefulRestart{Enabled: true, RestartTime: rt}
	}
	for _, f := range families {
		as := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: apiFamily(f), Enabled: true}}
		if p.MaxPrefixes > 0 {
			as.PrefixLimits = &api.PrefixLimit{Family: apiFamily(f), MaxPrefixes: uint32(p.MaxPrefixes)}
		}
		if gr.Enabled {
			as.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		ap.AfiSafis = append(ap.AfiSafis, as)
	}
	if err := s.srv.AddPeer(context.Background(), &api.AddPeerRequest{Peer: ap}); err != nil {
		return fmt.Errorf("bgp: add peer %s: %w", p.Addr, err)
	}
	s.peers[p.Addr] = p
	return nil
}

// DeletePeer closes the session (Cease) and forgets the neighbor; the
// routes it sent are withdrawn at once, graceful restart or not.
func (s *Speaker) DeletePeer(addr netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if _, ok := s.peers[addr]; !ok {
		return cfgErr("Peer.Addr", addr, ErrUnknownPeer)
	}
	if err := s.srv.DeletePeer(context.Background(), &api.DeletePeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("bgp: delete peer %s: %w", addr, err)
	}
	delete(s.peers, addr)
	return nil
}

// ResetPeer closes the session and lets it come back, for instance after
// the peer was torn down for exceeding MaxPrefixes (GoBGP leaves such a
// peer down until then).
func (s *Speaker) ResetPeer(addr netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if _, ok := s.peers[addr]; !ok {
		return cfgErr("Peer.Addr", addr, ErrUnknownPeer)
	}
	if err := s.srv.EnablePeer(context.Background(), &api.EnablePeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("bgp: reset peer %s: %w", addr, err)
	}
	if err := s.srv.ResetPeer(context.Background(), &api.ResetPeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("bgp: reset peer %s: %w", addr, err)
	}
	return nil
}

func checkRoute(prefix netip.Prefix, vrf string) (netip.Prefix, error) {
	if !prefix.IsValid() || prefix.Addr().Is4In6() || prefix.Addr().Zone() != "" {
		return prefix, cfgErr("prefix", prefix, ErrBadPrefix)
	}
	if err := checkVRF(vrf); err != nil {
		return prefix, err
	}
	return prefix.Masked(), nil
}

func unicastPath(prefix netip.Prefix, nexthop netip.Addr, withdraw bool) (*apiutil.Path, error) {
	nlri, err := bgp.NewIPAddrPrefix(prefix)
	if err != nil {
		return nil, cfgErr("prefix", prefix, ErrBadPrefix)
	}
	f := bgp.RF_IPv4_UC
	if prefix.Addr().Is6() {
		f = bgp.RF_IPv6_UC
	}
	nh, err := bgp.NewPathAttributeNextHop(nexthop)
	if err != nil {
		return nil, cfgErr("next hop", nexthop, ErrBadNextHop)
	}
	return &apiutil.Path{
		Family:     f,
		Nlri:       nlri,
		Attrs:      []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP), nh},
		Withdrawal: withdraw,
	}, nil
}

// Announce originates prefix in vrf. nexthop is either the zero Addr (or
// 0.0.0.0, ::), meaning "self": each peer gets our address on its session,
// which is what a host with several uplinks wants; or an address of the
// prefix's family, sent unchanged (a third-party next hop, which an eBGP
// peer accepts only on its own subnet). Announcing a prefix again replaces
// its next hop. vswitchd announces one prefix per container block, not per
// container.
func (s *Speaker) Announce(prefix netip.Prefix, nexthop netip.Addr, vrf string) error {
	prefix, err := checkRoute(prefix, vrf)
	if err != nil {
		return err
	}
	if !nexthop.IsValid() {
		nexthop = netip.IPv6Unspecified()
		if prefix.Addr().Is4() {
			nexthop = netip.IPv4Unspecified()
		}
	}
	if nexthop.IsMulticast() || nexthop.Zone() != "" || nexthop.Is4() != prefix.Addr().Is4() {
		return cfgErr("next hop", nexthop, ErrBadNextHop)
	}
	p, err := unicastPath(prefix, nexthop, false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if err := s.ensureVRF(vrf); err != nil {
		return err
	}
	if _, err := s.srv.AddPath(apiutil.AddPathRequest{VRFID: vrf, Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("bgp: announce %s in VRF %q: %w", prefix, vrf, err)
	}
	s.announced[routeKey{vrf, prefix}] = nexthop
	return nil
}

// Withdraw stops announcing prefix in vrf.
func (s *Speaker) Withdraw(prefix netip.Prefix, vrf string) error {
	prefix, err := checkRoute(prefix, vrf)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	k := routeKey{vrf, prefix}
	nh, ok := s.announced[k]
	if !ok {
		return cfgErr("prefix", prefix, ErrNotAnnounced)
	}
	p, err := unicastPath(prefix, nh, true)
	if err != nil {
		return err
	}
	if err := s.srv.DeletePath(apiutil.DeletePathRequest{VRFID: vrf, Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("bgp: withdraw %s in VRF %q: %w", prefix, vrf, err)
	}
	delete(s.announced, k)
	return nil
}

// SessionState is a peer's BGP finite-state-machine state (RFC 4271).
type SessionState uint8

const (
	StateUnknown SessionState = iota
	StateIdle
	StateConnect
	StateActive
	StateOpenSent
	StateOpenConfirm
	StateEstablished
)

var stateNames = [...]string{"unknown", "idle", "connect", "active", "opensent", "openconfirm", "established"}

func (st SessionState) String() string {
	if int(st) < len(stateNames) {
		return stateNames[st]
	}
	return "unknown"
}

func stateFromAPI(st api.PeerState_SessionState) SessionState {
	switch st {
	case api.PeerState_SESSION_STATE_IDLE:
		return StateIdle
	case api.PeerState_SESSION_STATE_CONNECT:
		return StateConnect
	case api.PeerState_SESSION_STATE_ACTIVE:
		return StateActive
	case api.PeerState_SESSION_STATE_OPENSENT:
		return StateOpenSent
	case api.PeerState_SESSION_STATE_OPENCONFIRM:
		return StateOpenConfirm
	case api.PeerState_SESSION_STATE_ESTABLISHED:
		return StateEstablished
	}
	return StateUnknown
}

// PeerInfo is a peer's configuration and live state, for `vsctl bgp/show`
// and metrics.
type PeerInfo struct {
	Peer
	State SessionState
	// PrefixLimitHit: the session was torn down for exceeding MaxPrefixes
	// and stays down until ResetPeer (or delete and add).
	PrefixLimitHit bool
	// Uptime is how long the session has been established (0 otherwise).
	Uptime time.Duration
	// Received and Accepted count prefixes in the peer's Adj-RIB-In, Sent
	// those we advertise to it, over IPv4 and IPv6 unicast.
	Received, Accepted, Sent int
	// LastDown says why the session last went down, if it did.
	LastDown string
}

// Peers lists the configured peers, sorted by VRF and address.
func (s *Speaker) Peers() ([]PeerInfo, error) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil, ErrStopped
	}
	conf := make(map[netip.Addr]Peer, len(s.peers))
	for a, p := range s.peers {
		conf[a] = p
	}
	s.mu.Unlock()
	var out []PeerInfo
	now := time.Now()
	err := s.srv.ListPeer(context.Background(), &api.ListPeerRequest{EnableAdvertised: true}, func(ap *api.Peer) {
		if ap.Conf == nil || ap.State == nil {
			return
		}
		addr, err := netip.ParseAddr(ap.Conf.NeighborAddress)
		if err != nil {
			return
		}
		pi := PeerInfo{Peer: conf[addr], State: stateFromAPI(ap.State.SessionState)}
		pi.Addr = addr
		pi.PrefixLimitHit = ap.State.AdminState == api.PeerState_ADMIN_STATE_PFX_CT
		if pi.State == StateEstablished && ap.Timers != nil && ap.Timers.State != nil && ap.Timers.State.Uptime != nil {
			pi.Uptime = now.Sub(ap.Timers.State.Uptime.AsTime()).Truncate(time.Second)
		}
		for _, as := range ap.AfiSafis {
			if as.State != nil {
				pi.Received += int(as.State.Received)
				pi.Accepted += int(as.State.Accepted)
				pi.Sent += int(as.State.Advertised)
			}
		}
		if ap.State.DisconnectReason != api.PeerState_DISCONNECT_REASON_UNSPECIFIED {
			pi.LastDown = strings.ToLower(strings.TrimPrefix(ap.State.DisconnectReason.String(), "DISCONNECT_REASON_"))
			if ap.State.DisconnectMessage != "" {
				pi.LastDown += ": " + ap.State.DisconnectMessage
			}
		}
		out = append(out, pi)
	})
	if err != nil {
		return nil, fmt.Errorf("bgp: list peers: %w", err)
	}
	slices.SortFunc(out, func(a, b PeerInfo) int {
		if c := strings.Compare(a.VRF, b.VRF); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	return out, nil
}
