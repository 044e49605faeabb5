package nat

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/policy/conntrack"
	"github.com/vecswitch/vecswitch/policy/lb"
)

// Service is a load-balanced service (issue 21): new flows of protocol
// Proto to VIP:Port go to one of Backends, chosen by Maglev consistent
// hashing of the flow's 5-tuple (package lb), and are translated as a
// port map's are (destination only, the client's source kept; hairpin
// when the client is in the backend's network). A VIP that is
// unspecified (0.0.0.0 or ::) means every uplink address of its family,
// as for a Map (a Kubernetes NodePort). A service is named by Proto, VIP
// and Port; SetService with the same three replaces it.
type Service struct {
	Proto    uint8 // 6 (TCP) or 17 (UDP)
	VIP      netip.Addr
	Port     uint16
	Backends []Backend
}

// Backend is one target of a Service.
type Backend struct {
	Addr netip.Addr
	Port uint16
	// Weight: the backend's share of new flows is Weight over the sum of
	// the weights of the service's backends that are not drained. 0 gets
	// no new flows (like Drained).
	Weight uint32
	// Drained: no new flows; flows it already has go on until they end
	// (or are flushed with ServiceFlows).
	Drained bool
}

// AddrPort returns the backend's address and port.
func (b Backend) AddrPort() netip.AddrPort { return netip.AddrPortFrom(b.Addr, b.Port) }

// key is the service's name as a Map (its host side).
func (s *Service) key() Map { return Map{Proto: s.Proto, Host: s.VIP, HostPort: s.Port} }

func (s Service) String() string {
	p := "tcp"
	if s.Proto == protoUDP {
		p = "udp"
	} else if s.Proto != protoTCP {
		p = "proto-" + itoa(int(s.Proto))
	}
	return netip.AddrPortFrom(s.VIP, s.Port).String() + "/" + p
}

// More sentinels for services.
var (
	ErrDuplicate = errors.New("nat: duplicate backend")
	ErrTooMany   = errors.New("nat: too many backends")
)

// ServiceError is a rejected Service: which (Proto, VIP and Port), and
// why (one of the sentinels).
type ServiceError struct {
	Service Service
	Err     error
	Detail  string
}

func (e *ServiceError) Error() string {
	s := "nat: service " + e.Service.String() + ": " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *ServiceError) Unwrap() error { return e.Err }

// validate checks a service on its own.
func (s *Service) validate() error {
	fail := func(err error, d string) error {
		return &ServiceError{Service: Service{Proto: s.Proto, VIP: s.VIP, Port: s.Port}, Err: err, Detail: d}
	}
	if s.Proto != protoTCP && s.Proto != protoUDP {
		return fail(ErrProto, "")
	}
	if s.Port == 0 {
		return fail(ErrPort, "")
	}
	v := s.VIP
	if !v.IsValid() || v.Zone() != "" || v.Is4In6() || !v.IsUnspecified() && !unicast(v) {
		return fail(ErrAddr, "vip "+v.String())
	}
	if len(s.Backends) > lb.MaxBackends {
		return fail(ErrTooMany, itoa(len(s.Backends)))
	}
	seen := make(map[netip.AddrPort]bool, len(s.Backends))
	for _, b := range s.Backends {
		switch {
		case !unicast(b.Addr):
			return fail(ErrAddr, "backend "+b.Addr.String())
		case b.Addr.Is4() != v.Is4():
			return fail(ErrFamily, "backend "+b.Addr.String())
		case b.Port == 0:
			return fail(ErrPort, "backend "+b.AddrPort().String())
		case seen[b.AddrPort()]:
			return fail(ErrDuplicate, b.AddrPort().String())
		}
		seen[b.AddrPort()] = true
	}
	return nil
}

// compiledSvc is a service as workers see it: immutable but for its
// counters. It is built once by SetService and shared by every Rules
// published while the service is unchanged.
type compiledSvc struct {
	svc   Service // Backends: the configured list, in its order
	lb    *lb.Table
	tgts  []target       // per backend, lb's indices
	stats []*backendStat // per backend
	st    *svcStat
}

// backendStat counts the new flows one backend of a service got. All
// workers add to it (one atomic add per new flow: see the package doc,
// Services); it has a cache line of its own so that two backends'
// counters do not share one.
type backendStat struct {
	flows atomic.Uint64
	_     [56]byte
}

// svcStat is a service's own counters, kept while it exists.
type svcStat struct {
	noBackend atomic.Uint64
	// retired: new flows of backends since removed (Table.mu).
	retired uint64
	_       [48]byte
}

