package daemon

import (
	"crypto/rand"
	"crypto/sha256"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The L3 commands: VRFs, router interfaces and their addresses, static
// routes and neighbors. Each edits the desired State and commits it like
// the L2 commands, so routes and addresses are durable.

func (d *Daemon) l3Handlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"vrf/add": d.vrfAdd, "vrf/del": d.vrfDel,
		"rif/add": d.rifAdd, "rif/del": d.rifDel, "rif/show": d.rifShow,
		"addr/add": d.addrAdd, "addr/del": d.addrDel,
		"route/add": d.routeAdd, "route/del": d.routeDel, "route/show": d.routeShow,
		"neigh/show": d.neighShow, "neigh/add": d.neighAdd, "neigh/del": d.neighDel, "neigh/flush": d.neighFlush,
		"neigh/stats": d.neighStats,
	}
}

func (s *State) rif(name string) *vswitch.Interface {
	for i := range s.Interfaces {
		if s.Interfaces[i].Name == name {
			return &s.Interfaces[i]
		}
	}
	return nil
}

func (d *Daemon) vrfAdd(args []string) (any, error) {
	if args[0] == vswitch.DefaultVRF || slices.ContainsFunc(d.state.VRFs, func(v vswitch.VRF) bool { return v.Name == args[0] }) {
		return nil, nil // a VRF has no settings: the same again is a no-op
	}
	next := d.state.clone()
	next.VRFs = append(next.VRFs, vswitch.VRF{Name: args[0]})
	return nil, d.commit(next)
}

func (d *Daemon) vrfDel(args []string) (any, error) {
	name := args[0]
	if name == vswitch.DefaultVRF {
		return nil, ctl.Errorf(ctl.CodeInvalid, "the default VRF always exists and cannot be deleted")
	}
	if !slices.ContainsFunc(d.state.VRFs, func(v vswitch.VRF) bool { return v.Name == name }) {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no VRF %s", name)
	}
	for _, i := range d.state.Interfaces {
		if i.VRF == name {
			return nil, ctl.Errorf(ctl.CodeInvalid, "VRF %s has interface %s: move or delete it first", name, i.Name)
		}
	}
	next := d.state.clone()
	next.VRFs = slices.DeleteFunc(next.VRFs, func(v vswitch.VRF) bool { return v.Name == name })
	next.Routes = slices.DeleteFunc(next.Routes, func(r vswitch.Route) bool { return r.VRF == name })
	return nil, d.commit(next)
}

func (d *Daemon) rifAdd(args []string) (any, error) {
	name := args[0]
	if d.state.rif(name) != nil {
		return nil, ctl.Errorf(ctl.CodeExists, "interface %s exists", name)
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "bridge", "vlan", "vrf", "mac", "mtu", "addr"); err != nil {
		return nil, err
	}
	if opts["bridge"] == "" {
		return nil, ctl.Errorf(ctl.CodeUsage, "usage: rif/add NAME bridge=BRIDGE [vlan=N] [vrf=NAME] [mac=MAC] [mtu=N] [addr=CIDR,...]")
	}
	if v := opts["vrf"]; v != "" && v != vswitch.DefaultVRF &&
		!slices.ContainsFunc(d.state.VRFs, func(x vswitch.VRF) bool { return x.Name == v }) {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no VRF %s (vrf/add it first)", v)
	}
	ifc := vswitch.Interface{Name: name, Bridge: opts["bridge"], VRF: opts["vrf"], MAC: opts["mac"]}
	if ifc.MAC != "" {
		if hw, err := net.ParseMAC(ifc.MAC); err == nil && len(hw) == 6 {
			if owner := stationMACOwner(&d.state, hw.String()); owner != "" {
				return nil, ctl.Errorf(ctl.CodeInvalid, "mac=%s is %s, a station's, not the router's", ifc.MAC, owner)
			}
		}
	} else if ifc.MAC, err = d.rifMAC(name); err != nil {
		return nil, ctl.Errorf(ctl.CodeInternal, "rif/add %s: %v", name, err)
	}
	vlan, err := intOpt(opts, "vlan", 0, 0, vswitch.MaxVLAN)
	if err != nil {
		return nil, err
	}
	ifc.VLAN = uint16(vlan)
	if ifc.MTU, err = intOpt(opts, "mtu", 0, vswitch.MinMTU4, 9216); err != nil {
		return nil, err
	}
	if a := opts["addr"]; a != "" {
		ifc.Addrs = splitList(a)
	}
	next := d.state.clone()
	next.Interfaces = append(next.Interfaces, ifc)
	return nil, d.commit(next)
}

