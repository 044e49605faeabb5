package vswitch

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The L3 part of Config: VRFs, router interfaces with their addresses,
// static routes and static neighbors.

// VRF is a routing table of its own. VRF "default" always exists and needs
// no declaration.
type VRF struct {
	Name string `json:"name"`
}

// Interface is a router interface: the switch's own presence, with a MAC and
// addresses, in one VLAN of a bridge, or directly on a port that is in no
// bridge (a routed port). Frames to its MAC in that domain are routed;
// ARP and neighbor discovery for its addresses are answered.
type Interface struct {
	Name string `json:"name"`
	// Bridge and VLAN name the domain the interface sits in...
	Bridge string `json:"bridge,omitempty"`
	VLAN   uint16 `json:"vlan,omitempty"`
	// ...or Port names a routed port (in no bridge).
	Port string `json:"port,omitempty"`
	// MAC defaults to a locally administered address derived from the name.
	MAC string `json:"mac,omitempty"`
	// Addrs are the interface's addresses with their prefix lengths, for
	// example 10.0.1.1/24 or fd00:1::1/64. Each gives a connected route
	// and a local route in the interface's VRF.
	Addrs []string `json:"addrs,omitempty"`
	// VRF is the routing table the interface belongs to (default "default").
	VRF string `json:"vrf,omitempty"`
	// MTU is the largest IP packet routed out of the interface (default
	// 1500). The switch uses the interface's effective MTU: the smallest
	// of this and the MTUs of the ports of its domain (and, on a bridge
	// with VNIs, of what the VTEP's interface carries once encapsulated),
	// as a Linux bridge's MTU follows its smallest port
	// (Switch.InterfaceMTUs). Longer packets with DF set, and all longer
	// IPv6 packets, get an ICMP error quoting it; longer IPv4 packets
	// without DF are fragmented to fit.
	MTU int `json:"mtu,omitempty"`
	// ProxyARP, on a routed port only, makes the interface answer ARP
	// requests and neighbor solicitations for any address but the
	// sender's own with its MAC (Calico's trick): the container behind
	// the port has a /32 (/128) and a default route via a link-local
	// gateway (ProxyGateway4, ProxyGateway6, on-link), no broadcast
	// domain is shared, and every packet it sends is routed. Addrs may
	// be empty; ARP requests and ND solicitations the switch sends from
	// an interface with no address of the family come from the
	// link-local gateway.
	ProxyARP bool `json:"proxy_arp,omitempty"`
}

// The link-local gateway addresses of proxy-ARP interfaces: a container
// on a routed port has its default route via one of them (onlink).
var (
	ProxyGateway4 = netip.MustParseAddr("169.254.1.1")
	ProxyGateway6 = netip.MustParseAddr("fe80::1")
)

const proxyGW4 = uint32(169<<24 | 254<<16 | 1<<8 | 1) // ProxyGateway4

var proxyGW6 = nbrAddr{hi: 0xfe80 << 48, lo: 1} // ProxyGateway6

// Route is a static route.
type Route struct {
	VRF    string `json:"vrf,omitempty"`
	Prefix string `json:"prefix"`
	// Via lists the next hops; more than one makes an ECMP route (a flow's
	// 5-tuple hash picks one, so a flow keeps its path).
	Via []NextHop `json:"via,omitempty"`
	// Blackhole drops matching packets silently (counted).
	Blackhole bool `json:"blackhole,omitempty"`
}

// NextHop is a gateway address, an interface, or both. A gateway must lie
// in a connected subnet of the VRF (no recursive routes); with only an
// interface the destination itself is resolved on that interface.
type NextHop struct {
	Addr      string `json:"addr,omitempty"`
	Interface string `json:"interface,omitempty"`
}

// Neighbor is a static ARP/ND entry.
type Neighbor struct {
	Interface string `json:"interface"`
	Addr      string `json:"addr"`
	MAC       string `json:"mac"`
}

// L3 limits and defaults.
const (
	DefaultVRF     = "default"
	DefaultMTU     = 1500
	MinMTU4        = 68
	MinMTU6        = 1280
	maxVRFs        = 1024
	maxIfaces      = 4094
	maxNextHops    = 64
	maxAdjacencies = 1 << 22
)

// l3Config is the parsed form of the L3 configuration.
type l3Config struct {
	vrfs   []string // index = VRF ID; 0 is "default"
	vrfID  map[string]uint16
	ifaces []ifaceCfg // index+1 = interface ID
	ifID   map[string]uint16
	routes []routeCfg
	neighs []neighCfg
	vx     *vxlanConfig    // nil: no VXLAN
	nat    *natConfig      // nil: no NAT
	dns    map[uint16]bool // interfaces answering DNS
}