// SetService adds a service, or replaces the one of the same protocol,
// VIP and port. It is validated first (a *ServiceError wrapping ErrProto,
// ErrPort, ErrAddr, ErrFamily, ErrDuplicate, ErrTooMany, or ErrOverlap
// for a service whose VIP and port overlap a port map's, or another
// service's through an unspecified VIP); a rejected change changes
// nothing. Its Maglev table is built here, before the lock; flows
// already set up keep their backend whatever changes (they are
// conntrack's), drained and removed backends included: flush those with
// conntrack's Flush and ServiceFlows.
func (t *Table) SetService(s Service) error {
	if err := s.validate(); err != nil {
		return err
	}
	s.Backends = slices.Clone(s.Backends)
	lbs := make([]lb.Backend, len(s.Backends))
	tgts := make([]target, len(s.Backends))
	for i, b := range s.Backends {
		lbs[i] = lb.Backend{Key: b.AddrPort().String(), Weight: b.Weight, Drained: b.Drained}
		tgts[i] = target{conntrack.AddrFrom(b.Addr), b.Port}
	}
	tab, err := lb.New(lbs, t.cfg.ServiceTableSize)
	if err != nil { // validate and NewTable checked what lb.New checks
		return &ServiceError{Service: Service{Proto: s.Proto, VIP: s.VIP, Port: s.Port}, Err: ErrTooMany, Detail: err.Error()}
	}
	k := s.key()
	t.mu.Lock()
	defer t.mu.Unlock()
	fail := func(d string) error {
		return &ServiceError{Service: Service{Proto: s.Proto, VIP: s.VIP, Port: s.Port}, Err: ErrOverlap, Detail: d}
	}
	for i := range t.maps {
		if k.overlaps(t.maps[i]) {
			return fail("port map " + t.maps[i].String())
		}
	}
	at := -1
	for i, o := range t.svcs {
		ok := o.svc.key()
		if ok == k {
			at = i
		} else if k.overlaps(ok) {
			return fail("service " + o.svc.String())
		}
	}
	c := &compiledSvc{svc: s, lb: tab, tgts: tgts, stats: make([]*backendStat, len(s.Backends))}
	old := map[netip.AddrPort]*backendStat{}
	if at >= 0 {
		o := t.svcs[at]
		c.st = o.st
		for i, b := range o.svc.Backends {
			old[b.AddrPort()] = o.stats[i]
		}
	} else {
		c.st = &svcStat{}
	}
	for i, b := range s.Backends {
		if st := old[b.AddrPort()]; st != nil {
			c.stats[i] = st
			delete(old, b.AddrPort())
		} else {
			c.stats[i] = &backendStat{}
		}
	}
	for _, st := range old {
		c.st.retired += st.flows.Load()
	}
	if at >= 0 {
		t.svcs[at] = c
	} else {
		t.svcs = append(t.svcs, c)
	}
	t.publish()
	return nil
}

// DeleteService removes the service of s's protocol, VIP and port (its
// backends are not compared) and its counters. It reports whether there
// was one; deleting one that is not there is not an error. Its flows
// keep their translation until they end; flush them with ServiceFlows.
func (t *Table) DeleteService(s Service) bool {
	k := s.key()
	t.mu.Lock()
	defer t.mu.Unlock()
	i := slices.IndexFunc(t.svcs, func(o *compiledSvc) bool { return o.svc.key() == k })
	if i < 0 {
		return false
	}
	t.svcs = slices.Delete(t.svcs, i, i+1)
	t.publish()
	return true
}

// Services returns the services, in the order they were added.
func (t *Table) Services() []Service {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Service, len(t.svcs))
	for i, o := range t.svcs {
		out[i] = o.svc
		out[i].Backends = slices.Clone(o.svc.Backends)
	}
	return out
}

// ServiceCounters are one service's counters.
type ServiceCounters struct {
	Service Service // Backends: as configured
	// NewFlows: flows the service created, over its current and former
	// backends, since SetService first added it.
	NewFlows uint64
	// NoBackend: new flows refused because no backend could take them
	// (ReasonNoBackend).
	NoBackend uint64
	// Backends: new flows per backend, in Service.Backends' order, since
	// the backend joined the service.
	Backends []uint64
	// Slots: the backend's share of the Maglev table (Slots/Size is the
	// share of new flows it is expected to get).
	Slots []int
	Size  int
}