func (d *Daemon) rifDel(args []string) (any, error) {
	name := args[0]
	if d.state.rif(name) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no interface %s", name)
	}
	next := d.state.clone()
	next.removeRIF(name)
	return nil, d.commit(next)
}

// removeRIF deletes an interface with its static neighbors, the routes
// that leave by it (named, or through a gateway in its subnets) and the
// NAT entries naming it (masquerades of its networks or behind it, its
// uplink entry; port maps name addresses and stay).
func (s *State) removeRIF(name string) {
	ifc := s.rif(name)
	if ifc == nil {
		return
	}
	var subnets []netip.Prefix
	for _, a := range ifc.Addrs {
		if p, err := netip.ParsePrefix(a); err == nil {
			subnets = append(subnets, p.Masked())
		}
	}
	s.Routes = slices.DeleteFunc(s.Routes, func(r vswitch.Route) bool {
		return (r.VRF == ifc.VRF || r.VRF == "" && ifc.VRF == vswitch.DefaultVRF) && viaAny(r, name, subnets)
	})
	s.Neighbors = slices.DeleteFunc(s.Neighbors, func(n vswitch.Neighbor) bool { return n.Interface == name })
	s.Interfaces = slices.DeleteFunc(s.Interfaces, func(i vswitch.Interface) bool { return i.Name == name })
	s.dropNAT(name)
	s.dropDNS(name)
}

func viaAny(r vswitch.Route, iface string, subnets []netip.Prefix) bool {
	for _, h := range r.Via {
		if h.Interface == iface {
			return true
		}
		if a, err := netip.ParseAddr(h.Addr); err == nil && h.Interface == "" {
			for _, p := range subnets {
				if p.Contains(a) {
					return true
				}
			}
		}
	}
	return false
}

// rifsOn names the interfaces on a bridge.
func rifsOn(ifs []vswitch.Interface, bridge string) []string {
	var out []string
	for _, i := range ifs {
		if i.Bridge == bridge {
			out = append(out, i.Name)
		}
	}
	return out
}

// rifView is a router interface as rif/show presents it: its
// configuration and, when a port of its domain has a smaller MTU, the
// effective MTU the switch routes and encapsulates with and that port.
type rifView struct {
	vswitch.Interface
	EffectiveMTU int    `json:"effective_mtu,omitempty"`
	MTULimitedBy string `json:"mtu_limited_by,omitempty"`
}

func (d *Daemon) rifShow([]string) (any, error) {
	eff := map[string]vswitch.InterfaceMTU{}
	for _, m := range d.sw.InterfaceMTUs() {
		eff[m.Name] = m
	}
	ifs := d.sw.Config().Interfaces
	out := make([]rifView, 0, len(ifs))
	for _, ifc := range ifs {
		v := rifView{Interface: ifc}
		if m, ok := eff[ifc.Name]; ok && m.Effective != m.MTU {
			v.EffectiveMTU, v.MTULimitedBy = m.Effective, m.LimitedBy
		}
		out = append(out, v)
	}
	return out, nil
}

func (d *Daemon) addrAdd(args []string) (any, error) {
	next := d.state.clone()
	ifc := next.rif(args[0])
	if ifc == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no interface %s", args[0])
	}
	p, err := netip.ParsePrefix(args[1])
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: want an address with its prefix length (10.0.0.1/24, fd00::1/64)", args[1])
	}
	for _, a := range ifc.Addrs {
		if q, err := netip.ParsePrefix(a); err == nil && q.Addr() == p.Addr() {
			return nil, ctl.Errorf(ctl.CodeExists, "%s already has %s", args[0], a)
		}
	}
	ifc.Addrs = append(ifc.Addrs, p.String())
	return nil, d.commit(next)
}

