package bgp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Sentinel errors; every error the package returns for bad input wraps one
// of them in a *ConfigError, so errors.Is works and the message says which
// field was wrong. A call that fails this way changes nothing.
var (
	ErrBadAS          = errors.New("bad AS number")
	ErrBadRouterID    = errors.New("router ID must be an IPv4 address")
	ErrBadPort        = errors.New("bad listen port")
	ErrBadAddress     = errors.New("bad address")
	ErrBadHoldTime    = errors.New("bad hold time")
	ErrBadMaxPrefixes = errors.New("bad max-prefix limit")
	ErrBadPassword    = errors.New("bad password")
	ErrBadVRF         = errors.New("bad VRF name")
	ErrBadRestartTime = errors.New("bad graceful-restart time")
	ErrDuplicatePeer  = errors.New("peer already configured")
	ErrUnknownPeer    = errors.New("no such peer")
	ErrBadPrefix      = errors.New("bad prefix")
	ErrBadNextHop     = errors.New("bad next hop")
	ErrNotAnnounced   = errors.New("prefix not announced")
	ErrStopped        = errors.New("speaker stopped")
)

// ConfigError says which field of a request was rejected and why.
type ConfigError struct {
	Field string // "AS", "Peer.Addr", "prefix", ...
	Value string // the offending value, as text
	Err   error  // one of the sentinel errors above
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("bgp: %s %q: %v", e.Field, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

func cfgErr(field string, value any, err error) error {
	return &ConfigError{Field: field, Value: fmt.Sprint(value), Err: err}
}

// Config is the speaker's global configuration.
type Config struct {
	// AS is the local autonomous system number (1..4294967294; 4-byte AS
	// numbers are fine).
	AS uint32
	// RouterID is the BGP identifier, an IPv4 address (it need not be
	// configured anywhere, but must be unique among the peers).
	RouterID netip.Addr
	// ListenPort is the TCP port to accept sessions on; 0 means do not
	// listen (the speaker only connects out). 179 is the standard port.
	ListenPort int
	// ListenAddrs restricts the listener to these addresses; empty means
	// every address (0.0.0.0 and ::).
	ListenAddrs []netip.Addr
	// GracefulRestart, when enabled, is advertised to every peer (RFC 4724
	// capability, IPv4 and IPv6 unicast): a peer that restarts keeps its
	// routes in our RIB (and so in the FIB) for its announced restart time,
	// and our peers keep ours for RestartTime when we restart.
	GracefulRestart GracefulRestart
	// OnRoutes receives learned-route changes, in order, from one
	// goroutine owned by the speaker. A call carries every change GoBGP
	// computed from one batch (typically one UPDATE message or one peer
	// going down), so a FIB can publish once per call. The slice is only
	// valid during the call; the callback must not call back into the
	// Speaker's Stop. Nil discards route events.
	OnRoutes func([]RouteEvent)
	// Logger gets GoBGP's logs; nil discards them.
	Logger *slog.Logger
}

// GracefulRestart configures RFC 4724 graceful restart.
type GracefulRestart struct {
	Enabled bool
	// RestartTime is what we advertise: how long peers keep our routes
	// after our session drops (1s..4095s; 0 means 120s).
	RestartTime time.Duration
}

// Peer is one configured BGP neighbor.
type Peer struct {
	// Addr is the neighbor's address, IPv4 or IPv6 (IPv6 link-local
	// peers, which need an interface, are not supported yet).
	Addr netip.Addr
	// AS is the neighbor's AS; equal to Config.AS means iBGP.
	AS uint32
	// Password enables TCP MD5 signatures (RFC 2385); at most 80 bytes.
	Password string
	// VRF is the routing table the peer's routes go to and whose
	// announcements it receives; "" is the default table.
	VRF string
	// MaxPrefixes tears the session down when the peer sends more than
	// this many prefixes of one family; 0 means no limit.
	MaxPrefixes int
	// HoldTime is proposed to the peer (0 means 90s; otherwise 3s..65535s).
	// Keepalives go out every third of the negotiated time.
	HoldTime time.Duration
	// Passive makes the speaker wait for the peer to connect instead of
	// connecting too (needs ListenPort).
	Passive bool
}

const maxVRFName = 64

func (c *Config) validate() error {
	if c.AS == 0 || c.AS == 0xffffffff || c.AS == 23456 {
		return cfgErr("AS", c.AS, ErrBadAS)
	}
	if !c.RouterID.Is4() || c.RouterID.IsUnspecified() {
		return cfgErr("RouterID", c.RouterID, ErrBadRouterID)
	}
	if c.ListenPort < 0 || c.ListenPort > 65535 {
		return cfgErr("ListenPort", c.ListenPort, ErrBadPort)
	}
	for _, a := range c.ListenAddrs {
		if !a.IsValid() {
			return cfgErr("ListenAddrs", a, ErrBadAddress)
		}
	}
	if gr := c.GracefulRestart; gr.Enabled && (gr.RestartTime < 0 || gr.RestartTime > 4095*time.Second ||
		gr.RestartTime%time.Second != 0) {
		return cfgErr("GracefulRestart.RestartTime", gr.RestartTime, ErrBadRestartTime)
	}
	return nil
}

func (p *Peer) validate() error {
	if !p.Addr.IsValid() || p.Addr.IsUnspecified() || p.Addr.IsMulticast() || p.Addr.Zone() != "" ||
		(p.Addr.Is6() && p.Addr.IsLinkLocalUnicast()) || p.Addr.Is4In6() ||
		(p.Addr.Is4() && p.Addr == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
		return cfgErr("Peer.Addr", p.Addr, ErrBadAddress)
	}
	if p.AS == 0 || p.AS == 0xffffffff || p.AS == 23456 {
		return cfgErr("Peer.AS", p.AS, ErrBadAS)
	}
	if len(p.Password) > 80 {
		return cfgErr("Peer.Password", "("+fmt.Sprint(len(p.Password))+" bytes)", ErrBadPassword)
	}
	if err := checkVRF(p.VRF); err != nil {
		return err
	}
	if p.MaxPrefixes < 0 || int64(p.MaxPrefixes) > 0xffffffff {
		return cfgErr("Peer.MaxPrefixes", p.MaxPrefixes, ErrBadMaxPrefixes)
	}
	if p.HoldTime != 0 && (p.HoldTime < 3*time.Second || p.HoldTime > 65535*time.Second ||
		p.HoldTime%time.Second != 0) {
		return cfgErr("Peer.HoldTime", p.HoldTime, ErrBadHoldTime)
	}
	return nil
}

func checkVRF(name string) error {
	if len(name) > maxVRFName {
		return cfgErr("VRF", name, ErrBadVRF)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return cfgErr("VRF", name, ErrBadVRF)
		}
	}
	return nil
}
