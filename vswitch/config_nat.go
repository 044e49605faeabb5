package vswitch

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vecswitch/vecswitch/policy/nat"
)

// NAT is the network address translation of the switch's router (nat.go,
// node_nat.go): masquerade of networks behind an uplink interface's
// address, and port maps (Docker's -p). Names are router interfaces
// (Config.Interfaces).
type NAT struct {
	// Masquerade hides networks behind uplink addresses.
	Masquerade []Masquerade `json:"masquerade,omitempty"`
	// PortMaps send new flows to a host address and port on to a
	// container.
	PortMaps []PortMap `json:"port_maps,omitempty"`
	// Uplinks are router interfaces whose addresses a port map with no
	// host address binds, besides every Masquerade's External.
	Uplinks []string `json:"uplinks,omitempty"`
	// Services are load-balanced virtual IPs (issue 21).
	Services []Service `json:"services,omitempty"`
}

// Service is a load-balanced service: new flows of Proto to VIP:Port go
// to one of Backends, picked by Maglev consistent hashing of the flow
// (policy/lb), the client's address kept; established flows stay on
// their backend whatever changes, but for a removed backend's, which end.
type Service struct {
	// Name is optional, for people (and DNS, issue 21).
	Name  string `json:"name,omitempty"`
	Proto string `json:"proto"`
	// VIP is the virtual address; 0.0.0.0 or :: mean every uplink
	// address of the family (a Kubernetes NodePort).
	VIP      string           `json:"vip"`
	Port     uint16           `json:"port"`
	Backends []ServiceBackend `json:"backends"`
}

// ServiceBackend is one target of a Service.
type ServiceBackend struct {
	Addr string `json:"addr"`
	// Port defaults to the service's.
	Port uint16 `json:"port,omitempty"`
	// Weight is the backend's share of new flows (default 1; 0 after
	// normalization never appears: use Drained).
	Weight uint32 `json:"weight,omitempty"`
	// Drained: no new flows; established ones go on.
	Drained bool `json:"drained,omitempty"`
}

// Masquerade translates the source of flows from a network to anything
// outside the switch's networks.
type Masquerade struct {
	// Interface is the network's router interface: its connected
	// prefixes are the sources translated, its addresses the source a
	// hairpinned flow gets.
	Interface string `json:"interface"`
	// External is the uplink router interface whose first address of
	// each family the sources hide behind.
	External string `json:"external"`
}

// PortMap is a destination NAT port mapping:
// Host:HostPort/Proto -> Target:TargetPort.
type PortMap struct {
	// Proto is "tcp" or "udp".
	Proto string `json:"proto"`
	// Host is the address mapped; empty, 0.0.0.0 or :: mean every
	// uplink address of the target's family.
	Host     string `json:"host,omitempty"`
	HostPort uint16 `json:"host_port"`
	Target   string `json:"target"`
	// TargetPort defaults to HostPort.
	TargetPort uint16 `json:"target_port,omitempty"`
}

func (m PortMap) String() string {
	h := m.Host
	if h == "" {
		h = "*"
	}
	return fmt.Sprintf("%s:%d/%s->%s:%d", h, m.HostPort, m.Proto, m.Target, m.TargetPort)
}

// NATError is a rejected NAT configuration: where, and why. It wraps
// ErrInvalidConfig and the reason (a policy/nat sentinel such as
// nat.ErrOverlap, nat.ErrAddr, nat.ErrProto, nat.ErrPort, nat.ErrNoGW, or
// ErrNATInterface), so errors.Is works with either.
type NATError struct {
	Path string // for example nat.port_maps[2]
	Err  error
}

