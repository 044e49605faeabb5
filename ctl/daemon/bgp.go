package daemon

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"syscall"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The BGP commands: bgp/set, bgp/neighbor-add, bgp/neighbor-del,
// bgp/neighbor-reset, bgp/announce, bgp/withdraw, bgp/show. The configuration is part of the
// desired State (State.BGP, normalized) and committed like every other
// change: the running speaker is changed first (it validates, a refused
// request changes nothing), then the store keeps it before the command
// returns; if storing fails, the speaker is changed back. Setting what is
// there is a no-op that writes nothing. Learned routes: bgp_routes.go.

func (d *Daemon) bgpHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"bgp/set": d.bgpSet, "bgp/unset": d.bgpUnset, "bgp/neighbor-add": d.bgpNeighborAdd, "bgp/neighbor-del": d.bgpNeighborDel,
		"bgp/neighbor-reset": d.bgpNeighborReset,
		"bgp/announce":       d.bgpAnnounce, "bgp/withdraw": d.bgpWithdraw, "bgp/show": d.bgpShow,
	}
}

func parseUint(k, v string, lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, ctl.Errorf(ctl.CodeInvalid, "%s=%s: want a number from %d to %d", k, v, lo, hi)
	}
	return n, nil
}

func parseOnOff(k, v string) (bool, error) {
	switch v {
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, ctl.Errorf(ctl.CodeInvalid, "%s=%s: want on or off", k, v)
}

func parseAS(v string) (uint32, error) {
	n, err := parseUint("as", v, 1, 0xfffffffe)
	if err == nil && n == 23456 {
		err = ctl.Errorf(ctl.CodeInvalid, "as=23456 is AS_TRANS, not an AS")
	}
	return uint32(n), err
}

func (d *Daemon) bgpSet(args []string) (any, error) {
	opts, err := ctl.ParseOptions(args)
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "as", "router-id", "listen-port", "listen-addr", "graceful-restart", "restart-time", "endpoint-nexthop"); err != nil {
		return nil, err
	}
	if opts["as"] == "" || opts["router-id"] == "" {
		return nil, ctl.Errorf(ctl.CodeUsage, "bgp/set: as= and router-id= are required")
	}
	c := BGPConfig{ListenPort: 179}
	if c.AS, err = parseAS(opts["as"]); err != nil {
		return nil, err
	}
	rid, err := netip.ParseAddr(opts["router-id"])
	if err != nil || !rid.Is4() || rid.IsUnspecified() {
		return nil, ctl.Errorf(ctl.CodeInvalid, "router-id=%s: want an IPv4 address", opts["router-id"])
	}
	c.RouterID = rid.String()
	if v, ok := opts["listen-port"]; ok {
		n, err := parseUint("listen-port", v, 0, 65535)
		if err != nil {
			return nil, err
		}
		c.ListenPort = int(n)
	}
	if v := opts["listen-addr"]; v != "" {
		for _, s := range splitList(v) {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, ctl.Errorf(ctl.CodeInvalid, "listen-addr=%s: want addresses", v)
			}
			c.ListenAddrs = append(c.ListenAddrs, a.String())
		}
	}
	if v, ok := opts["graceful-restart"]; ok {
		if c.GracefulRestart, err = parseOnOff("graceful-restart", v); err != nil {
			return nil, err
		}
	}
	if v, ok := opts["restart-time"]; ok {
		n, err := parseUint("restart-time", v, 1, 4095)
		if err != nil {
			return nil, err
		}
		c.RestartTime = int(n)
	}
	if v := opts["endpoint-nexthop"]; v != "" {
		var fams [2]bool
		for _, s := range splitList(v) {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" || !a.IsGlobalUnicast() {
				return nil, ctl.Errorf(ctl.CodeInvalid, "endpoint-nexthop=%s: want unicast addresses", v)
			}
			a = a.Unmap()
			if f := a.Is6(); fams[btoi(f)] {
				return nil, ctl.Errorf(ctl.CodeInvalid, "endpoint-nexthop=%s: at most one address per family", v)
			} else {
				fams[btoi(f)] = true
			}
			c.EndpointNextHops = append(c.EndpointNextHops, a.String())
		}
	}
	old := d.state.BGP
	if old != nil {
		if i := slices.IndexFunc(old.Neighbors, func(n BGPNeighbor) bool { return n.Passive }); i >= 0 && c.ListenPort == 0 {
			return nil, ctl.Errorf(ctl.CodeInvalid, "listen-port=0: neighbor %s is passive (waits for the peer to connect), and a speaker that does not listen would leave it out; bgp/neighbor-del it first, or keep a listen port", old.Neighbors[i].Addr)
		}
		c.Neighbors, c.Announce = old.Neighbors, old.Announce
		if d.bgp.speaker != nil && bgpGlobalEqual(old, &c) {
			if slices.Equal(old.EndpointNextHops, c.EndpointNextHops) {
				return nil, nil
			}
			// Only the endpoint blocks' next hop: re-announced by the
			// commit, the sessions stay up.
			next := d.state.clone()
			next.BGP = &c
			return nil, d.commit(next)
		}
	}
	// A listener the new configuration cannot have is found before the
	// running speaker stops: a refused bgp/set changes nothing (it
	// restarted the old speaker, its sessions and learned routes gone
	// for seconds). On the running speaker's own port the probe would
	// meet its listener, so that case is left to the start, as before.
	if old == nil || d.bgp.speaker == nil || old.ListenPort != c.ListenPort {
		if err := checkListen(&c); err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "listen-port=%d: %v; nothing changed", c.ListenPort, err)
		}
	}
	d.stopSpeaker(true)
	if err := d.runSpeaker(&c); err != nil {
		if old != nil {
			if rerr := d.runSpeaker(old); rerr != nil {
				d.log.Error("BGP speaker not restarted with its previous configuration", "err", rerr)
			}
		} else {
			d.bgp.err = ""
		}
		return nil, bgpError(err)
	}
	next := d.state.clone()
	next.BGP = &c
	if err := d.commit(next); err != nil {
		d.stopSpeaker(true)
		if old != nil {
			d.runSpeaker(old)
		}
		return nil, err
	}
	return nil, nil
}

