package dns

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	mdns "github.com/miekg/dns"
)

// DefaultTTL is the TTL of local answers when a Network sets none:
// endpoints come and go, so answers should not be cached for long
// (Docker answers with 600 s, WeaveDNS with 1 s).
const DefaultTTL = 30

// DefaultDomainSuffix follows the network name in a network's default
// search domain: network "net1" answers "web" and "web.net1.vecswitch.".
const DefaultDomainSuffix = "vecswitch."

// Errors returned by Registry's setters (wrapped with context).
var (
	ErrNoNetwork    = errors.New("dns: no such network")
	ErrBadName      = errors.New("dns: invalid name")
	ErrBadAddr      = errors.New("dns: invalid address")
	ErrNameConflict = errors.New("dns: name used by an endpoint and a service")
)

// Network is the desired DNS state of one network of the switch. The
// Registry keeps its own copy: changing the maps after SetNetwork has no
// effect.
type Network struct {
	// Domain is the network's search domain, e.g. "net1.vecswitch." (a
	// trailing dot is added if missing). Empty means "<network>." +
	// DefaultDomainSuffix. Names are answered with and without it.
	Domain string
	// TTL of local answers in seconds; 0 means DefaultTTL.
	TTL uint32
	// Upstreams get the queries the network cannot answer itself, tried
	// in order. None means such queries are REFUSED.
	Upstreams []netip.AddrPort
	// Endpoints maps an endpoint name (or alias) to its addresses, v4
	// and v6 mixed.
	Endpoints map[string][]netip.Addr
	// Services maps a service name to its virtual IPs.
	Services map[string][]netip.Addr
}

// Registry holds the records of every network. Setters are serialized
// by a mutex and publish a new immutable snapshot (copy-on-write);
// lookups load the snapshot with one atomic read and never lock, so the
// resolver keeps answering at full speed while the control plane churns.
// A setter copies the maps of the network it changes (O(records of that
// network)); SetNetwork replaces a whole network in one step.
type Registry struct {
	mu   sync.Mutex // serializes writers; readers use cur only
	cur  atomic.Pointer[snapshot]
	desc map[string]*Network // desired state per network, guarded by mu
}

// snapshot is one immutable view of all networks.
type snapshot struct {
	zones map[string]*zone
}

// zone is the compiled, immutable form of one Network.
type zone struct {
	domain    string // canonical, lower case, with trailing dot
	ttl       uint32
	upstreams []string // "addr:port", ready for the dialer
	names     map[string]*entry
	ptr       map[netip.Addr][]string // address -> FQDNs (in the domain)
	soa       *mdns.SOA               // authority for negative answers
}

// entry is what one name resolves to.
type entry struct {
	v4, v6  []netip.Addr
	service bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	r := &Registry{desc: map[string]*Network{}}
	r.cur.Store(&snapshot{zones: map[string]*zone{}})
	return r
}

// zone returns the compiled zone of network, or nil. Lock-free.
func (r *Registry) zone(network string) *zone {
	return r.cur.Load().zones[network]
}

