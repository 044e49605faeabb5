package vswitch

import (
	"cmp"
	"net/netip"
	"slices"
)

// RouteEntry is one route as route/show presents it.
type RouteEntry struct {
	VRF    string `json:"vrf"`
	Prefix string `json:"prefix"`
	// Type is connected (an interface's subnet), local (an interface's
	// own address), static or blackhole (vswitchd's route/show says bgp
	// for the static routes BGP learned).
	Type string    `json:"type"`
	Via  []NextHop `json:"via,omitempty"`
}

// Routes lists the routes of one VRF ("" for all): connected and local
// routes from interface addresses, then the static ones, sorted by VRF and
// prefix.
func (s *Switch) Routes(vrf string) ([]RouteEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l3 := s.l3cfg
	if l3 == nil {
		l3 = &l3Config{vrfs: []string{DefaultVRF}}
	}
	if vrf != "" && !slices.Contains(l3.vrfs, vrf) {
		return nil, &ConfigError{Path: "vrf", Msg: "no VRF " + vrf}
	}
	type keyed struct {
		e RouteEntry
		p netip.Prefix
	}
	var out []keyed
	for _, ifc := range l3.ifaces {
		if vrf != "" && ifc.VRF != vrf {
			continue
		}
		for _, a := range ifc.addrs {
			if a.Bits() < a.Addr().BitLen() {
				out = append(out, keyed{RouteEntry{VRF: ifc.VRF, Prefix: a.Masked().String(), Type: "connected",
					Via: []NextHop{{Interface: ifc.Name}}}, a.Masked()})
			}
			host := netip.PrefixFrom(a.Addr(), a.Addr().BitLen())
			out = append(out, keyed{RouteEntry{VRF: ifc.VRF, Prefix: host.String(), Type: "local",
				Via: []NextHop{{Interface: ifc.Name}}}, host})
		}
	}
	for i, r := range l3.routes {
		v := l3.vrfs[r.vrf]
		if vrf != "" && v != vrf {
			continue
		}
		c := &s.cfg.Routes[i]
		e := RouteEntry{VRF: v, Prefix: c.Prefix, Type: "static", Via: c.Via}
		if r.blackhole {
			e.Type = "blackhole"
		}
		out = append(out, keyed{e, r.prefix})
	}
	slices.SortStableFunc(out, func(a, b keyed) int {
		if c := cmp.Compare(a.e.VRF, b.e.VRF); c != 0 {
			return c
		}
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.p.Bits(), b.p.Bits())
	})
	res := make([]RouteEntry, len(out))
	for i := range out {
		res[i] = out[i].e
	}
	return res, nil
}

// FIBStat is one VRF's FIB size.
type FIBStat struct {
	VRF     string `json:"vrf"`
	Routes4 int    `json:"routes4"`
	Routes6 int    `json:"routes6"`
	// Bytes4 and Bytes6 are the memory the FIBs hold (touched table
	// pages, groups and the control-side route records).
	Bytes4 int `json:"bytes4"`
	Bytes6 int `json:"bytes6"`
}

// FIBStats reports every VRF's FIB sizes, sorted by VRF name.
func (s *Switch) FIBStats() []FIBStat {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []FIBStat
	for name, v := range s.l3.fibs {
		out = append(out, FIBStat{VRF: name, Routes4: v.fib4.Len(), Routes6: v.fib6.Len(),
			Bytes4: v.fib4.MemoryBytes(), Bytes6: v.fib6.MemoryBytes()})
	}
	slices.SortFunc(out, func(a, b FIBStat) int { return cmp.Compare(a.VRF, b.VRF) })
	return out
}

// InterfaceMTU is a router interface's MTU as the switch applies it.
type InterfaceMTU struct {
	Name string `json:"name"`
	// MTU is the interface's own (Interface.MTU, 1500 by default).
	MTU int `json:"mtu"`
	// Effective is the MTU routing and VXLAN encapsulation use: the
	// smallest of MTU and the MTUs of the ports of the interface's domain
	// (a remote VTEP's counts the VXLAN overhead off the VTEP
	// interface's), as a Linux bridge's MTU follows its smallest port.
	Effective int `json:"effective_mtu"`
	// LimitedBy names the port that makes Effective smaller than MTU.
	LimitedBy string `json:"limited_by,omitempty"`
}

// InterfaceMTUs reports every router interface's own and effective MTU,
// sorted by name, as the running tables hold them (they are compiled
// again whenever a port comes, goes or changes its MTU).
func (s *Switch) InterfaceMTUs() []InterfaceMTU {
	t := s.tables.Load()
	if t == nil {
		return nil
	}
	var out []InterfaceMTU
	for i := range t.ifaces {
		if e := &t.ifaces[i]; e.valid {
			out = append(out, InterfaceMTU{Name: e.name, MTU: int(e.cfgMTU), Effective: int(e.mtu), LimitedBy: e.mtuBy})
		}
	}
	slices.SortFunc(out, func(a, b InterfaceMTU) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
