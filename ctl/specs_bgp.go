package ctl

// The BGP commands (routed mode, issue 22). bgp/set configures and starts
// the embedded speaker; neighbors and announced prefixes are stored with
// the rest of the desired configuration and replayed at start. Routes the
// peers send are installed in the switch's FIBs (route/show lists them
// with type bgp) and never stored. Setting what is there is a no-op.
var bgpSpecs = []Spec{
	{Name: "bgp/set", Usage: "as=N router-id=A.B.C.D [listen-port=N] [listen-addr=ADDR,...] [graceful-restart=on|off] [restart-time=S] [endpoint-nexthop=ADDR,...]",
		Help: "configure and start the BGP speaker (listen-port defaults to 179, 0 only connects out; listen-addr restricts the listener; restart-time is what peers keep our routes for, default 120; endpoint-nexthop, one per family, is the next hop of the blocks announced for routed endpoints, default the speaker's own address); a change restarts the speaker and its sessions (a change of endpoint-nexthop only re-announces)", MinArgs: 2, MaxArgs: 7},
	{Name: "bgp/unset", Help: "stop the BGP speaker and delete its configuration (neighbors and announcements too): the sessions close and their routes leave the FIB; a no-op without BGP", MaxArgs: 0},
	{Name: "bgp/neighbor-add", Usage: "ADDR as=N [vrf=NAME] [password=P] [max-prefixes=N] [hold-time=S] [passive]",
		Help: "add a BGP neighbor (needs bgp/set); its routes go to the VRF's FIB; the same neighbor again is a no-op, another with that address is refused (exists)", MinArgs: 2, MaxArgs: 7},
	{Name: "bgp/neighbor-del", Usage: "ADDR", Help: "delete a BGP neighbor; its routes are withdrawn from the FIB at once", MinArgs: 1, MaxArgs: 1},
	{Name: "bgp/neighbor-reset", Usage: "ADDR", Help: "restart a neighbor's session: one stopped by its max-prefix limit comes back (changes no configuration)", MinArgs: 1, MaxArgs: 1},
	{Name: "bgp/announce", Usage: "PREFIX [vrf=NAME] [nexthop=ADDR]", Help: "announce a container block to the neighbors (of the VRF); next hop: nexthop= (the switch's router interface address on the uplink, when the switch routes the block), else the speaker's own address; again is a no-op", MinArgs: 1, MaxArgs: 3},
	{Name: "bgp/withdraw", Usage: "PREFIX [vrf=NAME]", Help: "stop announcing a prefix (no-op if not announced)", MinArgs: 1, MaxArgs: 3},
	{Name: "bgp/show", Help: "BGP speaker: sessions (state, uptime, prefixes received/accepted/sent), announced prefixes, learned routes", Read: true},
}

func init() { Specs = append(Specs, bgpSpecs...) }

// BGPShowView is bgp/show's answer.
type BGPShowView struct {
	// Configured: bgp/set was given. Running: the speaker runs.
	Configured bool   `json:"configured"`
	Running    bool   `json:"running"`
	AS         uint32 `json:"as,omitempty"`
	RouterID   string `json:"router_id,omitempty"`
	ListenPort int    `json:"listen_port"`
	// ListenAddrs restrict the listener (none: every address).
	ListenAddrs     []string `json:"listen_addrs,omitempty"`
	GracefulRestart bool     `json:"graceful_restart"`
	RestartTime     int      `json:"restart_time,omitempty"` // seconds
	// EndpointNextHops: bgp/set endpoint-nexthop=.
	EndpointNextHops []string `json:"endpoint_nexthops,omitempty"`
	// Error says why the speaker is not running, if it should be.
	Error     string             `json:"error,omitempty"`
	Neighbors []BGPNeighborView  `json:"neighbors"`
	Announced []BGPAnnouncedView `json:"announced"`
	// Learned counts the routes the peers sent (one per VRF and prefix);
	// Installed those in the FIB (a route whose next hops lie in no
	// connected subnet, or that a static route overrides, is not).
	Learned   int `json:"learned_routes"`
	Installed int `json:"installed_routes"`
}

// BGPNeighborView is one neighbor: its configuration and session.
type BGPNeighborView struct {
	Addr        string `json:"addr"`
	AS          uint32 `json:"as"`
	VRF         string `json:"vrf,omitempty"`
	Password    bool   `json:"password,omitempty"` // set; the password is not shown
	MaxPrefixes int    `json:"max_prefixes,omitempty"`
	HoldTime    int    `json:"hold_time,omitempty"` // seconds
	Passive     bool   `json:"passive,omitempty"`
	// State is the session's state (idle, active, established...).
	State string `json:"state"`
	// Uptime is how long the session has been established, in seconds.
	Uptime         int    `json:"uptime"`
	Received       int    `json:"received"`
	Accepted       int    `json:"accepted"`
	Sent           int    `json:"sent"`
	PrefixLimitHit bool   `json:"prefix_limit_hit,omitempty"`
	LastDown       string `json:"last_down,omitempty"`
}

// BGPAnnouncedView is one announced prefix.
type BGPAnnouncedView struct {
	Prefix  string `json:"prefix"`
	VRF     string `json:"vrf,omitempty"`
	NextHop string `json:"nexthop,omitempty"`
	// Endpoints: announced because routed endpoints have addresses in
	// it (not by bgp/announce); withdrawn with the last of them.
	Endpoints bool `json:"endpoints,omitempty"`
}
