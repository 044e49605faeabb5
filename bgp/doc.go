// Package bgp is vswitchd's embedded BGP speaker for routed mode (issue
// 22): it tells the datacenter's routers which container blocks this host
// owns and hands the routes they send to the switch's FIBs. It is built on
// GoBGP's server package (github.com/osrg/gobgp/v4/pkg/server) and knows
// nothing of packets or of the switch: package ctl/daemon wires it (see
// "Wiring" below). GoBGP is built from third_party/gobgp: v4.8.0 with
// fixes for two data races, one on a session that flaps within 30 s of
// coming up, one when both sides dial at once
// (third_party/gobgp/PATCHES.md).
//
// # API
//
//	s, err := bgp.Start(bgp.Config{AS: 65000, RouterID: rid, ListenPort: 179,
//		GracefulRestart: bgp.GracefulRestart{Enabled: true, RestartTime: 120 * time.Second},
//		OnRoutes: func(evs []bgp.RouteEvent) { /* install in the VRFs' FIBs */ }})
//	s.AddPeer(bgp.Peer{Addr: tor, AS: 65100, HoldTime: 9 * time.Second, MaxPrefixes: 100000})
//	s.Announce(netip.MustParsePrefix("10.244.3.0/26"), netip.Addr{}, "")  // next hop self
//	s.Withdraw(netip.MustParsePrefix("10.244.3.0/26"), "")
//	s.Peers()  // state, uptime, prefixes received/accepted/sent
//	s.Stop()
//
// Bad input (AS 0, a router ID that is not IPv4, a bad or duplicate peer
// address, a negative max-prefix, a hold time under 3 s, a VRF name with
// odd characters, a prefix or next hop of the wrong family...) is refused
// with a *ConfigError wrapping a sentinel (ErrBadAS, ErrDuplicatePeer,
// ...) before anything is handed to GoBGP, so a refused call changes
// nothing.
//
// # Learned routes and ECMP
//
// GoBGP runs with multipath on (global use-multiple-paths). For each
// destination it then keeps, besides the best path, every path that ties
// with it in GoBGP's Path.Compare: same locality (both learned), same eBGP
// or iBGP origin, LOCAL_PREF, AS_PATH length, ORIGIN and MED (the router
// ID and peer address tie-breaks are not applied). Its best-path watcher
// reports, per change, the paths that joined or changed in that set and,
// as withdrawals, those that left it. The speaker folds these deltas into
// a per-(VRF, prefix) table of (peer, ADD-PATH ID) -> next hop and emits a
// RouteEvent carrying the prefix's whole next-hop set (sorted, duplicates
// removed) whenever that set changes, or Withdrawn when it becomes empty.
// So a FIB can simply replace what it has for (VRF, prefix). Events that
// change nothing (a path marked stale by graceful restart, a duplicate
// announcement) are not passed on. All events of one GoBGP batch (about
// one UPDATE message, or one peer going down) arrive in one OnRoutes call
// from one goroutine, in order, so the switch can compile and publish its
// tables once per call rather than per route. Our own announcements never
// come back as RouteEvents.
//
// Withdrawals are reported as soon as GoBGP processes them: an UPDATE
// withdrawing a prefix, a peer deleted, a session that closes (a killed
// peer's kernel resets the TCP connection, so that is at once) or whose
// hold time expires (a frozen or unreachable peer). With graceful restart
// negotiated, a peer whose session drops keeps its routes (GoBGP marks them
// stale) for the restart time the peer advertised; they are withdrawn when
// that expires, or replaced when the peer comes back and sends End-of-RIB.
// Config.GracefulRestart.RestartTime is the other direction: how long our
// peers keep our routes when vswitchd restarts.
//
// # Announcements and export policy
//
// Announce originates one prefix per call; vswitchd announces each
// container block (the IPAM's per-host block, e.g. a /26, or a `vsctl`
// route marked for announcement) once, not each container's /32. The
// next hop is normally "self" (the zero Addr): GoBGP puts the session's
// local address there for each peer. A global export policy lets only
// locally originated routes out, so the host never re-advertises what one
// router told it to another (it must not become a transit path).
//
// # VRFs
//
// Peer.VRF and Announce's vrf map to GoBGP VRFs created on first use, each
// with its own route distinguisher and route target RouterID:n; routes
// from a peer in VRF v are imported into v only, reported with VRF v (the
// speaker maps the distinguisher back to the name) and announcements in v
// go only to v's peers. Peers of the default VRF negotiate only IPv4 and
// IPv6 unicast, so VPN routes never leave the host. VRFs are never deleted
// (a handful per host).
//
// # Max-prefix and malformed input
//
// Peer.MaxPrefixes becomes GoBGP's per-family prefix limit: a peer that
// sends more is sent a Cease (maximum number of prefixes reached), its
// routes are withdrawn and it stays down (PeerInfo.PrefixLimitHit) until
// ResetPeer or a delete and add with a higher limit. Malformed messages
// are GoBGP's job, and GoBGP v4 applies RFC 7606 by default (its
// per-neighbor treat-as-withdraw is on; the speaker leaves it so). In an
// established session, an UPDATE with a bad ORIGIN, no NEXT_HOP or
// NEXT_HOP 0.0.0.0 is treated as a withdrawal of the prefixes it
// carries: none is installed, one the peer had announced before is
// withdrawn, the session and the peer's other routes stay. An UPDATE
// whose NEXT_HOP length overruns the attributes is also "treated as
// withdraw" by GoBGP, but it stops decoding at that attribute and so finds
// no prefix to withdraw (RFC 7606 would withdraw them): nothing changes,
// an earlier route for the same prefix stays. An UPDATE whose NLRI cannot be
// parsed (truncated) or whose path-attribute length overruns the message
// resets the session with a NOTIFICATION (UPDATE Message Error, subcode
// 10 or 1): all the peer's routes are withdrawn and the session comes
// back after the 5 s idle hold. Well-formed routes with a next hop the
// switch cannot use (IPv4 or IPv6 link-local) are reported and the daemon
// leaves them out of the FIB; a path whose IPv6 next hop is :: has no
// next hop and is reported as withdrawn. Garbage before or instead of an
// OPEN gets a NOTIFICATION and the connection closed; connections from
// unknown addresses are closed at accept. Tests: TestGarbage here (random
// bytes, bad lengths, bad OPENs, a lying UPDATE right after OPEN, then a
// real session), and ctl/daemon's TestBGPMalformedUpdates (each case above
// from a scripted peer against a running daemon).
//
// # Network namespaces
//
// Linux network namespaces are per thread, and a socket belongs to the
// namespace of the thread that created it. GoBGP creates its listening
// sockets from its server loop goroutine, but dials out from each peer's
// FSM goroutine, which the Go scheduler runs on any thread; there is no
// hook to make those dials in another namespace. Running Serve on a thread
// locked into a namespace would therefore confine the listener only, and
// only passive peers would work. So the speaker lives in the namespace of
// the process (vswitchd runs in the host's), and the tests run it in the
// host namespace too, with each BIRD "datacenter router" in a namespace of
// its own behind a veth pair whose host end carries the only addresses the
// speaker listens on and peers with (10.179.N.1/24 and fd79:N::1/64,
// created by the test); eth0 and the host's own addresses are never used.
// Config.ListenAddrs restricts the listener to such addresses.
//
// # GoBGP caveats
//
// GoBGP's route-selection and multipath switches are package globals
// (table.SelectionOptions, table.UseMultiplePaths): all speakers in one
// process share them (every Speaker sets multipath on). GoBGP's watcher
// goroutine reads fields of the paths it reports that its FSM goroutines
// write later without a lock (osrg/gobgp#2705; Path.MarkStale under
// graceful restart); after each batch the speaker makes one management
// call, which passes through the lock those writers take, so the race
// detector sees the order.
//
// # Tests and figures
//
// The kernel tests (root, BIRD 2 from Debian's bird2) cover: sessions over
// IPv4 and IPv6; BIRD's routes as RouteEvents; our announcements in
// `birdc show route` and gone after Withdraw; BIRD withdrawing a route;
// a frozen BIRD dropped after the 3 s hold time (3.0 s measured); kill -9
// without graceful restart (withdrawn at once) and with it (kept for
// BIRD's 4 s restart time, then withdrawn; a BIRD back within its restart
// time causes no event at all); ECMP over two routers and back to one;
// a VRF peer; TCP MD5 passwords; max-prefix teardown and reset; garbage on
// the port. BenchmarkBIRDRoutes on the 2-core CI VM (no race detector):
// 45,000-50,000 routes/s from BIRD to OnRoutes when BIRD announces 10,000
// or 100,000 /32s, about the same when it withdraws them, one event per
// route each way (BIRD itself uses under 10% of a core; the limit is
// GoBGP's per-peer processing, one goroutine per session);
// BenchmarkRIBTracker puts the speaker's own share at about 600,000
// routes/s. End to end, from BIRD into the switch's FIB through a running
// daemon (ctl/daemon's BenchmarkBGPInstallFromBIRD): 20,000-41,000
// routes/s on the same VM under other load; docs/benchmarks.md.
//
// # Wiring (ctl/daemon)
//
// ctl/daemon runs one Speaker per `vsctl bgp/set` (bgp_speaker.go): the
// commands bgp/set, bgp/neighbor-add, -del, -reset, bgp/announce,
// bgp/withdraw and bgp/show are stored with the rest of the desired
// configuration and replayed at start (bgp.go); OnRoutes feeds a table of
// learned routes that every configuration commit publishes into the VRFs'
// FIBs with the static routes, where route/show lists them with type bgp,
// and which is emptied when the speaker stops (bgp_routes.go); routed
// endpoints' blocks are announced and withdrawn with them
// (bgp_blocks.go); Prometheus gets sessions by state and prefixes per peer
// (metrics_bgp.go). Routed container ports (/32 routes, proxy ARP/ND) are
// the switch's side. docs/routing.md is the user's guide.
//
// # Not done
//
//   - IPv6 next hops must be global addresses: the daemon leaves out a
//     link-local next hop (it would need the session's interface as
//     zone), so a peer that sends only one has its route learned but not
//     installed.
//   - Restarting-speaker graceful restart: peers keep our routes while we
//     restart, but GoBGP's own deferral of best-path selection until every
//     peer's End-of-RIB (its "restarting" mode) is not enabled.
//   - TCP-AO, BFD, dynamic neighbors and peer groups, route maps beyond the
//     fixed export policy.
package bgp
