package nat

import (
	"errors"
	"fmt"
	"net/netip"
)

// Map is a destination NAT port mapping, Docker's
// -p host-addr:host-port:target-port/proto: new flows of protocol Proto
// to Host:HostPort go to Target:TargetPort. A Host that is unspecified
// (0.0.0.0 or ::) means every uplink address of its family
// (Table.SetUplinks), as Docker's default binding does.
type Map struct {
	Proto      uint8 // 6 (TCP) or 17 (UDP)
	Host       netip.Addr
	HostPort   uint16
	Target     netip.Addr
	TargetPort uint16
}

func (m Map) String() string {
	p := "tcp"
	if m.Proto == protoUDP {
		p = "udp"
	} else if m.Proto != protoTCP {
		p = "proto-" + itoa(int(m.Proto))
	}
	return netip.AddrPortFrom(m.Host, m.HostPort).String() + "/" + p + " -> " +
		netip.AddrPortFrom(m.Target, m.TargetPort).String()
}

// Network is a masqueraded network: its containers' addresses (Sources),
// the address they hide behind when they reach anything outside the
// switch's networks (External4, External6: an uplink router interface's
// address; an invalid one leaves that family untranslated), and the
// gateway address a hairpinned flow takes as its source (Gateway4,
// Gateway6: the network's router interface address, required for each
// family of Sources).
type Network struct {
	Name                 string
	Sources              []netip.Prefix
	External4, External6 netip.Addr
	Gateway4, Gateway6   netip.Addr
}

// Sentinel errors; MapError and NetworkError wrap them.
var (
	ErrProto    = errors.New("nat: protocol is not tcp or udp")
	ErrPort     = errors.New("nat: port is not 1-65535")
	ErrAddr     = errors.New("nat: bad address")
	ErrFamily   = errors.New("nat: address families differ")
	ErrOverlap  = errors.New("nat: overlaps an existing entry")
	ErrName     = errors.New("nat: network name is empty")
	ErrPrefix   = errors.New("nat: bad source prefix")
	ErrNoGW     = errors.New("nat: no gateway address for a family of the sources")
	ErrConfig   = errors.New("nat: bad config")
	ErrNotFound = errors.New("nat: no such entry")
)

// MapError is a rejected Map: which, and why (one of the sentinels).
type MapError struct {
	Map Map
	// With is the existing map an overlapping one collides with, or
	// WithService the service (its Backends left out).
	With        *Map
	WithService *Service
	Err         error
}

func (e *MapError) Error() string {
	s := "nat: map " + e.Map.String() + ": " + e.Err.Error()
	if e.With != nil {
		s += " (" + e.With.String() + ")"
	}
	if e.WithService != nil {
		s += " (service " + e.WithService.String() + ")"
	}
	return s
}

func (e *MapError) Unwrap() error { return e.Err }

// NetworkError is a rejected Network.
type NetworkError struct {
	Network string
	Err     error
	Detail  string
}

func (e *NetworkError) Error() string {
	s := fmt.Sprintf("nat: network %q: %v", e.Network, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *NetworkError) Unwrap() error { return e.Err }

// unicast reports whether a can be a translated address: valid, no zone,
// not unspecified, multicast, loopback or IPv4 broadcast.
func unicast(a netip.Addr) bool {
	return a.IsValid() && a.Zone() == "" && !a.IsUnspecified() && !a.IsMulticast() &&
		!a.IsLoopback() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && !a.Is4In6()
}

// validate checks one map on its own.
func (m Map) validate() error {
	fail := func(err error) error { return &MapError{Map: m, Err: err} }
	if m.Proto != protoTCP && m.Proto != protoUDP {
		return fail(ErrProto)
	}
	if m.HostPort == 0 || m.TargetPort == 0 {
		return fail(ErrPort)
	}
	if !m.Host.IsValid() || m.Host.Zone() != "" || m.Host.Is4In6() || !m.Host.IsUnspecified() && !unicast(m.Host) {
		return fail(ErrAddr)
	}
	if !unicast(m.Target) {
		return fail(ErrAddr)
	}
	if m.Host.Is4() != m.Target.Is4() {
		return fail(ErrFamily)
	}
	return nil
}

// overlaps reports whether two maps claim some of the same host
// address, port and protocol: the same host address, or one of them
// "any" of the other's family.
func (m Map) overlaps(o Map) bool {
	if m.Proto != o.Proto || m.HostPort != o.HostPort || m.Host.Is4() != o.Host.Is4() {
		return false
	}
	return m.Host == o.Host || m.Host.IsUnspecified() || o.Host.IsUnspecified()
}

// validate checks a network on its own.
func (n *Network) validate() error {
	fail := func(err error, d string) error { return &NetworkError{Network: n.Name, Err: err, Detail: d} }
	if n.Name == "" {
		return fail(ErrName, "")
	}
	var has4, has6 bool
	for i, p := range n.Sources {
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return fail(ErrPrefix, p.String())
		}
		for _, q := range n.Sources[:i] {
			if p.Overlaps(q) {
				return fail(ErrOverlap, p.String()+" and "+q.String())
			}
		}
		has4 = has4 || p.Addr().Is4()
		has6 = has6 || p.Addr().Is6()
	}
	for _, c := range []struct {
		a       netip.Addr
		v4, req bool
		what    string
	}{{n.External4, true, false, "external4"}, {n.External6, false, false, "external6"},
		{n.Gateway4, true, has4, "gateway4"}, {n.Gateway6, false, has6, "gateway6"}} {
		if !c.a.IsValid() {
			if c.req {
				return fail(ErrNoGW, c.what)
			}
			continue
		}
		if !unicast(c.a) {
			return fail(ErrAddr, c.what+" "+c.a.String())
		}
		if c.a.Is4() != c.v4 {
			return fail(ErrFamily, c.what+" "+c.a.String())
		}
	}
	return nil
}
