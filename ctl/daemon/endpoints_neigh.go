package daemon

import (
	"net/netip"
	"slices"

	"github.com/vecswitch/vecswitch/vswitch"
)

// endpointNeighbors are the router's neighbor entries for the endpoints
// on bridges: for each address of an endpoint inside a subnet of a router
// interface on the endpoint's bridge (and VLAN), that address at the
// endpoint's MAC. The daemon made the container's interface and knows its
// MAC from the start (port security binds it), so the router need not
// resolve it; without the entry, the first packet routed to a container
// that has not spoken yet (the SYN of the first connection to a port
// mapped to a container just started) was lost while ip4-glean resolved
// it, which drops rather than queues, as VPP's does: a second's wait for
// TCP's retransmission. Routed endpoints get theirs in addRoutedEndpoint.
//
// They are derived each time the configuration is made, never stored: an
// endpoint removed, or a router interface added or removed later, changes
// them with no bookkeeping. A neighbor configured by hand for the same
// interface and address wins; a port without port security gets none (its
// station may change its MAC, which a static entry would not follow).
func (s *State) endpointNeighbors() []vswitch.Neighbor {
	type key struct {
		iface string
		a     netip.Addr
	}
	type seg struct {
		bridge string
		vlan   int
	}
	var seen map[key]bool
	var rifs map[seg][]vswitch.Interface
	var out []vswitch.Neighbor
	for _, ep := range s.Endpoints {
		if ep.Routed || ep.Bridge == "" || ep.MAC == "" {
			continue
		}
		if _, vp := s.port(ep.Port); vp != nil && vp.PortSecurity != nil && !*vp.PortSecurity {
			continue // its MAC may change: resolved as any host's
		}
		if rifs == nil { // the router interfaces by bridge and VLAN, once
			rifs = map[seg][]vswitch.Interface{}
			for _, rif := range s.Interfaces {
				if rif.Bridge != "" {
					k := seg{rif.Bridge, int(rif.VLAN)}
					rifs[k] = append(rifs[k], rif)
				}
			}
		}
		for _, rif := range rifs[seg{ep.Bridge, ep.VLAN}] {
			for _, ea := range ep.Addrs {
				p, err := netip.ParsePrefix(ea)
				if err != nil || !p.Addr().IsGlobalUnicast() {
					continue
				}
				if !rifHolds(rif, p.Addr()) {
					continue
				}
				if seen == nil {
					seen = map[key]bool{}
					for _, n := range s.Neighbors {
						if a, err := netip.ParseAddr(n.Addr); err == nil {
							seen[key{n.Interface, a.Unmap()}] = true
						}
					}
				}
				k := key{rif.Name, p.Addr().Unmap()}
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, vswitch.Neighbor{Interface: rif.Name, Addr: k.a.String(), MAC: ep.MAC})
			}
		}
	}
	return out
}

// rifHolds reports whether a is a host address in a subnet of router
// interface rif: not the interface's own, nor an IPv4 subnet's network or
// broadcast address (a directed broadcast must not go to one station).
func rifHolds(rif vswitch.Interface, a netip.Addr) bool {
	for _, ra := range rif.Addrs {
		p, err := netip.ParsePrefix(ra)
		if err != nil || !p.Masked().Contains(a) || p.Addr() == a {
			continue
		}
		if a.Is4() && p.Bits() < 31 {
			net := p.Masked().Addr().As4()
			host := a.As4()
			n, h := uint32(net[0])<<24|uint32(net[1])<<16|uint32(net[2])<<8|uint32(net[3]),
				uint32(host[0])<<24|uint32(host[1])<<16|uint32(host[2])<<8|uint32(host[3])
			if h == n || h == n|(1<<(32-p.Bits())-1) {
				continue
			}
		}
		return true
	}
	return false
}

// allNeighbors are the configured neighbors and the endpoints'.
func (s *State) allNeighbors() []vswitch.Neighbor {
	eps := s.endpointNeighbors()
	if len(eps) == 0 {
		return s.Neighbors
	}
	return append(slices.Clip(s.Neighbors), eps...)
}
