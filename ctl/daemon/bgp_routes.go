package daemon

import (
	"cmp"
	"net/netip"
	"slices"
	"sync"

	"github.com/vecswitch/vecswitch/bgp"
	"github.com/vecswitch/vecswitch/vswitch"
)

// learnedRoutes holds the routes the BGP speaker learned: (VRF, prefix) ->
// ECMP next hops, replaced whole by each RouteEvent. They are live state,
// never stored: State carries a pointer to the table (shared by its
// clones, State.learned), and switchConfig adds the installable ones to
// the static routes, so every commit and every OnRoutes batch publishes
// static and learned routes together.
//
// The speaker's goroutine writes the table (onRoutes) under mu only and
// kicks the daemon's applier, which takes the daemon's lock to publish:
// the speaker never waits for a command, so a command may stop it.
type learnedRoutes struct {
	mu     sync.Mutex
	gen    uint64 // bumped when the speaker stops: late events are ignored
	routes map[learnedKey][]netip.Addr
	kick   chan struct{} // cap 1: a publish is pending
}

type learnedKey struct {
	vrf string // "" is the default VRF
	pfx netip.Prefix
}

func newLearnedRoutes() *learnedRoutes {
	return &learnedRoutes{routes: map[learnedKey][]netip.Addr{}, kick: make(chan struct{}, 1)}
}

// handler is the OnRoutes callback of the speaker of generation gen.
func (l *learnedRoutes) handler(gen uint64) func([]bgp.RouteEvent) {
	return func(evs []bgp.RouteEvent) {
		l.mu.Lock()
		if l.gen != gen {
			l.mu.Unlock()
			return
		}
		for _, ev := range evs {
			k := learnedKey{ev.VRF, ev.Prefix}
			if ev.Withdrawn || len(ev.NextHops) == 0 {
				delete(l.routes, k)
			} else {
				l.routes[k] = slices.Clone(ev.NextHops)
			}
		}
		l.mu.Unlock()
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// reset forgets every route and ignores the current speaker's events; it
// returns the new generation and whether there was any route.
func (l *learnedRoutes) reset() (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	had := len(l.routes) > 0
	clear(l.routes)
	return l.gen, had
}

func (l *learnedRoutes) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.routes)
}

// bgpRoutes are the learned routes the switch accepts next to s's
// configuration, sorted: a route is left out while its VRF does not
// exist or a static route or connected subnet has its prefix, and a next
// hop while it is not a global unicast address of the prefix's family in
// a connected subnet of the VRF (the switch resolves no recursive
// routes). A route with no next hop left is left out.
func (s *State) bgpRoutes() []vswitch.Route {
	if s.learned == nil {
		return nil
	}
	vrfs := map[string]bool{vswitch.DefaultVRF: true}
	for _, v := range s.VRFs {
		vrfs[v.Name] = true
	}
	type owned struct {
		vrf string
		pfx netip.Prefix
	}
	var subnets []owned
	taken := map[owned]bool{}
	own := map[owned]bool{}
	for _, ifc := range s.Interfaces {
		for _, a := range ifc.Addrs {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				continue
			}
			v := vrfName(ifc.VRF)
			subnets = append(subnets, owned{v, p.Masked()})
			taken[owned{v, p.Masked()}] = true
			own[owned{v, netip.PrefixFrom(p.Addr(), p.Addr().BitLen())}] = true
		}
	}
	for _, r := range s.staticRoutes() {
		if p, err := netip.ParsePrefix(r.Prefix); err == nil {
			taken[owned{vrfName(r.VRF), p.Masked()}] = true
		}
	}
	l := s.learned
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []vswitch.Route
	for k, nhs := range l.routes {
		v := vrfName(k.vrf)
		if !vrfs[v] || taken[owned{v, k.pfx}] || k.pfx.Addr().Is4In6() || k.pfx.Addr().Zone() != "" {
			continue
		}
		r := vswitch.Route{VRF: k.vrf, Prefix: k.pfx.String()}
		if v == vswitch.DefaultVRF {
			r.VRF = ""
		}
		for _, nh := range nhs {
			if len(r.Via) == maxLearnedHops {
				break
			}
			if nh.Is4() != k.pfx.Addr().Is4() || !nh.IsGlobalUnicast() || nh.Zone() != "" ||
				own[owned{v, netip.PrefixFrom(nh, nh.BitLen())}] ||
				!slices.ContainsFunc(subnets, func(o owned) bool { return o.vrf == v && o.pfx.Contains(nh) }) {
				continue
			}
			r.Via = append(r.Via, vswitch.NextHop{Addr: nh.String()})
		}
		if len(r.Via) > 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b vswitch.Route) int {
		if c := cmp.Compare(a.VRF, b.VRF); c != 0 {
			return c
		}
		return cmp.Compare(a.Prefix, b.Prefix)
	})
	return out
}

// maxLearnedHops is the switch's limit of next hops per route.
const maxLearnedHops = 64

// allRoutes are the static routes (with the routed endpoints' block
// blackholes) and then the installable learned ones.
func (s *State) allRoutes() []vswitch.Route {
	return append(s.staticRoutes(), s.bgpRoutes()...)
}

// staticRoutes are the configured routes and the routed endpoints' block
// blackholes.
func (s *State) staticRoutes() []vswitch.Route {
	bh := s.blockBlackholes()
	if len(bh) == 0 {
		return s.Routes
	}
	return append(slices.Clip(s.Routes), bh...)
}