func (d *Daemon) addrDel(args []string) (any, error) {
	next := d.state.clone()
	ifc := next.rif(args[0])
	if ifc == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no interface %s", args[0])
	}
	want, err := netip.ParsePrefix(args[1])
	if err != nil {
		if a, err2 := netip.ParseAddr(args[1]); err2 == nil {
			want = netip.PrefixFrom(a, -1)
		} else {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%s: not an address", args[1])
		}
	}
	n := len(ifc.Addrs)
	ifc.Addrs = slices.DeleteFunc(ifc.Addrs, func(a string) bool {
		q, err := netip.ParsePrefix(a)
		return err == nil && q.Addr() == want.Addr() && (want.Bits() < 0 || q.Bits() == want.Bits())
	})
	if len(ifc.Addrs) == n {
		return nil, ctl.Errorf(ctl.CodeNotFound, "%s has no address %s", args[0], args[1])
	}
	return nil, d.commit(next)
}

// route/add PREFIX (via=GW[,GW...] [dev=RIF] | dev=RIF | blackhole) [vrf=NAME]
func (d *Daemon) routeAdd(args []string) (any, error) {
	r, opts, err := routeArgs(args, "via", "dev", "vrf", "blackhole")
	if err != nil {
		return nil, err
	}
	_, bh := opts["blackhole"]
	via, dev := opts["via"], opts["dev"]
	switch {
	case bh && (via != "" || dev != ""):
		return nil, ctl.Errorf(ctl.CodeUsage, "a blackhole route has no via or dev")
	case bh:
		r.Blackhole = true
	case via != "":
		for _, g := range splitList(via) {
			r.Via = append(r.Via, vswitch.NextHop{Addr: g, Interface: dev})
		}
	case dev != "":
		r.Via = []vswitch.NextHop{{Interface: dev}}
	default:
		return nil, ctl.Errorf(ctl.CodeUsage, "usage: route/add PREFIX (via=GW[,GW...] [dev=IF] | dev=IF | blackhole) [vrf=NAME]")
	}
	if r.VRF != "" && !slices.ContainsFunc(d.state.VRFs, func(v vswitch.VRF) bool { return v.Name == r.VRF }) {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no VRF %s (vrf/add it first)", r.VRF)
	}
	next := d.state.clone()
	if i := next.route(r); i >= 0 {
		if sameRoute(next.Routes[i], r) {
			return nil, nil // the same route again is a no-op
		}
		return nil, ctl.Errorf(ctl.CodeExists, "another route %s exists in VRF %s (route/del it first)", r.Prefix, vrfName(r.VRF))
	}
	next.Routes = append(next.Routes, r)
	return nil, d.commit(next)
}

func (d *Daemon) routeDel(args []string) (any, error) {
	r, _, err := routeArgs(args, "vrf")
	if err != nil {
		return nil, err
	}
	next := d.state.clone()
	i := next.route(r)
	if i < 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no static route %s in VRF %s", r.Prefix, vrfName(r.VRF))
	}
	next.Routes = slices.Delete(next.Routes, i, i+1)
	return nil, d.commit(next)
}

// routeArgs parses PREFIX and the key=value options (a bare word is an
// option with an empty value, like "blackhole").
func routeArgs(args []string, allowed ...string) (vswitch.Route, map[string]string, error) {
	p, err := netip.ParsePrefix(args[0])
	if err != nil {
		if a, err2 := netip.ParseAddr(args[0]); err2 == nil {
			p = netip.PrefixFrom(a, a.BitLen())
		} else {
			return vswitch.Route{}, nil, ctl.Errorf(ctl.CodeInvalid, "%s: want a prefix such as 10.1.0.0/16 or fd00:1::/48", args[0])
		}
	}
	opts := map[string]string{}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		if !slices.Contains(allowed, k) {
			return vswitch.Route{}, nil, ctl.Errorf(ctl.CodeInvalid, "unknown option %q (want %s)", k, strings.Join(allowed, ", "))
		}
		if _, dup := opts[k]; dup {
			return vswitch.Route{}, nil, ctl.Errorf(ctl.CodeInvalid, "option %s given twice", k)
		}
		opts[k] = v
	}
	r := vswitch.Route{Prefix: p.String(), VRF: opts["vrf"]}
	if r.VRF == vswitch.DefaultVRF {
		r.VRF = ""
	}
	return r, opts, nil
}

// route finds a static route by VRF and prefix (-1 if absent). An IPv4
// prefix has one text form that parses (no leading zeros, in the address
// or the length): it is compared as text, without parsing each route (a
// batch of n route/adds parsed n²/2 prefixes: 85 % of its time); an IPv6
// one, which has several, is compared parsed.
func (s *State) route(r vswitch.Route) int {
	want, _ := netip.ParsePrefix(r.Prefix)
	text := want.String()
	return slices.IndexFunc(s.Routes, func(x vswitch.Route) bool {
		if vrfName(x.VRF) != vrfName(r.VRF) {
			return false
		}
		if x.Prefix == text {
			return want.IsValid()
		}
		if !strings.Contains(x.Prefix, ":") {
			return false
		}
		p, err := netip.ParsePrefix(x.Prefix)
		return err == nil && p == want
	})
}

