package nat

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// PortRange is an inclusive range of translated ports (or ICMP
// identifiers).
type PortRange struct{ Min, Max uint16 }

// Config configures a Table. Zero fields take the defaults.
type Config struct {
	// TCP, UDP: the source ports masqueraded flows get when their own is
	// taken or outside the range (also UDP-Lite and DCCP). Default
	// 1024-65535.
	TCP, UDP PortRange
	// ICMP: the echo identifiers. Default 0-65535.
	ICMP PortRange
	// MaxAttempts bounds the candidate ports tried for one new flow after
	// its own (default 128, as Linux's nf_nat_l4proto_unique_tuple): a
	// range no larger is searched whole, a larger one at random, so a
	// nearly full large range may refuse a flow while a port is free.
	MaxAttempts int
	// ServiceTableSize is the size of each service's Maglev table, a
	// prime (default lb.DefaultSize, 65537: 128 KiB per service).
	ServiceTableSize int
	// ServiceSeed seeds the flow hash services pick backends by. Hosts
	// that should send a flow to the same backend (several switches in
	// front of one service, or one switch across a restart) need the
	// same seed; 0 is a valid one.
	ServiceSeed uint64
}

// Table is the NAT configuration: masqueraded networks, port maps,
// load-balanced services and uplink addresses. The control plane changes
// it with SetNetwork, DeleteNetwork, AddMap, DeleteMap, SetService,
// DeleteService and SetUplinks (serialized by a
// mutex, validated first: a rejected change changes nothing); each change
// compiles a new immutable Rules and publishes it with an atomic pointer,
// so workers read it without a lock.
type Table struct {
	cfg   Config
	rules atomic.Pointer[Rules]

	mu      sync.Mutex // guards the desired configuration below
	nets    []Network
	maps    []Map
	uplinks []netip.Addr
	inner   []netip.Prefix
	svcs    []*compiledSvc

	wmu     sync.Mutex // guards workers
	workers []*Worker
}

// NewTable makes an empty table.
func NewTable(cfg Config) (*Table, error) {
	def := func(r *PortRange, d PortRange) error {
		if *r == (PortRange{}) {
			*r = d
		}
		if r.Min > r.Max {
			return fmt.Errorf("%w: port range %d-%d", ErrConfig, r.Min, r.Max)
		}
		return nil
	}
	for _, e := range []error{def(&cfg.TCP, PortRange{1024, 65535}), def(&cfg.UDP, PortRange{1024, 65535}), def(&cfg.ICMP, PortRange{0, 65535})} {
		if e != nil {
			return nil, e
		}
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 128
	}
	if cfg.MaxAttempts < 1 {
		return nil, fmt.Errorf("%w: max attempts %d", ErrConfig, cfg.MaxAttempts)
	}
	if err := checkServiceConfig(&cfg); err != nil {
		return nil, err
	}
	t := &Table{cfg: cfg}
	t.publish()
	return t, nil
}

// Rules returns the current compiled configuration.
func (t *Table) Rules() *Rules { return t.rules.Load() }

// SetNetwork adds a masqueraded network, or replaces the one of the same
// name. Its sources must not overlap another network's.
func (t *Table) SetNetwork(n Network) error {
	if err := n.validate(); err != nil {
		return err
	}
	n.Sources = slices.Clone(n.Sources)
	t.mu.Lock()
	defer t.mu.Unlock()
	i := slices.IndexFunc(t.nets, func(o Network) bool { return o.Name == n.Name })
	for j, o := range t.nets {
		if j == i {
			continue
		}
		for _, p := range n.Sources {
			for _, q := range o.Sources {
				if p.Overlaps(q) {
					return &NetworkError{Network: n.Name, Err: ErrOverlap, Detail: p.String() + " and " + q.String() + " of " + o.Name}
				}
			}
		}
	}
	if i >= 0 {
		t.nets[i] = n
	} else {
		t.nets = append(t.nets, n)
	}
	t.publish()
	return nil
}

// DeleteNetwork removes a network; it reports whether there was one.
func (t *Table) DeleteNetwork(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := slices.IndexFunc(t.nets, func(o Network) bool { return o.Name == name })
	if i < 0 {
		return false
	}
	t.nets = slices.Delete(t.nets, i, i+1)
	t.publish()
	return true
}

// AddMap adds a port mapping. Adding one that is already there is not an
// error and changes nothing; one that overlaps another or a service (the
// same protocol and host port, and the same host address or "any" on
// either side) is a *MapError wrapping ErrOverlap.
func (t *Table) AddMap(m Map) error {
	if err := m.validate(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, o := range t.maps {
		if o == m {
			return nil
		}
		if m.overlaps(o) {
			return &MapError{Map: m, With: &t.maps[i], Err: ErrOverlap}
		}
	}
	if err := t.serviceOverlap(m); err != nil {
		return err
	}
	t.maps = append(t.maps, m)
	t.publish()
	return nil
}

// DeleteMap removes the mapping of m's protocol, host address and host
// port (its target is not compared). It reports whether there was one;
// deleting one that is not there is not an error. Flows the mapping
// created keep their translation until they end (as Linux's); flush them
// with conntrack's Flush and MapFlows.
func (t *Table) DeleteMap(m Map) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := slices.IndexFunc(t.maps, func(o Map) bool {
		return o.Proto == m.Proto && o.Host == m.Host && o.HostPort == m.HostPort
	})
	if i < 0 {
		return false
	}
	t.maps = slices.Delete(t.maps, i, i+1)
	t.publish()
	return true
}

