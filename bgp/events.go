package bgp

import (
	"net/netip"
	"slices"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// RouteEvent is one change of a learned route, ready for a FIB.
type RouteEvent struct {
	// VRF is the table the route belongs to ("" is the default table).
	VRF    string
	Prefix netip.Prefix // masked
	// NextHops is the route's whole ECMP set after the change, sorted and
	// without duplicates: the next hops of every best path GoBGP's
	// multipath selection keeps (see the package doc). Install it in
	// place of whatever the FIB had for (VRF, Prefix).
	NextHops []netip.Addr
	// Withdrawn means no peer offers the prefix any more: remove it.
	// NextHops is empty then.
	Withdrawn bool
}

// pathKey names one path of a prefix: who sent it, and its ADD-PATH ID.
type pathKey struct {
	peer netip.Addr
	id   uint32
}

type pathNH struct {
	key pathKey
	nh  netip.Addr
}

type routeKey struct {
	vrf string
	pfx netip.Prefix
}

// route is what the tracker knows of one (VRF, prefix): the multipath set
// GoBGP last reported, and the next-hop set last handed to OnRoutes.
type route struct {
	paths []pathNH
	last  []netip.Addr // nil: never reported (or reported withdrawn)
	batch uint64       // batch that last touched it
}

// ribTracker turns GoBGP's best-path deltas into RouteEvents. GoBGP (with
// multipath on) reports, per destination, the paths that joined or changed
// in the multipath set and, as withdrawals, those that left it; the
// tracker keeps each prefix's set so it can hand out whole ECMP sets. It
// is used from one goroutine only.
type ribTracker struct {
	routes  map[routeKey]*route
	vrfOfRD func(rd string) (string, bool)
	batch   uint64
	touched []routeKey
	out     []RouteEvent
}

func newRIBTracker(vrfOfRD func(string) (string, bool)) *ribTracker {
	return &ribTracker{routes: make(map[routeKey]*route), vrfOfRD: vrfOfRD}
}

// apply folds one batch of paths into the tracker and returns the events
// for the prefixes whose next-hop set changed. The result is reused by the
// next call.
func (t *ribTracker) apply(paths []*apiutil.Path) []RouteEvent {
	t.batch++
	t.touched = t.touched[:0]
	for _, p := range paths {
		if p == nil || !p.PeerAddress.IsValid() {
			continue // our own announcement (GoBGP's "local" path)
		}
		vrf, pfx, ok := t.decodeNLRI(p.Nlri)
		if !ok {
			continue
		}
		k := routeKey{vrf, pfx}
		r := t.routes[k]
		if r == nil {
			if p.Withdrawal {
				continue
			}
			r = &route{}
			t.routes[k] = r
		}
		if r.batch != t.batch {
			r.batch = t.batch
			t.touched = append(t.touched, k)
		}
		pk := pathKey{p.PeerAddress, p.RemoteID}
		i := slices.IndexFunc(r.paths, func(x pathNH) bool { return x.key == pk })
		nh := nextHop(p)
		switch {
		case p.Withdrawal || p.IsNexthopInvalid || !nh.IsValid():
			if i >= 0 {
				r.paths = slices.Delete(r.paths, i, i+1)
			}
		case i >= 0:
			r.paths[i].nh = nh
		default:
			r.paths = append(r.paths, pathNH{pk, nh})
		}
	}
	t.out = t.out[:0]
	for _, k := range t.touched {
		r := t.routes[k]
		if len(r.paths) == 0 {
			delete(t.routes, k)
			if r.last != nil {
				t.out = append(t.out, RouteEvent{VRF: k.vrf, Prefix: k.pfx, Withdrawn: true})
			}
			continue
		}
		set := make([]netip.Addr, 0, len(r.paths))
		for _, p := range r.paths {
			set = append(set, p.nh)
		}
		slices.SortFunc(set, func(a, b netip.Addr) int { return a.Compare(b) })
		set = slices.Compact(set)
		if slices.Equal(set, r.last) {
			continue // e.g. paths marked stale by graceful restart
		}
		r.last = set
		t.out = append(t.out, RouteEvent{VRF: k.vrf, Prefix: k.pfx, NextHops: set})
	}
	return t.out
}

// reset forgets everything and returns withdrawals for every route
// reported so far (used when the speaker stops).
func (t *ribTracker) reset() []RouteEvent {
	t.out = t.out[:0]
	for k, r := range t.routes {
		if r.last != nil {
			t.out = append(t.out, RouteEvent{VRF: k.vrf, Prefix: k.pfx, Withdrawn: true})
		}
	}
	clear(t.routes)
	return t.out
}

func (t *ribTracker) decodeNLRI(n bgp.NLRI) (vrf string, pfx netip.Prefix, ok bool) {
	switch n := n.(type) {
	case *bgp.IPAddrPrefix:
		pfx = n.Prefix
	case *bgp.LabeledVPNIPAddrPrefix:
		if n.RD == nil || t.vrfOfRD == nil {
			return "", pfx, false
		}
		vrf, ok = t.vrfOfRD(n.RD.String())
		if !ok {
			return "", pfx, false
		}
		pfx = n.Prefix
	default:
		return "", pfx, false
	}
	if !pfx.IsValid() {
		return "", pfx, false
	}
	return vrf, pfx.Masked(), true
}

// nextHop is the path's next hop: NEXT_HOP for IPv4 unicast, the MP_REACH
// next hop otherwise (its global address, or the link-local one when that
// is all the peer sent).
func nextHop(p *apiutil.Path) netip.Addr {
	for _, a := range p.Attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeNextHop:
			return a.Value
		case *bgp.PathAttributeMpReachNLRI:
			if a.Nexthop.IsValid() && !a.Nexthop.IsUnspecified() {
				return a.Nexthop
			}
			return a.LinkLocalNexthop
		}
	}
	return netip.Addr{}
}