// sameRoute reports whether a and b, routes to one prefix, go the same
// way: both blackholes, or the same next hops in the same order
// (addresses compared as addresses).
func sameRoute(a, b vswitch.Route) bool {
	return a.Blackhole == b.Blackhole && slices.EqualFunc(a.Via, b.Via, func(x, y vswitch.NextHop) bool {
		xa, _ := netip.ParseAddr(x.Addr)
		ya, _ := netip.ParseAddr(y.Addr)
		return x.Interface == y.Interface && (x.Addr == y.Addr || xa.IsValid() && xa == ya)
	})
}

func vrfName(v string) string {
	if v == "" {
		return vswitch.DefaultVRF
	}
	return v
}

func (d *Daemon) routeShow(args []string) (any, error) {
	vrf := ""
	if len(args) == 1 {
		vrf = args[0]
	}
	rs, err := d.sw.Routes(vrf)
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "%v", err)
	}
	if rs == nil {
		rs = []vswitch.RouteEntry{}
	}
	// Routes BGP learned are static to the switch; say where they came
	// from (a static route with the same prefix wins, and stays static).
	learned := map[[2]string]bool{}
	for _, r := range d.state.bgpRoutes() {
		learned[[2]string{vrfName(r.VRF), r.Prefix}] = true
	}
	for i := range rs {
		if rs[i].Type == "static" && learned[[2]string{vrfName(rs[i].VRF), rs[i].Prefix}] {
			rs[i].Type = "bgp"
		}
	}
	return rs, nil
}

func (d *Daemon) neighShow(args []string) (any, error) {
	if len(args) == 1 && d.state.rif(args[0]) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no interface %s", args[0])
	}
	all := d.sw.Neighbors()
	out := make([]vswitch.NeighborEntry, 0, len(all))
	for _, n := range all {
		if len(args) == 0 || n.Interface == args[0] {
			out = append(out, n)
		}
	}
	return out, nil
}

// neighStats reports the ARP/ND table's size, limits and counters
// (ctl.NeighborStats): how full it is, each interface's share, and how
// many entries were learned, evicted for newer ones, refused (full) and
// aged.
func (d *Daemon) neighStats([]string) (any, error) {
	st := d.sw.NeighborStats()
	if st.Interfaces == nil {
		st.Interfaces = []vswitch.NeighborIfaceStats{}
	}
	return st, nil
}

func (d *Daemon) neighAdd(args []string) (any, error) {
	rif := d.state.rif(args[0])
	if rif == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no interface %s", args[0])
	}
	a, err := netip.ParseAddr(args[1])
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: not an address", args[1])
	}
	if err := neighAddrCheck(rif, a.Unmap()); err != nil {
		return nil, err
	}
	next := d.state.clone()
	for _, n := range next.Neighbors {
		if n.Interface == args[0] && n.Addr == a.String() {
			return nil, ctl.Errorf(ctl.CodeExists, "static neighbor %s on %s exists", a, args[0])
		}
	}
	next.Neighbors = append(next.Neighbors, vswitch.Neighbor{Interface: args[0], Addr: a.String(), MAC: args[2]})
	return nil, d.commit(next)
}

// neighAddrCheck refuses a static neighbor at an address no neighbor can
// have on rif: its own (or, with proxy ARP, the link-local gateway it
// answers as) and the broadcast address of one of its IPv4 subnets. An
// address outside its subnets is taken, as Linux's ip neigh takes it: a
// route/add PREFIX dev=IF resolves its destinations on the interface
// itself, and an interface with no address (a routed port's) has only
// such neighbors (docs/routing.md).
func neighAddrCheck(rif *vswitch.Interface, a netip.Addr) error {
	if rif.ProxyARP && (a == vswitch.ProxyGateway4 || a == vswitch.ProxyGateway6) {
		return ctl.Errorf(ctl.CodeInvalid, "%s is interface %s's own address (the gateway its proxy ARP answers as), not a neighbor's", a, rif.Name)
	}
	for _, s := range rif.Addrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		if p.Addr().Unmap() == a {
			return ctl.Errorf(ctl.CodeInvalid, "%s is interface %s's own address, not a neighbor's", a, rif.Name)
		}
		if p = p.Masked(); a.Is4() && p.Addr().Is4() && p.Bits() < 31 && p.Contains(a) && a == lastAddr(p) {
			return ctl.Errorf(ctl.CodeInvalid, "%s is the broadcast address of interface %s's subnet %s, not a neighbor's", a, rif.Name, p)
		}
	}
	return nil
}