// SetNetwork creates or replaces network with n (records included).
func (r *Registry) SetNetwork(network string, n Network) error {
	if network == "" {
		return fmt.Errorf("dns: set network: empty name: %w", ErrBadName)
	}
	c := Network{
		Domain:    n.Domain,
		TTL:       n.TTL,
		Upstreams: slices.Clone(n.Upstreams),
		Endpoints: map[string][]netip.Addr{},
		Services:  map[string][]netip.Addr{},
	}
	for name, addrs := range n.Endpoints {
		c.Endpoints[name] = slices.Clone(addrs)
	}
	for name, addrs := range n.Services {
		c.Services[name] = slices.Clone(addrs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.publish(network, &c)
}

// DeleteNetwork removes network and reports whether it existed.
func (r *Registry) DeleteNetwork(network string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.desc[network]; !ok {
		return false
	}
	delete(r.desc, network)
	old := r.cur.Load()
	zones := make(map[string]*zone, len(old.zones))
	for k, v := range old.zones {
		if k != network {
			zones[k] = v
		}
	}
	r.cur.Store(&snapshot{zones: zones})
	return true
}

// Network returns a copy of network's desired state.
func (r *Registry) Network(network string) (Network, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.desc[network]
	if !ok {
		return Network{}, false
	}
	return d.clone(), true
}

// SetEndpoint sets the addresses of endpoint name in network, replacing
// earlier ones. The network must exist. Names are kept in canonical
// form: lower case, without the network's domain.
func (r *Registry) SetEndpoint(network, name string, addrs ...netip.Addr) error {
	return r.setName(network, name, addrs, false, false)
}

// DeleteEndpoint removes endpoint name from network and reports whether
// it was there.
func (r *Registry) DeleteEndpoint(network, name string) bool {
	return r.setName(network, name, nil, false, true) == nil
}

// SetService sets the virtual IPs of service name in network.
func (r *Registry) SetService(network, name string, vips ...netip.Addr) error {
	return r.setName(network, name, vips, true, false)
}

// DeleteService removes service name from network and reports whether it
// was there.
func (r *Registry) DeleteService(network, name string) bool {
	return r.setName(network, name, nil, true, true) == nil
}

// errAbsent is what setName returns for a delete of a missing name.
var errAbsent = errors.New("dns: no such name")

// setName sets or deletes one name without recompiling the network: the
// new zone shares every entry but this one (the maps are copied, the
// entries are not).
func (r *Registry) setName(network, name string, addrs []netip.Addr, service, del bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, z := r.desc[network], r.zone(network)
	if d == nil {
		return fmt.Errorf("dns: network %q: %w", network, ErrNoNetwork)
	}
	key, err := relName(name, z.domain)
	if err != nil {
		return fmt.Errorf("dns: network %q: name %q: %w", network, name, err)
	}
	old := z.names[key]
	var e *entry
	if del {
		if old == nil || old.service != service {
			return errAbsent
		}
	} else {
		if old != nil && old.service != service {
			return fmt.Errorf("dns: network %q: name %q: %w", network, name, ErrNameConflict)
		}
		if e, err = newEntry(addrs, service); err != nil {
			return fmt.Errorf("dns: network %q: name %q: %w", network, name, err)
		}
	}
	nz := *z
	nz.names = maps.Clone(z.names)
	nz.ptr = maps.Clone(z.ptr)
	fqdn := key + "." + z.domain
	if old != nil {
		nz.unlink(fqdn, old)
		delete(nz.names, key)
	}
	if e != nil {
		nz.names[key] = e
		nz.link(fqdn, e)
	}
	m := d.Endpoints
	if service {
		m = d.Services
	}
	if del {
		delete(m, key)
	} else {
		m[key] = slices.Clone(addrs)
	}
	r.store(network, &nz)
	return nil
}

// SetUpstreams replaces network's upstream resolvers.
func (r *Registry) SetUpstreams(network string, upstreams ...netip.AddrPort) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.desc[network]
	if d == nil {
		return fmt.Errorf("dns: network %q: %w", network, ErrNoNetwork)
	}
	c := d.clone()
	c.Upstreams = slices.Clone(upstreams)
	return r.publish(network, &c)
}

// publish compiles n and swaps it in. Caller holds mu.
func (r *Registry) publish(network string, n *Network) error {
	z, err := compile(network, n)
	if err != nil {
		return err
	}
	// Keep the desired state in canonical names, as setName does.
	n.Endpoints, n.Services = map[string][]netip.Addr{}, map[string][]netip.Addr{}
	for key, e := range z.names {
		m := n.Endpoints
		if e.service {
			m = n.Services
		}
		m[key] = append(slices.Clone(e.v4), e.v6...)
	}
	r.desc[network] = n
	r.store(network, z)
	return nil
}

// store publishes a snapshot with z as network's zone. Caller holds mu.
func (r *Registry) store(network string, z *zone) {
	old := r.cur.Load()
	zones := maps.Clone(old.zones)
	zones[network] = z
	r.cur.Store(&snapshot{zones: zones})
}

func (n *Network) clone() Network {
	c := *n
	c.Upstreams = slices.Clone(n.Upstreams)
	// Address slices are never changed in place: sharing them is safe.
	c.Endpoints = maps.Clone(n.Endpoints)
	c.Services = maps.Clone(n.Services)
	return c
}

// newEntry checks addrs and sorts them by family, without duplicates.
func newEntry(addrs []netip.Addr, service bool) (*entry, error) {
	e := &entry{service: service}
	for _, a := range addrs {
		if !a.IsValid() || a.Zone() != "" {
			return nil, fmt.Errorf("address %v: %w", a, ErrBadAddr)
		}
		a = a.Unmap()
		if a.Is4() {
			if !slices.Contains(e.v4, a) {
				e.v4 = append(e.v4, a)
			}
		} else if !slices.Contains(e.v6, a) {
			e.v6 = append(e.v6, a)
		}
	}
	return e, nil
}

// link adds fqdn as a PTR target of e's addresses; unlink removes it.
// Both replace the slices they change: the old zone still reads them.
func (z *zone) link(fqdn string, e *entry) {
	for _, a := range slices.Concat(e.v4, e.v6) {
		if !slices.Contains(z.ptr[a], fqdn) {
			z.ptr[a] = append(slices.Clip(z.ptr[a]), fqdn)
		}
	}
}

func (z *zone) unlink(fqdn string, e *entry) {
	for _, a := range slices.Concat(e.v4, e.v6) {
		names := slices.DeleteFunc(slices.Clone(z.ptr[a]), func(s string) bool { return s == fqdn })
		if len(names) == 0 {
			delete(z.ptr, a)
		} else {
			z.ptr[a] = names
		}
	}
}

// compile checks n and builds its lookup tables.
func compile(network string, n *Network) (*zone, error) {
	dom := n.Domain
	if dom == "" {
		dom = network + "." + DefaultDomainSuffix
	}
	dom = mdns.CanonicalName(dom)
	if _, ok := mdns.IsDomainName(dom); !ok || dom == "." || len(dom) > 200 {
		return nil, fmt.Errorf("dns: network %q: domain %q: %w", network, dom, ErrBadName)
	}
	z := &zone{
		domain: dom,
		ttl:    n.TTL,
		names:  make(map[string]*entry, len(n.Endpoints)+len(n.Services)),
		ptr:    map[netip.Addr][]string{},
	}
	if z.ttl == 0 {
		z.ttl = DefaultTTL
	}
	for _, u := range n.Upstreams {
		if !u.IsValid() || u.Port() == 0 {
			return nil, fmt.Errorf("dns: network %q: upstream %v: %w", network, u, ErrBadAddr)
		}
		z.upstreams = append(z.upstreams, u.String())
	}
	add := func(name string, addrs []netip.Addr, service bool) error {
		key, err := relName(name, dom)
		if err != nil {
			return fmt.Errorf("dns: network %q: name %q: %w", network, name, err)
		}
		e, err := newEntry(addrs, service)
		if err != nil {
			return fmt.Errorf("dns: network %q: name %q: %w", network, name, err)
		}
		if old := z.names[key]; old != nil {
			// Two spellings of one name ("web", "WEB.net1.vecswitch.").
			if old.service != service {
				return fmt.Errorf("dns: network %q: name %q: %w", network, name, ErrNameConflict)
			}
			e, _ = newEntry(slices.Concat(old.v4, old.v6, e.v4, e.v6), service)
			z.unlink(key+"."+dom, old)
		}
		z.names[key] = e
		z.link(key+"."+dom, e)
		return nil
	}
	for _, name := range sortedKeys(n.Endpoints) {
		if err := add(name, n.Endpoints[name], false); err != nil {
			return nil, err
		}
	}
	for _, name := range sortedKeys(n.Services) {
		if err := add(name, n.Services[name], true); err != nil {
			return nil, err
		}
	}
	z.soa = &mdns.SOA{
		Hdr:     mdns.RR_Header{Name: dom, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: z.ttl},
		Ns:      "ns." + dom,
		Mbox:    "hostmaster." + dom,
		Serial:  1,
		Refresh: 3600, Retry: 600, Expire: 86400,
		Minttl: z.ttl,
	}
	return z, nil
}

// relName turns a configured name into its lookup key: lower case, no
// trailing dot, without the domain if it was given with it.
func relName(name, dom string) (string, error) {
	c := mdns.CanonicalName(name)
	if strings.HasSuffix(c, "."+dom) {
		c = strings.TrimSuffix(c, "."+dom)
	} else {
		c = strings.TrimSuffix(c, ".")
	}
	if c == "" || c == "." || strings.ContainsAny(c, "\\ ") {
		return "", ErrBadName
	}
	if _, ok := mdns.IsDomainName(c + "." + dom); !ok || len(c)+1+len(dom) > 254 {
		return "", ErrBadName
	}
	for _, l := range strings.Split(c, ".") {
		if l == "" {
			return "", ErrBadName
		}
	}
	return c, nil
}

func sortedKeys(m map[string][]netip.Addr) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