// bgpUnset stops the speaker and deletes the BGP configuration, as
// FRR's "no router bgp": neighbors and announcements go with it.
func (d *Daemon) bgpUnset([]string) (any, error) {
	old := d.state.BGP
	if old == nil {
		return nil, nil
	}
	next := d.state.clone()
	next.BGP = nil
	running := d.bgp.speaker != nil
	d.stopSpeaker(false) // the commit takes the learned routes out of the FIB
	d.bgp.err = ""
	if err := d.commit(next); err != nil {
		if running {
			if rerr := d.runSpeaker(old); rerr != nil {
				d.log.Error("BGP speaker not restarted after a failed bgp/unset", "err", rerr)
			}
		}
		return nil, err
	}
	return nil, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func bgpGlobalEqual(a, b *BGPConfig) bool {
	return a.AS == b.AS && a.RouterID == b.RouterID && a.ListenPort == b.ListenPort && slices.Equal(a.ListenAddrs, b.ListenAddrs) &&
		a.GracefulRestart == b.GracefulRestart && a.RestartTime == b.RestartTime
}

// needSpeaker fails unless bgp/set has started the speaker.
func (d *Daemon) needSpeaker() error {
	switch {
	case d.state.BGP == nil:
		return ctl.Errorf(ctl.CodeNotFound, "BGP is not configured (bgp/set first)")
	case d.bgp.speaker == nil:
		return ctl.Errorf(ctl.CodeUnavail, "the BGP speaker is not running: %s", d.bgp.err)
	}
	return nil
}

// bgpVRF normalizes a vrf= option: "" for the default, else a VRF that
// exists.
func (d *Daemon) bgpVRF(v string) (string, error) {
	if v == "" || v == vswitch.DefaultVRF {
		return "", nil
	}
	if !slices.ContainsFunc(d.state.VRFs, func(x vswitch.VRF) bool { return x.Name == v }) {
		return "", ctl.Errorf(ctl.CodeNotFound, "no VRF %s", v)
	}
	return v, nil
}

func (d *Daemon) bgpNeighborAdd(args []string) (any, error) {
	a, err := netip.ParseAddr(args[0])
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: not an address", args[0])
	}
	rest := slices.Clone(args[1:])
	for i, o := range rest {
		if o == "passive" {
			rest[i] = "passive=on"
		}
	}
	opts, err := ctl.ParseOptions(rest)
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "as", "vrf", "password", "max-prefixes", "hold-time", "passive"); err != nil {
		return nil, err
	}
	if opts["as"] == "" {
		return nil, ctl.Errorf(ctl.CodeUsage, "bgp/neighbor-add: as= is required")
	}
	n := BGPNeighbor{Addr: a.String(), Password: opts["password"]}
	if n.AS, err = parseAS(opts["as"]); err != nil {
		return nil, err
	}
	if v, ok := opts["max-prefixes"]; ok {
		m, err := strconv.ParseInt(v, 10, 64)
		if err != nil || m < 0 || m > 0xffffffff {
			return nil, ctl.Errorf(ctl.CodeInvalid, "max-prefixes=%s: want 0 (no limit) to 4294967295", v)
		}
		n.MaxPrefixes = int(m)
	}
	if v, ok := opts["hold-time"]; ok {
		h, err := parseUint("hold-time", v, 3, 65535)
		if err != nil {
			return nil, err
		}
		n.HoldTime = int(h)
	}
	if v, ok := opts["passive"]; ok {
		if n.Passive, err = parseOnOff("passive", v); err != nil {
			return nil, err
		}
	}
	if err := d.needSpeaker(); err != nil {
		return nil, err
	}
	if n.VRF, err = d.bgpVRF(opts["vrf"]); err != nil {
		return nil, err
	}
	if n.Addr == d.state.BGP.RouterID {
		return nil, ctl.Errorf(ctl.CodeInvalid, "neighbor %s is this speaker's router-id: a session to itself never comes up", n.Addr)
	}
	if n.Passive && d.state.BGP.ListenPort == 0 {
		return nil, ctl.Errorf(ctl.CodeInvalid, "passive: neighbor %s would wait for a connection that cannot come: the speaker does not listen (bgp/set listen-port=0); give bgp/set a listen-port= (default 179), or leave passive out", n.Addr)
	}
	for _, o := range d.state.BGP.Neighbors {
		if o.Addr == n.Addr {
			if o == n {
				return nil, nil
			}
			return nil, ctl.Errorf(ctl.CodeExists, "neighbor %s exists with other settings (bgp/neighbor-del it first)", n.Addr)
		}
	}
	if err := d.bgp.speaker.AddPeer(n.peer()); err != nil {
		return nil, bgpError(err)
	}
	next := d.state.clone()
	next.BGP.Neighbors = append(next.BGP.Neighbors, n)
	if err := d.commit(next); err != nil {
		d.bgp.speaker.DeletePeer(a)
		return nil, err
	}
	return nil, nil
}

