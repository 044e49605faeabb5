package daemon

import (
	"net/netip"
	"slices"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Routed endpoints (EndpointRequest.Routed): Calico's model. The
// container's veth is a routed port, in no bridge, with a proxy-ARP router
// interface named like the port (vswitch.Interface.ProxyARP) in the
// endpoint's VRF. The container gets each address as a /32 (/128) and
// default routes via the link-local gateways 169.254.1.1 (on-link) and
// fe80::1; the switch has a host route to each address through the
// interface and a static neighbor entry (the daemon made the container's
// interface, so it knows its MAC: no resolution on the first packet).
// Containers share no broadcast domain: every packet between them is
// routed, and hosts learn each other's blocks over BGP (bgp_blocks.go).
//
// Each endpoint records the blocks its addresses belong to (blockOf:
// the claimed block with --etcd, the pool's subnet, or the host prefix).
// The host announces them, and has a blackhole route for each that is
// more than a host prefix (as Calico does): a packet for an address of
// the host's own block that no container has is dropped here, not sent
// up the default route to come back.

// checkEndpointDomain checks where an endpoint would attach: an existing
// bridge, or (routed) an existing VRF and no bridge.
func (d *Daemon) checkEndpointDomain(bridge string, routed bool, vrf string) *ctl.Error {
	switch {
	case routed && bridge != "":
		return ctl.Errorf(ctl.CodeInvalid, "routed: a routed endpoint joins no bridge (bridge %q given)", bridge)
	case routed:
		if vrf != "" && vrf != vswitch.DefaultVRF && !d.state.hasVRF(vrf) {
			return ctl.Errorf(ctl.CodeNotFound, "no VRF %s (create it: vsctl vrf/add %s)", vrf, vrf)
		}
	case vrf != "":
		return ctl.Errorf(ctl.CodeInvalid, "vrf: only a routed endpoint names a VRF (a bridged one is in its bridge's)")
	case bridge == "":
		return ctl.Errorf(ctl.CodeInvalid, "no bridge given")
	case d.state.bridge(bridge) == nil:
		return ctl.Errorf(ctl.CodeNotFound, "no bridge %s (create it: vsctl add-br %s)", bridge, bridge)
	}
	return nil
}

func (s *State) hasVRF(name string) bool {
	for _, v := range s.VRFs {
		if v.Name == name {
			return true
		}
	}
	return false
}

// routedAddrs makes ep's addresses host prefixes and its gateways the
// link-local ones of the families it has, gives req default routes when
// it asked for none, and returns the container's on-link route to the IPv4
// gateway (IPv6's is link-local: on-link by definition).
func routedAddrs(ep *ctl.EndpointView, req *ctl.EndpointRequest) []string {
	var onLink []string
	has4, has6 := false, false
	for i, a := range ep.Addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			continue // checked when given or allocated
		}
		ep.Addrs[i] = netip.PrefixFrom(p.Addr(), p.Addr().BitLen()).String()
		has4, has6 = has4 || p.Addr().Is4(), has6 || p.Addr().Is6()
	}
	ep.Gateways = nil
	var defaults []ctl.RouteSpec
	if has4 {
		ep.Gateways = append(ep.Gateways, vswitch.ProxyGateway4.String())
		onLink = append(onLink, netip.PrefixFrom(vswitch.ProxyGateway4, 32).String())
		defaults = append(defaults, ctl.RouteSpec{Dst: "0.0.0.0/0"})
	}
	if has6 {
		ep.Gateways = append(ep.Gateways, vswitch.ProxyGateway6.String())
		defaults = append(defaults, ctl.RouteSpec{Dst: "::/0"})
	}
	if len(req.Routes) == 0 {
		req.Routes = defaults
	}
	return onLink
}

// addRoutedEndpoint puts a routed endpoint's router interface, host routes
// and static neighbors into s (removeRIF takes them all away again).
func (s *State) addRoutedEndpoint(ep ctl.EndpointView, mtu int) {
	vrf := ep.VRF
	if vrf == vswitch.DefaultVRF {
		vrf = ""
	}
	s.Interfaces = append(s.Interfaces, vswitch.Interface{Name: ep.Port, Port: ep.Port, VRF: vrf, MTU: mtu, ProxyARP: true})
	for _, a := range ep.Addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			continue
		}
		s.Routes = append(s.Routes, vswitch.Route{VRF: vrf, Prefix: p.String(), Via: []vswitch.NextHop{{Interface: ep.Port}}})
		s.Neighbors = append(s.Neighbors, vswitch.Neighbor{Interface: ep.Port, Addr: p.Addr().String(), MAC: ep.MAC})
	}
}

// vrfBlock is one routed endpoint block in its VRF ("" for the default).
type vrfBlock struct {
	vrf   string
	block netip.Prefix
}

// routedBlocks are the routed endpoints' blocks, each VRF and block once,
// in endpoint order.
func (s *State) routedBlocks() []vrfBlock {
	var out []vrfBlock
	for _, ep := range s.Endpoints {
		if !ep.Routed {
			continue
		}
		vrf := ep.VRF
		if vrf == vswitch.DefaultVRF {
			vrf = ""
		}
		for _, b := range ep.Blocks {
			p, err := netip.ParsePrefix(b)
			if err == nil && !slices.Contains(out, vrfBlock{vrf, p}) {
				out = append(out, vrfBlock{vrf, p})
			}
		}
	}
	return out
}

// blockBlackholes are the blackhole routes of the routed endpoints'
// blocks: one per VRF and block that is not a host prefix and has no
// configured route of its own.
func (s *State) blockBlackholes() []vswitch.Route {
	var out []vswitch.Route
	for _, b := range s.routedBlocks() {
		p := b.block
		if p.Bits() == p.Addr().BitLen() || slices.ContainsFunc(s.Routes, func(r vswitch.Route) bool {
			return vrfName(r.VRF) == vrfName(b.vrf) && r.Prefix == p.String()
		}) {
			continue
		}
		out = append(out, vswitch.Route{VRF: b.vrf, Prefix: p.String(), Blackhole: true})
	}
	return out
}