type ifaceCfg struct {
	Interface
	mac   uint64
	vrf   uint16
	addrs []netip.Prefix
}

type routeCfg struct {
	vrf       uint16
	prefix    netip.Prefix
	blackhole bool
	hops      []hopCfg
}

type hopCfg struct {
	addr  netip.Addr // invalid: the destination itself
	iface uint16
}

type neighCfg struct {
	iface uint16
	addr  netip.Addr
	mac   uint64
}

// normalizeL3 validates the L3 part of c against the normalized bridges in
// out, fills in defaults in out, and returns the parsed form.
func (c *Config) normalizeL3(out *Config) (*l3Config, error) {
	l3 := &l3Config{vrfs: []string{DefaultVRF}, vrfID: map[string]uint16{DefaultVRF: 0}, ifID: map[string]uint16{}}
	for i, v := range c.VRFs {
		p := fmt.Sprintf("vrfs[%d]", i)
		if err := checkName(v.Name); err != nil {
			return nil, cfgErr(p+".name", "%v", err)
		}
		if _, dup := l3.vrfID[v.Name]; dup {
			if v.Name == DefaultVRF {
				return nil, cfgErr(p, "VRF %q always exists", v.Name)
			}
			return nil, cfgErr(p, "VRF %q declared twice", v.Name)
		}
		if len(l3.vrfs) >= maxVRFs {
			return nil, cfgErr(p, "more than %d VRFs", maxVRFs)
		}
		l3.vrfID[v.Name] = uint16(len(l3.vrfs))
		l3.vrfs = append(l3.vrfs, v.Name)
		out.VRFs = append(out.VRFs, VRF{Name: v.Name})
	}
	if err := c.normalizeIfaces(out, l3); err != nil {
		return nil, err
	}
	if err := c.normalizeRoutes(out, l3); err != nil {
		return nil, err
	}
	if err := c.normalizeNeighbors(out, l3); err != nil {
		return nil, err
	}
	vx, err := c.normalizeVXLAN(out, l3)
	if err != nil {
		return nil, err
	}
	l3.vx = vx
	return l3, nil
}