func (d *Daemon) bgpNeighborDel(args []string) (any, error) {
	a, err := netip.ParseAddr(args[0])
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: not an address", args[0])
	}
	var i = -1
	if d.state.BGP != nil {
		i = slices.IndexFunc(d.state.BGP.Neighbors, func(n BGPNeighbor) bool { return n.Addr == a.String() })
	}
	if i < 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no BGP neighbor %s", a)
	}
	n := d.state.BGP.Neighbors[i]
	if d.bgp.speaker != nil {
		d.bgp.speaker.DeletePeer(a) // not there if it was refused at start
	}
	next := d.state.clone()
	next.BGP.Neighbors = slices.Delete(next.BGP.Neighbors, i, i+1)
	if err := d.commit(next); err != nil {
		if d.bgp.speaker != nil {
			d.bgp.speaker.AddPeer(n.peer())
		}
		return nil, err
	}
	return nil, nil
}

func (d *Daemon) bgpNeighborReset(args []string) (any, error) {
	a, err := netip.ParseAddr(args[0])
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: not an address", args[0])
	}
	if err := d.needSpeaker(); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(d.state.BGP.Neighbors, func(n BGPNeighbor) bool { return n.Addr == a.String() }) {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no BGP neighbor %s", a)
	}
	return nil, bgpError(d.bgp.speaker.ResetPeer(a))
}