// Maps returns the port mappings, in the order they were added.
func (t *Table) Maps() []Map {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.maps)
}

// Networks returns the masqueraded networks.
func (t *Table) Networks() []Network {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.nets)
}

// SetUplinks sets the uplink addresses: those a map with an unspecified
// host address listens on.
func (t *Table) SetUplinks(addrs []netip.Addr) error {
	for _, a := range addrs {
		if !unicast(a) {
			return fmt.Errorf("%w: uplink %v", ErrAddr, a)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.uplinks = slices.Clone(addrs)
	t.publish()
	return nil
}

// SetInternal sets the switch's networks that are no uplink's, as the
// addresses of their router interfaces with their prefix lengths
// (10.1.0.1/24: the subnet 10.1.0.0/24 is internal, 10.1.0.1 its
// gateway). A masqueraded flow to an internal subnet stays untranslated,
// as one to a masqueraded network does ("traffic between the switch's
// own networks is routed untranslated"). And an internal subnet is a
// network a hairpin can happen in, masqueraded or not: a flow to a port
// map or a service whose target is in the client's own subnet gets its
// source translated to that subnet's gateway, so the target's reply
// comes back through the switch (Docker's bridge does the same for
// every bridge network). The caller leaves out the uplinks' subnets:
// those are the outside. A masqueraded network's own gateway
// (Network.Gateway4, Gateway6) is used first for a flow within it.
func (t *Table) SetInternal(addrs []netip.Prefix) error {
	for _, p := range addrs {
		if !p.IsValid() || !unicast(p.Addr()) {
			return fmt.Errorf("%w: internal network %v", ErrPrefix, p)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inner = slices.Clone(addrs)
	t.publish()
	return nil
}

// MapFlows returns a conntrack.Table.Flush predicate matching the flows
// port mapping m translated: for "this mapping was removed, stop its
// flows".
func MapFlows(m Map) func(*conntrack.Flow) bool {
	tgt := conntrack.AddrFrom(m.Target)
	return func(f *conntrack.Flow) bool {
		return f.Orig.Proto == m.Proto && f.Orig.DstPort == m.HostPort &&
			(m.Host.IsUnspecified() || f.Orig.Dst == conntrack.AddrFrom(m.Host)) &&
			f.Reply.Src == tgt && f.Reply.SrcPort == m.TargetPort
	}
}

// Rules is a compiled, immutable NAT configuration: what a worker
// consults when a flow starts. Flows already set up are translated from
// their conntrack entries and never look at it.
type Rules struct {
	cfg     Config
	nets    []compiledNet
	maps    map[mapKey]target // exact host address
	anyMaps map[mapKey]target // unspecified host: Addr zero, v6 in Flags
	uplinks map[conntrack.Addr]bool
	// self are the switch's outside addresses: the uplinks' and the
	// networks' external ones (a flow from one is refused, fromSelf).
	self    []conntrack.Addr
	inner   []internalNet           // SetInternal's
	svcs    map[mapKey]*compiledSvc // nil if there are none
	anySvcs map[mapKey]*compiledSvc
	// ports has a bit set for every host port of a map and every port
	// of a service: dnat and service look in their maps only for a port
	// in it. A new flow asks both for its destination and a masqueraded
	// one for each candidate port, and most ports are no map's.
	ports [1 << 16 / 64]uint64
}

func (r *Rules) addPort(p uint16)      { r.ports[p>>6] |= 1 << (p & 63) }
func (r *Rules) hasPort(p uint16) bool { return r.ports[p>>6]&(1<<(p&63)) != 0 }

type compiledNet struct {
	name     string
	src      []prefix
	ext      [2]conntrack.Addr // [0] IPv4, [1] IPv6; zero: none
	gw       [2]conntrack.Addr
	has, hgw [2]bool
}

// internalNet is one of SetInternal's subnets and its gateway.
type internalNet struct {
	p  prefix
	gw conntrack.Addr
}

// prefix is a netip.Prefix as two masked words.
type prefix struct {
	addr, mask conntrack.Addr
	v6         bool
}

func (p *prefix) contains(a conntrack.Addr, v6 bool) bool {
	return p.v6 == v6 && a.Hi&p.mask.Hi == p.addr.Hi && a.Lo&p.mask.Lo == p.addr.Lo
}

func compilePrefix(p netip.Prefix) prefix {
	bits := p.Bits()
	v6 := p.Addr().Is6()
	if !v6 {
		bits += 96
	}
	var m conntrack.Addr
	if bits >= 64 {
		m.Hi = ^uint64(0)
		if bits > 64 {
			m.Lo = ^uint64(0) << (128 - bits)
		}
	} else if bits > 0 {
		m.Hi = ^uint64(0) << (64 - bits)
	}
	a := conntrack.AddrFrom(p.Addr())
	return prefix{conntrack.Addr{Hi: a.Hi & m.Hi, Lo: a.Lo & m.Lo}, m, v6}
}

type mapKey struct {
	addr  conntrack.Addr
	port  uint16
	proto uint8
	v6    bool
}

type target struct {
	addr conntrack.Addr
	port uint16
}

// publish compiles the configuration and publishes it. t.mu is held.
func (t *Table) publish() {
	r := &Rules{cfg: t.cfg, maps: map[mapKey]target{}, anyMaps: map[mapKey]target{}, uplinks: map[conntrack.Addr]bool{}}
	for _, n := range t.nets {
		c := compiledNet{name: n.Name}
		for _, p := range n.Sources {
			c.src = append(c.src, compilePrefix(p))
		}
		for i, a := range [2]netip.Addr{n.External4, n.External6} {
			if a.IsValid() {
				c.ext[i], c.has[i] = conntrack.AddrFrom(a), true
			}
		}
		for i, a := range [2]netip.Addr{n.Gateway4, n.Gateway6} {
			if a.IsValid() {
				c.gw[i], c.hgw[i] = conntrack.AddrFrom(a), true
			}
		}
		r.nets = append(r.nets, c)
		for i := range c.ext {
			if c.has[i] && !slices.Contains(r.self, c.ext[i]) {
				r.self = append(r.self, c.ext[i])
			}
		}
	}
	for _, m := range t.maps {
		tg := target{conntrack.AddrFrom(m.Target), m.TargetPort}
		k := mapKey{port: m.HostPort, proto: m.Proto, v6: m.Host.Is6()}
		r.addPort(m.HostPort)
		if m.Host.IsUnspecified() {
			r.anyMaps[k] = tg
		} else {
			k.addr = conntrack.AddrFrom(m.Host)
			r.maps[k] = tg
		}
	}
	for _, a := range t.uplinks {
		ca := conntrack.AddrFrom(a)
		r.uplinks[ca] = true
		if !slices.Contains(r.self, ca) {
			r.self = append(r.self, ca)
		}
	}
	for _, p := range t.inner {
		r.inner = append(r.inner, internalNet{compilePrefix(p), conntrack.AddrFrom(p.Addr())})
	}
	t.compileServices(r)
	t.rules.Store(r)
}

// dnat finds the port mapping for destination dst:port of protocol
// proto.
func (r *Rules) dnat(proto uint8, dst conntrack.Addr, port uint16, v6 bool) (target, bool) {
	if !r.hasPort(port) {
		return target{}, false
	}
	k := mapKey{dst, port, proto, v6}
	if tg, ok := r.maps[k]; ok {
		return tg, true
	}
	if len(r.anyMaps) != 0 && r.uplinks[dst] {
		k.addr = conntrack.Addr{}
		tg, ok := r.anyMaps[k]
		return tg, ok
	}
	return target{}, false
}

// inside reports whether a is in one of the switch's networks: a
// masqueraded one or another (SetInternal). A masqueraded flow to it is
// not translated.
func (r *Rules) inside(a conntrack.Addr, v6 bool) bool {
	if r.netOf(a, v6) != nil {
		return true
	}
	for i := range r.inner {
		if r.inner[i].p.contains(a, v6) {
			return true
		}
	}
	return false
}

// hairpinGW reports whether a flow from src to target (a port map's or
// a service backend's) is a hairpin, and the gateway address its source
// is translated to: src and target in the same masqueraded network (its
// gateway), or else in the same internal subnet (SetInternal: that
// subnet's router interface address). Without it the target, on the
// client's own link, would answer the client directly, from its own
// address, and the client would reset what it never asked for.
func (r *Rules) hairpinGW(src, target conntrack.Addr, v6 bool, f int) (conntrack.Addr, bool) {
	if n := r.netOf(src, v6); n != nil && r.netOf(target, v6) == n {
		return n.gw[f], true
	}
	for i := range r.inner {
		if in := &r.inner[i]; in.p.contains(src, v6) && in.p.contains(target, v6) {
			return in.gw, true
		}
	}
	return conntrack.Addr{}, false
}

// fromSelf reports whether a is one of the switch's outside addresses
// (Rules.self: a few, scanned once per new flow). The family is not
// checked: an IPv6 packet from the IPv4-mapped form of an IPv4 uplink
// address matches too, and no host sends from such an address.
func (r *Rules) fromSelf(a conntrack.Addr) bool {
	for _, s := range r.self {
		if s == a {
			return true
		}
	}
	return false
}

// netOf finds the masqueraded network whose sources hold a.
func (r *Rules) netOf(a conntrack.Addr, v6 bool) *compiledNet {
	for i := range r.nets {
		n := &r.nets[i]
		for j := range n.src {
			if n.src[j].contains(a, v6) {
				return n
			}
		}
	}
	return nil
}