// ServiceCounters returns every service's counters. They are updated by
// the workers as flows are committed, without Publish; a flow committed
// while a backend is being removed may be missed.
func (t *Table) ServiceCounters() []ServiceCounters {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]ServiceCounters, len(t.svcs))
	for i, c := range t.svcs {
		sc := ServiceCounters{Service: c.svc, NewFlows: c.st.retired, NoBackend: c.st.noBackend.Load(),
			Backends: make([]uint64, len(c.stats)), Slots: make([]int, len(c.stats)), Size: c.lb.Size()}
		sc.Service.Backends = slices.Clone(c.svc.Backends)
		for j, st := range c.stats {
			sc.Backends[j] = st.flows.Load()
			sc.NewFlows += sc.Backends[j]
			sc.Slots[j] = c.lb.Slots(j)
		}
		out[i] = sc
	}
	return out
}

// ServiceFlows returns a conntrack.Table.Flush predicate matching the
// flows service s sent to backend b: for "this backend was removed (or
// is gone), end its connections". See the package doc (Services) for
// what the client sees next.
func ServiceFlows(s Service, b Backend) func(*conntrack.Flow) bool {
	vip, anyVIP := conntrack.AddrFrom(s.VIP), s.VIP.IsUnspecified()
	tgt := conntrack.AddrFrom(b.Addr)
	v6 := s.VIP.Is6()
	return func(f *conntrack.Flow) bool {
		return f.Orig.Proto == s.Proto && f.Orig.DstPort == s.Port && f.Orig.IPv6() == v6 &&
			(anyVIP || f.Orig.Dst == vip) && f.Reply.Src == tgt && f.Reply.SrcPort == b.Port
	}
}

// service finds the service for destination dst:port of protocol proto.
func (r *Rules) service(proto uint8, dst conntrack.Addr, port uint16, v6 bool) *compiledSvc {
	if !r.hasPort(port) {
		return nil
	}
	k := mapKey{dst, port, proto, v6}
	if c := r.svcs[k]; c != nil {
		return c
	}
	if len(r.anySvcs) != 0 && r.uplinks[dst] {
		k.addr = conntrack.Addr{}
		return r.anySvcs[k]
	}
	return nil
}

// flowHash is the hash Maglev picks a backend by: the 5-tuple (not the
// zone, which is local to a host), through three 64x64->128 multiplies.
// It is a fixed function of the tuple and Config.ServiceSeed, so a flow
// picked up again after a restart (conntrack's TCPLoose), or by another
// host with the same backends and seed, gets the same backend.
//
// Every input word goes through two multiplies: the ports with the
// destination in the first round, then the last one. A word fed to the
// last multiply alone (the ports were, XORed into its operand) moves the
// high half of the product only linearly, and Lookup reads the top bits:
// for some clients, whose source ports Linux hands out a few apart, whole
// port ranges then favoured one backend (TestFlowHashSpread: per block of
// 1,024 even ports, a backend's count varied up to 10 times as much as
// for a random pick).
func flowHash(k *conntrack.Key, seed uint64) uint64 {
	const p0, p1, p2, p3, p4 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3, 0x589965cc75374cc3, 0x1d8e4e27c47d124f
	w := uint64(k.SrcPort) | uint64(k.DstPort)<<16 | uint64(k.Proto)<<32 | uint64(k.Flags)<<40
	a := lbMum(k.Src.Hi^p0^seed, k.Src.Lo^p1)
	b := lbMum(k.Dst.Hi^p2^w, k.Dst.Lo^p3^seed)
	return lbMum(a^p4, b^p1)
}

func lbMum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// compileServices adds the services to r. t.mu is held.
func (t *Table) compileServices(r *Rules) {
	if len(t.svcs) == 0 {
		return
	}
	r.svcs, r.anySvcs = map[mapKey]*compiledSvc{}, map[mapKey]*compiledSvc{}
	for _, o := range t.svcs {
		s := &o.svc
		k := mapKey{port: s.Port, proto: s.Proto, v6: s.VIP.Is6()}
		r.addPort(s.Port)
		if s.VIP.IsUnspecified() {
			r.anySvcs[k] = o
		} else {
			k.addr = conntrack.AddrFrom(s.VIP)
			r.svcs[k] = o
		}
	}
}

// serviceOverlap returns an error if map m overlaps a service. t.mu is
// held.
func (t *Table) serviceOverlap(m Map) error {
	for _, o := range t.svcs {
		if m.overlaps(o.svc.key()) {
			s := o.svc
			s.Backends = nil
			return &MapError{Map: m, WithService: &s, Err: ErrOverlap}
		}
	}
	return nil
}

// checkServiceConfig validates Config.ServiceTableSize.
func checkServiceConfig(cfg *Config) error {
	if _, err := lb.New(nil, cfg.ServiceTableSize); err != nil {
		return fmt.Errorf("%w: service table size: %w", ErrConfig, err)
	}
	return nil
}