func (c *Config) normalizeIfaces(out *Config, l3 *l3Config) error {
	bridgePorts := map[string]*Bridge{}
	inBridge := map[string]string{}
	for bi := range out.Bridges {
		b := &out.Bridges[bi]
		bridgePorts[b.Name] = b
		for _, p := range b.Ports {
			inBridge[p.Name] = b.Name
		}
	}
	type dom struct {
		bridge string
		vlan   uint16
	}
	domTaken := map[dom]string{}
	portTaken := map[string]string{}
	macs := map[uint64]string{}
	type owned struct {
		vrf uint16
		net netip.Prefix
	}
	var connected []owned
	for i, ifc := range c.Interfaces {
		p := fmt.Sprintf("interfaces[%d]", i)
		if err := checkName(ifc.Name); err != nil {
			return cfgErr(p+".name", "%v", err)
		}
		p = fmt.Sprintf("interfaces[%s]", ifc.Name)
		if _, dup := l3.ifID[ifc.Name]; dup {
			return cfgErr(p, "interface declared twice")
		}
		if len(l3.ifaces) >= maxIfaces {
			return cfgErr(p, "more than %d interfaces", maxIfaces)
		}
		n := ifaceCfg{Interface: Interface{Name: ifc.Name, Bridge: ifc.Bridge, VLAN: ifc.VLAN, Port: ifc.Port, VRF: ifc.VRF, MTU: ifc.MTU, ProxyARP: ifc.ProxyARP}}
		if ifc.ProxyARP && ifc.Port == "" {
			return cfgErr(p+".proxy_arp", "proxy ARP is for routed ports (an interface on a port, not on a bridge)")
		}
		switch {
		case ifc.Bridge != "" && ifc.Port != "":
			return cfgErr(p, "an interface is on a bridge or on a port, not both")
		case ifc.Bridge != "":
			if _, ok := bridgePorts[ifc.Bridge]; !ok {
				return cfgErr(p+".bridge", "no bridge %q", ifc.Bridge)
			}
			if ifc.VLAN > MaxVLAN {
				return cfgErr(p+".vlan", "%d out of range 0..%d", ifc.VLAN, MaxVLAN)
			}
			d := dom{ifc.Bridge, ifc.VLAN}
			if o, dup := domTaken[d]; dup {
				return cfgErr(p, "bridge %s VLAN %d already has interface %s", ifc.Bridge, ifc.VLAN, o)
			}
			domTaken[d] = ifc.Name
		case ifc.Port != "":
			if err := checkName(ifc.Port); err != nil {
				return cfgErr(p+".port", "%v", err)
			}
			if br, ok := inBridge[ifc.Port]; ok {
				return cfgErr(p+".port", "port %s is in bridge %s; a routed port is in no bridge", ifc.Port, br)
			}
			if ifc.VLAN != 0 {
				return cfgErr(p+".vlan", "a routed port carries no VLAN")
			}
			if o, dup := portTaken[ifc.Port]; dup {
				return cfgErr(p+".port", "port %s already has interface %s", ifc.Port, o)
			}
			portTaken[ifc.Port] = ifc.Name
		default:
			return cfgErr(p, "needs a bridge or a port")
		}
		if n.VRF == "" {
			n.VRF = DefaultVRF
		}
		vrf, ok := l3.vrfID[n.VRF]
		if !ok {
			return cfgErr(p+".vrf", "no VRF %q", n.VRF)
		}
		n.vrf = vrf
		if n.MTU == 0 {
			n.MTU = DefaultMTU
		}
		if n.MTU < MinMTU4 || n.MTU > 9216 {
			return cfgErr(p+".mtu", "%d out of range %d..9216", n.MTU, MinMTU4)
		}
		if ifc.MAC == "" {
			n.mac = derivedMAC(ifc.Name)
		} else {
			m, err := parseMAC(ifc.MAC)
			if err != nil {
				return cfgErr(p+".mac", "%v", err)
			}
			if m>>40&1 != 0 || m == 0 {
				return cfgErr(p+".mac", "%s is not a unicast address", ifc.MAC)
			}
			n.mac = m
		}
		if o, dup := macs[n.mac]; dup {
			return cfgErr(p+".mac", "MAC %s is also interface %s's", formatMAC(n.mac), o)
		}
		macs[n.mac] = ifc.Name
		n.MAC = formatMAC(n.mac)
		has6 := false
		for ai, a := range ifc.Addrs {
			ap := fmt.Sprintf("%s.addrs[%d]", p, ai)
			pfx, err := netip.ParsePrefix(a)
			if err != nil {
				return cfgErr(ap, "%v", err)
			}
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-unmapBits(pfx))
			if err := checkIfaceAddr(pfx); err != nil {
				return cfgErr(ap, "%s: %v", a, err)
			}
			has6 = has6 || pfx.Addr().Is6()
			for _, o := range connected {
				if o.vrf == vrf && o.net.Overlaps(pfx.Masked()) {
					return cfgErr(ap, "%s overlaps %s, already in VRF %s", pfx, o.net, n.VRF)
				}
			}
			connected = append(connected, owned{vrf, pfx.Masked()})
			n.addrs = append(n.addrs, pfx)
			n.Addrs = append(n.Addrs, pfx.String())
		}
		if has6 && n.MTU < MinMTU6 {
			return cfgErr(p+".mtu", "%d is below IPv6's minimum %d", n.MTU, MinMTU6)
		}
		l3.ifaces = append(l3.ifaces, n)
		l3.ifID[ifc.Name] = uint16(len(l3.ifaces))
		out.Interfaces = append(out.Interfaces, n.Interface)
	}
	return nil
}

func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return 96
	}
	return 0
}

func checkIfaceAddr(p netip.Prefix) error {
	a := p.Addr()
	switch {
	case !p.IsValid():
		return fmt.Errorf("invalid prefix")
	case a.IsUnspecified(), a.IsMulticast(), a.IsLoopback():
		return fmt.Errorf("not a unicast address")
	case a.Is4() && p.Bits() < 31 && a == p.Masked().Addr():
		return fmt.Errorf("is the network address of its subnet")
	case a.Is4() && p.Bits() < 31 && a == broadcast4(p):
		return fmt.Errorf("is the broadcast address of its subnet")
	}
	return nil
}

func broadcast4(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= uint32(1)<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// derivedMAC is a stable locally administered unicast MAC for an interface
// name (02:xx:xx:xx:xx:xx).
func derivedMAC(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("vecswitch-rif/" + name))
	return h.Sum64()&(1<<40-1) | 0x02<<40
}