func (e *NATError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap gives ErrInvalidConfig and the reason.
func (e *NATError) Unwrap() []error { return []error{ErrInvalidConfig, e.Err} }

// ErrNATInterface: a NAT entry names a router interface that does not
// exist, has no address it needs, or is named twice.
var ErrNATInterface = fmt.Errorf("nat: bad router interface")

// natConfig is the parsed NAT configuration, ready for a nat.Table.
type natConfig struct {
	nets    []nat.Network
	maps    []nat.Map
	svcs    []nat.Service
	uplinks []netip.Addr
	// inner are the addresses, with their prefix lengths, of the router
	// interfaces that are no uplink: the switch's own networks, which
	// masqueraded flows reach untranslated and in which a flow to a port
	// map or a service whose target is in the client's own subnet is
	// hairpinned, its source translated to the interface's address,
	// masqueraded or not (nat.Table.SetInternal).
	inner []netip.Prefix
}

// empty reports whether there is nothing to translate.
func (n *natConfig) empty() bool {
	return n == nil || len(n.nets) == 0 && len(n.maps) == 0 && len(n.svcs) == 0
}

// parseNATProto parses a port map's protocol.
func parseNATProto(s string) (uint8, bool) {
	switch strings.ToLower(s) {
	case "tcp", "6":
		return 6, true
	case "udp", "17":
		return 17, true
	}
	return 0, false
}

// normalizeNAT validates c.NAT against the parsed router interfaces and
// returns its normalized copy and parsed form (nil: no NAT). Every check
// the nat.Table makes runs here, on a scratch table, so the switch's own
// table never sees a change it would refuse.
func (c *Config) normalizeNAT(l3 *l3Config) (*NAT, *natConfig, error) {
	if c.NAT == nil || len(c.NAT.Masquerade) == 0 && len(c.NAT.PortMaps) == 0 && len(c.NAT.Uplinks) == 0 && len(c.NAT.Services) == 0 {
		return nil, nil, nil
	}
	fail := func(path string, err error) error { return &NATError{Path: "nat." + path, Err: err} }
	iface := func(path, name string) (*ifaceCfg, error) {
		id, ok := l3.ifID[name]
		if !ok {
			return nil, fail(path, fmt.Errorf("%w: no router interface %q", ErrNATInterface, name))
		}
		return &l3.ifaces[id-1], nil
	}
	first := func(ic *ifaceCfg, v4 bool) netip.Addr {
		for _, p := range ic.addrs {
			if p.Addr().Is4() == v4 {
				return p.Addr()
			}
		}
		return netip.Addr{}
	}
	scratch, _ := nat.NewTable(nat.Config{})
	out := &NAT{}
	nc := &natConfig{}
	upl := map[netip.Addr]bool{}
	addUplink := func(ic *ifaceCfg) {
		for _, p := range ic.addrs {
			if a := p.Addr(); !upl[a] {
				upl[a] = true
				nc.uplinks = append(nc.uplinks, a)
			}
		}
	}
	seen := map[string]bool{}
	for i, m := range c.NAT.Masquerade {
		p := fmt.Sprintf("masquerade[%d]", i)
		in, err := iface(p+".interface", m.Interface)
		if err != nil {
			return nil, nil, err
		}
		ex, err := iface(p+".external", m.External)
		if err != nil {
			return nil, nil, err
		}
		if seen[m.Interface] {
			return nil, nil, fail(p+".interface", fmt.Errorf("%w: %q is masqueraded twice", ErrNATInterface, m.Interface))
		}
		if m.Interface == m.External {
			return nil, nil, fail(p+".external", fmt.Errorf("%w: a network cannot hide behind its own interface", ErrNATInterface))
		}
		seen[m.Interface] = true
		n := nat.Network{Name: m.Interface, External4: first(ex, true), External6: first(ex, false),
			Gateway4: first(in, true), Gateway6: first(in, false)}
		for _, a := range in.addrs {
			n.Sources = append(n.Sources, a.Masked())
		}
		if len(n.Sources) == 0 {
			return nil, nil, fail(p+".interface", fmt.Errorf("%w: %q has no address", ErrNATInterface, m.Interface))
		}
		if !n.External4.IsValid() && !n.External6.IsValid() {
			return nil, nil, fail(p+".external", fmt.Errorf("%w: %q has no address", ErrNATInterface, m.External))
		}
		if err := scratch.SetNetwork(n); err != nil {
			return nil, nil, fail(p, err)
		}
		nc.nets = append(nc.nets, n)
		addUplink(ex)
		out.Masquerade = append(out.Masquerade, m)
	}
	for i, name := range c.NAT.Uplinks {
		ic, err := iface(fmt.Sprintf("uplinks[%d]", i), name)
		if err != nil {
			return nil, nil, err
		}
		addUplink(ic)
		if !slices.Contains(out.Uplinks, name) {
			out.Uplinks = append(out.Uplinks, name)
		}
	}
	for i, pm := range c.NAT.PortMaps {
		p := fmt.Sprintf("port_maps[%d]", i)
		proto, ok := parseNATProto(pm.Proto)
		if !ok {
			return nil, nil, fail(p+".proto", fmt.Errorf("%w: %q", nat.ErrProto, pm.Proto))
		}
		tgt, err := netip.ParseAddr(pm.Target)
		if err != nil {
			return nil, nil, fail(p+".target", fmt.Errorf("%w: %v", nat.ErrAddr, err))
		}
		var host netip.Addr
		switch {
		case pm.Host != "":
			if host, err = netip.ParseAddr(pm.Host); err != nil {
				return nil, nil, fail(p+".host", fmt.Errorf("%w: %v", nat.ErrAddr, err))
			}
		case tgt.Is4():
			host = netip.IPv4Unspecified()
		default:
			host = netip.IPv6Unspecified()
		}
		tp := pm.TargetPort
		if tp == 0 {
			tp = pm.HostPort
		}
		m := nat.Map{Proto: proto, Host: host, HostPort: pm.HostPort, Target: tgt, TargetPort: tp}
		if err := scratch.AddMap(m); err != nil {
			return nil, nil, fail(p, err)
		}
		if slices.Contains(nc.maps, m) {
			continue // the same map twice is one map
		}
		nc.maps = append(nc.maps, m)
		np := PortMap{Proto: map[uint8]string{6: "tcp", 17: "udp"}[proto], HostPort: m.HostPort,
			Target: m.Target.String(), TargetPort: tp}
		if !host.IsUnspecified() {
			np.Host = host.String()
		}
		out.PortMaps = append(out.PortMaps, np)
	}
	for i, sv := range c.NAT.Services {
		p := fmt.Sprintf("services[%d]", i)
		ns, err := parseService(sv)
		if err != nil {
			return nil, nil, fail(p, err)
		}
		if err := scratch.SetService(ns); err != nil {
			return nil, nil, fail(p, err)
		}
		if slices.ContainsFunc(nc.svcs, func(o nat.Service) bool {
			return o.Proto == ns.Proto && o.VIP == ns.VIP && o.Port == ns.Port
		}) {
			return nil, nil, fail(p, fmt.Errorf("%w: service %s:%d/%s declared twice", nat.ErrOverlap, ns.VIP, ns.Port, sv.Proto))
		}
		nc.svcs = append(nc.svcs, ns)
		out.Services = append(out.Services, normalService(sv.Name, ns))
	}
	if err := scratch.SetUplinks(nc.uplinks); err != nil {
		return nil, nil, fail("uplinks", err)
	}
	for _, ic := range l3.ifaces {
		if slices.ContainsFunc(ic.addrs, func(p netip.Prefix) bool { return upl[p.Addr()] }) {
			continue // an uplink: its subnet is the outside
		}
		for _, p := range ic.addrs {
			if !slices.Contains(nc.inner, p) {
				nc.inner = append(nc.inner, p)
			}
		}
	}
	if err := scratch.SetInternal(nc.inner); err != nil {
		return nil, nil, fail("interfaces", err)
	}
	return out, nc, nil
}

// parseService parses a Service into policy/nat's form (defaults filled:
// backend port = the service's, weight 1).
func parseService(sv Service) (nat.Service, error) {
	proto, ok := parseNATProto(sv.Proto)
	if !ok {
		return nat.Service{}, fmt.Errorf("%w: %q", nat.ErrProto, sv.Proto)
	}
	vip, err := netip.ParseAddr(sv.VIP)
	if err != nil {
		return nat.Service{}, fmt.Errorf("%w: vip: %v", nat.ErrAddr, err)
	}
	ns := nat.Service{Proto: proto, VIP: vip, Port: sv.Port}
	for j, b := range sv.Backends {
		a, err := netip.ParseAddr(b.Addr)
		if err != nil {
			return nat.Service{}, fmt.Errorf("%w: backends[%d]: %v", nat.ErrAddr, j, err)
		}
		nb := nat.Backend{Addr: a, Port: b.Port, Weight: b.Weight, Drained: b.Drained}
		if nb.Port == 0 {
			nb.Port = sv.Port
		}
		if nb.Weight == 0 {
			nb.Weight = 1
		}
		ns.Backends = append(ns.Backends, nb)
	}
	return ns, nil
}

// normalService is the configuration form of a parsed service.
func normalService(name string, ns nat.Service) Service {
	out := Service{Name: name, Proto: map[uint8]string{6: "tcp", 17: "udp"}[ns.Proto], VIP: ns.VIP.String(), Port: ns.Port}
	for _, b := range ns.Backends {
		out.Backends = append(out.Backends, ServiceBackend{Addr: b.Addr.String(), Port: b.Port, Weight: b.Weight, Drained: b.Drained})
	}
	return out
}