// announceArgs parses PREFIX [vrf=NAME].
func (d *Daemon) announceArgs(args []string) (BGPAnnounced, error) {
	p, err := netip.ParsePrefix(args[0])
	if err != nil || p.Addr().Zone() != "" || p.Addr().Is4In6() {
		return BGPAnnounced{}, ctl.Errorf(ctl.CodeInvalid, "%s: want a prefix such as 10.244.3.0/26", args[0])
	}
	if p.Masked() != p {
		return BGPAnnounced{}, ctl.Errorf(ctl.CodeInvalid, "%s has host bits set (the block is %s)", p, p.Masked())
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return BGPAnnounced{}, err
	}
	if err := ctl.CheckOptions(opts, "vrf", "nexthop"); err != nil {
		return BGPAnnounced{}, err
	}
	a := BGPAnnounced{Prefix: p.String()}
	if v := opts["vrf"]; v != vswitch.DefaultVRF {
		a.VRF = v
	}
	if s := opts["nexthop"]; s != "" {
		nh, err := netip.ParseAddr(s)
		if err != nil || nh.Zone() != "" || nh.Is4In6() || nh.IsUnspecified() || nh.IsMulticast() || nh.Is4() != p.Addr().Is4() {
			return BGPAnnounced{}, ctl.Errorf(ctl.CodeInvalid, "nexthop=%s: want a unicast address of the prefix's family", s)
		}
		a.NextHop = nh.String()
	}
	return a, nil
}

// sameBlock reports whether two announcements are of one prefix in one
// VRF (whatever their next hops).
func sameBlock(a, b BGPAnnounced) bool { return a.Prefix == b.Prefix && a.VRF == b.VRF }

func (d *Daemon) bgpAnnounce(args []string) (any, error) {
	a, err := d.announceArgs(args)
	if err != nil {
		return nil, err
	}
	if err := d.needSpeaker(); err != nil {
		return nil, err
	}
	if a.VRF, err = d.bgpVRF(a.VRF); err != nil {
		return nil, err
	}
	if slices.Contains(d.state.BGP.Announce, a) {
		return nil, nil
	}
	if i := slices.IndexFunc(d.state.BGP.Announce, func(x BGPAnnounced) bool { return sameBlock(x, a) }); i >= 0 {
		return nil, ctl.Errorf(ctl.CodeExists, "%s is announced with another next hop (%q); withdraw it first", a.Prefix, d.state.BGP.Announce[i].NextHop)
	}
	if err := d.bgp.speaker.Announce(a.prefix(), a.nexthop(), a.VRF); err != nil {
		return nil, bgpError(err)
	}
	next := d.state.clone()
	next.BGP.Announce = append(next.BGP.Announce, a)
	if err := d.commit(next); err != nil {
		d.bgp.speaker.Withdraw(a.prefix(), a.VRF)
		return nil, err
	}
	return nil, nil
}