// lastAddr is the last address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (d *Daemon) neighDel(args []string) (any, error) {
	a, err := netip.ParseAddr(args[1])
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: not an address", args[1])
	}
	next := d.state.clone()
	n := len(next.Neighbors)
	next.Neighbors = slices.DeleteFunc(next.Neighbors, func(x vswitch.Neighbor) bool {
		return x.Interface == args[0] && x.Addr == a.String()
	})
	if len(next.Neighbors) == n {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no static neighbor %s on %s", a, args[0])
	}
	return nil, d.commit(next)
}

func (d *Daemon) neighFlush(args []string) (any, error) {
	name := ""
	if len(args) == 1 {
		name = args[0]
		if d.state.rif(name) == nil {
			return nil, ctl.Errorf(ctl.CodeNotFound, "no interface %s", name)
		}
	}
	return nil, d.sw.FlushNeighbors(name)
}

// rifMAC makes the MAC of a new router interface given none: derived
// from this host's ID (State.HostID, random, made at the first start and
// kept) and the interface's name, locally administered unicast, as
// systemd derives a link's stable MAC from the machine ID and the link's
// name. So rif/del and rif/add of the same name on the same host give the
// interface back its MAC, and the containers' ARP/ND caches, which
// nothing tells of a change, stay right; two hosts that give their
// interfaces the same name (docs/overlays.md's example does: rif/add up
// on both) still differ on an underlay, as a name hash alone (vswitch's
// default for API users) would not. The MAC is stored with the
// interface, like a given one: interfaces stored before keep theirs. In
// the unlikely case that the MAC is already the switch's or a station's,
// the next derivation is taken.
func (d *Daemon) rifMAC(name string) (string, error) {
	if d.state.HostID == "" {
		return randomMAC()
	}
	own := d.ownMACs(&d.state)
	for i := 0; ; i++ {
		mac := stableMAC(d.state.HostID, name, i)
		if _, taken := own[mac]; !taken && stationMACOwner(&d.state, mac) == "" {
			return mac, nil
		}
	}
}

// stableMAC is rifMAC's derivation number i: the first 6 bytes of
// SHA-256 over a fixed label, the host ID, the name and i, with the
// multicast bit cleared and the locally administered bit set.
func stableMAC(hostID, name string, i int) string {
	h := sha256.New()
	h.Write([]byte("vecswitch router interface MAC\x00"))
	h.Write([]byte(hostID))
	h.Write([]byte{0})
	h.Write([]byte(name))
	if i > 0 {
		h.Write([]byte{0, byte(i >> 8), byte(i)})
	}
	b := h.Sum(nil)[:6]
	b[0] = b[0]&^0x01 | 0x02
	return net.HardwareAddr(b).String()
}

// randomMAC makes a router interface's MAC, locally administered
// unicast and random, for a state with no host ID to derive one from.
func randomMAC() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[0] = b[0]&^0x01 | 0x02
	return net.HardwareAddr(b[:]).String(), nil
}

// stationMACOwner names what makes mac (net.HardwareAddr's form) a
// station's in s: a bridge port's macs= ("port P's bound MAC (macs=)")
// or a static MAC on a port; "" when nothing does. A router interface
// with such a MAC would fight the station for the MAC table's entry
// (port security binds it to the port), as set-port macs= of a router
// interface's MAC would (checkStationMACs refuses that).
func stationMACOwner(s *State, mac string) string {
	for _, b := range s.Bridges {
		for _, p := range b.Ports {
			for _, m := range p.MACs {
				if hw, err := net.ParseMAC(m); err == nil && hw.String() == mac {
					return "port " + p.Name + "'s bound MAC (macs=)"
				}
			}
		}
		for _, m := range b.StaticMACs {
			if hw, err := net.ParseMAC(m.MAC); err == nil && hw.String() == mac && m.Port != "" {
				return "a static MAC on port " + m.Port
			}
		}
	}
	return ""
}