func (c *Config) normalizeRoutes(out *Config, l3 *l3Config) error {
	type key struct {
		vrf uint16
		p   netip.Prefix
	}
	seen := make(map[key]bool, len(c.Routes))
	conn := map[key]bool{}
	for _, ifc := range l3.ifaces {
		for _, a := range ifc.addrs {
			conn[key{ifc.vrf, a.Masked()}] = true
		}
	}
	if len(c.Routes) > 0 {
		out.Routes = make([]Route, 0, len(c.Routes))
		l3.routes = make([]routeCfg, 0, len(c.Routes))
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		p := lazyPath{"routes", i}
		vrfName := r.VRF
		if vrfName == "" {
			vrfName = DefaultVRF
		}
		vrf, ok := l3.vrfID[vrfName]
		if !ok {
			return cfgErr(p.at(".vrf"), "no VRF %q", vrfName)
		}
		pfx, err := netip.ParsePrefix(r.Prefix)
		if err != nil {
			return cfgErr(p.at(".prefix"), "%v", err)
		}
		if pfx.Addr().Is4In6() {
			return cfgErr(p.at(".prefix"), "%s: write IPv4 prefixes as IPv4", r.Prefix)
		}
		if pfx.Masked() != pfx {
			return cfgErr(p.at(".prefix"), "%s has host bits set (the network is %s)", r.Prefix, pfx.Masked())
		}
		if pfx.Addr().Zone() != "" {
			return cfgErr(p.at(".prefix"), "%s: no zones in prefixes", r.Prefix)
		}
		k := key{vrf, pfx}
		if seen[k] {
			return cfgErr(p.at(""), "route %s in VRF %s declared twice", pfx, vrfName)
		}
		if conn[k] {
			return cfgErr(p.at(""), "%s is a connected subnet of VRF %s", pfx, vrfName)
		}
		seen[k] = true
		rc := routeCfg{vrf: vrf, prefix: pfx, blackhole: r.Blackhole}
		nr := Route{Prefix: canonicalPrefix(r.Prefix, pfx), Blackhole: r.Blackhole}
		if vrf != 0 {
			nr.VRF = vrfName
		}
		switch {
		case r.Blackhole && len(r.Via) > 0:
			return cfgErr(p.at(""), "a blackhole route has no next hops")
		case !r.Blackhole && len(r.Via) == 0:
			return cfgErr(p.at(""), "needs next hops (via) or blackhole")
		case len(r.Via) > maxNextHops:
			return cfgErr(p.at(".via"), "more than %d next hops", maxNextHops)
		}
		for hi, h := range r.Via {
			hp := func() string { return p.at(fmt.Sprintf(".via[%d]", hi)) }
			hc, err := l3.resolveHop(h, vrf, pfx.Addr().Is4())
			if err != nil {
				return cfgErr(hp(), "%v", err)
			}
			if slices.Contains(rc.hops, hc) {
				return cfgErr(hp(), "next hop listed twice")
			}
			rc.hops = append(rc.hops, hc)
			nh := NextHop{}
			if hc.addr.IsValid() {
				nh.Addr = canonicalAddr(h.Addr, hc.addr)
			}
			if h.Interface != "" || !hc.addr.IsValid() {
				nh.Interface = l3.ifaces[hc.iface-1].Name
			}
			nr.Via = append(nr.Via, nh)
		}
		l3.routes = append(l3.routes, rc)
		out.Routes = append(out.Routes, nr)
	}
	return nil
}

// resolveHop finds the interface a next hop leaves by: the named one, or the
// one whose connected subnet holds the gateway.
func (l3 *l3Config) resolveHop(h NextHop, vrf uint16, v4 bool) (hopCfg, error) {
	var hc hopCfg
	if h.Interface != "" {
		id, ok := l3.ifID[h.Interface]
		if !ok {
			return hc, fmt.Errorf("no interface %q", h.Interface)
		}
		if l3.ifaces[id-1].vrf != vrf {
			return hc, fmt.Errorf("interface %s is in VRF %s", h.Interface, l3.ifaces[id-1].VRF)
		}
		hc.iface = id
	}
	if h.Addr == "" {
		if hc.iface == 0 {
			return hc, fmt.Errorf("needs an address or an interface")
		}
		return hc, nil
	}
	a, err := netip.ParseAddr(h.Addr)
	if err != nil {
		return hc, err
	}
	a = a.Unmap()
	if a.Is4() != v4 {
		return hc, fmt.Errorf("gateway %s is not of the route's address family", a)
	}
	if a.Zone() != "" {
		return hc, fmt.Errorf("gateway %s: name the interface instead of a zone", a)
	}
	if !a.IsGlobalUnicast() && !a.IsLinkLocalUnicast() {
		return hc, fmt.Errorf("gateway %s is not a unicast address", a)
	}
	hc.addr = a
	for i, ifc := range l3.ifaces {
		if ifc.vrf != vrf || hc.iface != 0 && hc.iface != uint16(i+1) {
			continue
		}
		for _, p := range ifc.addrs {
			if p.Addr() == a {
				return hc, fmt.Errorf("gateway %s is the switch's own address", a)
			}
			if p.Contains(a) || a.IsLinkLocalUnicast() && hc.iface != 0 {
				hc.iface = uint16(i + 1)
				return hc, nil
			}
		}
	}
	if a.IsLinkLocalUnicast() {
		return hc, fmt.Errorf("link-local gateway %s needs an interface", a)
	}
	return hc, fmt.Errorf("gateway %s is in no connected subnet of the VRF%s", a, ifaceSuffix(h.Interface))
}