func (d *Daemon) bgpWithdraw(args []string) (any, error) {
	a, err := d.announceArgs(args)
	if err != nil {
		return nil, err
	}
	if a.VRF == vswitch.DefaultVRF {
		a.VRF = ""
	}
	if d.state.BGP == nil {
		return nil, nil
	}
	i := slices.IndexFunc(d.state.BGP.Announce, func(x BGPAnnounced) bool { return sameBlock(x, a) })
	if i < 0 {
		return nil, nil
	}
	want := a
	a = d.state.BGP.Announce[i] // bgp/withdraw needs no nexthop=
	if want.NextHop != "" && want.NextHop != a.NextHop {
		return nil, ctl.Errorf(ctl.CodeNotFound, "%s is announced with next hop %q", a.Prefix, a.NextHop)
	}
	if d.bgp.speaker != nil {
		d.bgp.speaker.Withdraw(a.prefix(), a.VRF) // not announced if refused at start
	}
	next := d.state.clone()
	next.BGP.Announce = slices.DeleteFunc(next.BGP.Announce, func(x BGPAnnounced) bool { return x == a })
	if err := d.commit(next); err != nil {
		if d.bgp.speaker != nil {
			d.bgp.speaker.Announce(a.prefix(), a.nexthop(), a.VRF)
		}
		return nil, err
	}
	return nil, nil
}

func (d *Daemon) bgpShow([]string) (any, error) {
	v := ctl.BGPShowView{Neighbors: []ctl.BGPNeighborView{}, Announced: []ctl.BGPAnnouncedView{},
		Running: d.bgp.speaker != nil, Error: d.bgp.err, Learned: d.bgp.learned.len(), Installed: len(d.state.bgpRoutes())}
	c := d.state.BGP
	if c == nil {
		return v, nil
	}
	v.Configured, v.AS, v.RouterID, v.ListenPort, v.ListenAddrs = true, c.AS, c.RouterID, c.ListenPort, c.ListenAddrs
	v.GracefulRestart, v.RestartTime, v.EndpointNextHops = c.GracefulRestart, c.RestartTime, c.EndpointNextHops
	live := map[string]ctl.BGPNeighborView{}
	if d.bgp.speaker != nil {
		infos, err := d.bgp.speaker.Peers()
		if err != nil {
			return nil, bgpError(err)
		}
		for _, p := range infos {
			live[p.Addr.String()] = ctl.BGPNeighborView{State: p.State.String(), Uptime: int(p.Uptime.Seconds()), Received: p.Received,
				Accepted: p.Accepted, Sent: p.Sent, PrefixLimitHit: p.PrefixLimitHit, LastDown: p.LastDown}
		}
	}
	for _, n := range c.Neighbors {
		nv, ok := live[n.Addr]
		if !ok {
			nv.State = "not-configured" // refused by the speaker, or no speaker
		}
		nv.Addr, nv.AS, nv.VRF, nv.Password, nv.MaxPrefixes, nv.HoldTime, nv.Passive = n.Addr, n.AS, n.VRF, n.Password != "", n.MaxPrefixes, n.HoldTime, n.Passive
		v.Neighbors = append(v.Neighbors, nv)
	}
	for _, a := range c.Announce {
		v.Announced = append(v.Announced, ctl.BGPAnnouncedView{Prefix: a.Prefix, VRF: a.VRF, NextHop: a.NextHop})
	}
	for _, a := range d.bgp.blocks {
		v.Announced = append(v.Announced, ctl.BGPAnnouncedView{Prefix: a.Prefix, VRF: a.VRF, NextHop: a.NextHop, Endpoints: true})
	}
	return v, nil
}

// checkListen binds, and closes at once, each TCP listener c's speaker
// would open (GoBGP's: every address of listen-addr=, or 0.0.0.0 and ::),
// so that a port another program holds is refused before the running
// speaker stops. An IPv6 wildcard this host cannot bind (IPv6 off) is
// not an error: GoBGP starts without it.
func checkListen(c *BGPConfig) error {
	if c.ListenPort == 0 {
		return nil
	}
	addrs := c.ListenAddrs
	wildcard := len(addrs) == 0
	if wildcard {
		addrs = []string{"0.0.0.0", "::"}
	}
	for _, a := range addrs {
		l, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(c.ListenPort)))
		if err != nil {
			if wildcard && a == "::" && !errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return err
		}
		l.Close()
	}
	return nil
}