func ifaceSuffix(n string) string {
	if n == "" {
		return ""
	}
	return " on interface " + n
}

func (c *Config) normalizeNeighbors(out *Config, l3 *l3Config) error {
	type key struct {
		iface uint16
		a     netip.Addr
	}
	seen := map[key]bool{}
	for i, n := range c.Neighbors {
		p := fmt.Sprintf("neighbors[%d]", i)
		id, ok := l3.ifID[n.Interface]
		if !ok {
			return cfgErr(p+".interface", "no interface %q", n.Interface)
		}
		a, err := netip.ParseAddr(n.Addr)
		if err != nil {
			return cfgErr(p+".addr", "%v", err)
		}
		a = a.Unmap()
		if !a.IsGlobalUnicast() && !a.IsLinkLocalUnicast() || a.Zone() != "" {
			return cfgErr(p+".addr", "%s is not a unicast address", n.Addr)
		}
		m, err := parseMAC(n.MAC)
		if err != nil {
			return cfgErr(p+".mac", "%v", err)
		}
		if m>>40&1 != 0 || m == 0 {
			return cfgErr(p+".mac", "%s is not a unicast address", n.MAC)
		}
		k := key{id, a}
		if seen[k] {
			return cfgErr(p, "neighbor %s on %s declared twice", a, n.Interface)
		}
		seen[k] = true
		l3.neighs = append(l3.neighs, neighCfg{iface: id, addr: a, mac: m})
		out.Neighbors = append(out.Neighbors, Neighbor{Interface: n.Interface, Addr: a.String(), MAC: formatMAC(m)})
	}
	return nil
}

// routedBridgeName is the hidden bridge that carries a routed port.
func routedBridgeName(port string) string { return "port:" + port }

// isRoutedBridge reports whether a bridge name is a routed port's.
func isRoutedBridge(name string) bool { return strings.HasPrefix(name, "port:") }

// allBridges is cfg's bridges plus one hidden single-port bridge per routed
// port, so routed ports reuse the L2 input path (the interface's MAC is a
// static entry in it like on any bridge).
func (c *Config) allBridges() []Bridge {
	var routed []Bridge
	for _, ifc := range c.Interfaces {
		if ifc.Port != "" {
			routed = append(routed, Bridge{Name: routedBridgeName(ifc.Port), MACAgeSeconds: DefaultMACAge,
				MACLimit: 4096, Ports: []Port{{Name: ifc.Port, Mode: Access}}})
		}
	}
	if len(routed) == 0 {
		return c.Bridges
	}
	return append(slices.Clip(c.Bridges), routed...)
}

// lazyPath is a configuration path formatted only when an error needs it
// (a million routes would otherwise format a million strings).
type lazyPath struct {
	list string
	i    int
}

func (p lazyPath) at(field string) string { return fmt.Sprintf("%s[%d]%s", p.list, p.i, field) }

// canonicalAddr returns s if it already is a's canonical form (the common
// case, without formatting), else a's canonical form.
func canonicalAddr(s string, a netip.Addr) string {
	if b, err := netip.ParseAddr(s); err == nil && b == a && !strings.ContainsAny(s, "ABCDEF") && !strings.Contains(s, "::ffff:") && (a.Is4() || !strings.Contains(s, ":0")) {
		return s
	}
	return a.String()
}

// canonicalPrefix is canonicalAddr for prefixes.
func canonicalPrefix(s string, p netip.Prefix) string {
	if a, bits, ok := strings.Cut(s, "/"); ok && bits == strconv.Itoa(p.Bits()) && canonicalAddr(a, p.Addr()) == a {
		return s
	}
	return p.String()
}
