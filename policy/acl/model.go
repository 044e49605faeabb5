package acl

import (
	"fmt"
	"net/netip"
)

// Direction is the way a packet crosses a port, seen from the endpoint
// behind it (as in OpenStack and Kubernetes): Ingress is traffic to the
// endpoint (the switch sends it out of the port), Egress traffic from it
// (the switch receives it on the port).
type Direction uint8

const (
	Ingress Direction = 0
	Egress  Direction = 1
)

func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// Action is what a matching rule does with the packet.
type Action uint8

const (
	Allow Action = 0
	Deny  Action = 1
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// IP protocol numbers a rule commonly names. Any other number (0-255) is
// accepted too; ProtoAny (0) matches every protocol.
const (
	ProtoAny     uint8 = 0
	ProtoICMP    uint8 = 1
	ProtoTCP     uint8 = 6
	ProtoUDP     uint8 = 17
	ProtoICMPv6  uint8 = 58
	ProtoSCTP    uint8 = 132
	ProtoUDPLite uint8 = 136
)

// hasPorts reports whether the protocol's header starts with source and
// destination ports.
func hasPorts(p uint8) bool {
	return p == ProtoTCP || p == ProtoUDP || p == ProtoSCTP || p == ProtoUDPLite
}

func isICMP(p uint8) bool { return p == ProtoICMP || p == ProtoICMPv6 }

// PortRange is an inclusive range of ports. The zero value matches every
// port; a single port p is {p, p}. (Port 0 alone cannot be selected: it is
// not a port a TCP or UDP flow uses.)
type PortRange struct {
	Lo, Hi uint16
}

// Port is the range of the single port p.
func Port(p uint16) PortRange { return PortRange{p, p} }

func (r PortRange) any() bool { return r == PortRange{} }

// span is the range as matched, zero value widened to every port.
func (r PortRange) span() (lo, hi uint16) {
	if r.any() {
		return 0, 0xffff
	}
	return r.Lo, r.Hi
}

// ICMPMatch restricts an icmp or icmpv6 rule to one message type and,
// when AnyCode is false, one code.
type ICMPMatch struct {
	Type    uint8
	Code    uint8
	AnyCode bool
}

// Rule is one security-group rule. A packet matches it when every field
// that is set matches; fields left at their zero value match everything.
type Rule struct {
	// Name identifies the rule within its group; counters are reported
	// under it.
	Name      string
	Direction Direction
	// Family restricts the rule to IPv4 (4) or IPv6 (6); 0 is both. A
	// remote CIDR, icmp (IPv4 only) and icmpv6 (IPv6 only) imply it.
	Family uint8
	// Proto is an IP protocol number; ProtoAny matches all.
	Proto uint8
	// Ports is the destination port range (tcp, udp, sctp, udplite), in
	// both directions: for ingress the endpoint's own port, for egress the
	// remote's. SrcPorts is the source port range, rarely used.
	Ports, SrcPorts PortRange
	// ICMP restricts an icmp/icmpv6 rule to a type (and code); nil
	// matches every ICMP message.
	ICMP *ICMPMatch
	// The remote end of the packet is its source address for ingress and
	// its destination for egress. Remote restricts it to a prefix;
	// RemoteGroup to the member addresses of the named group. At most one
	// of the two may be set; with neither, any remote matches.
	Remote      netip.Prefix
	RemoteGroup string
	// Priority orders the rules of a port: a larger value wins. Among
	// matching rules of equal priority Deny wins over Allow, then the rule
	// that comes first in the model (group order, then rule order).
	Priority int32
	Action   Action
}

// Group is a security group: its rules, the ports it applies to and the
// addresses of its members, which rules of any group may name as a remote
// group. A port's members are usually the endpoint addresses behind it,
// but a group may list addresses with no local port (endpoints on other
// hosts) and ports whose addresses are not listed.
type Group struct {
	Name  string
	Rules []Rule
	// Ports are the switch's port indexes this group's rules apply to.
	Ports []uint16
	// Addrs are the member addresses (IPv4 or IPv6) a RemoteGroup naming
	// this group matches.
	Addrs []netip.Addr
}

// Model is a whole security-group configuration, compiled at once by
// Compile.
type Model struct {
	Groups []Group
}

// family returns the address family the rule is restricted to (0, 4 or
// 6), or an error when its fields contradict each other.
func (r *Rule) family() (uint8, error) {
	f := r.Family
	if f != 0 && f != 4 && f != 6 {
		return 0, ErrFamily
	}
	join := func(g uint8) error {
		if f != 0 && f != g {
			return ErrFamily
		}
		f = g
		return nil
	}
	if r.Remote.IsValid() {
		g := uint8(6)
		if r.Remote.Addr().Is4() {
			g = 4
		}
		if err := join(g); err != nil {
			return 0, err
		}
	}
	switch r.Proto {
	case ProtoICMP:
		if err := join(4); err != nil {
			return 0, err
		}
	case ProtoICMPv6:
		if err := join(6); err != nil {
			return 0, err
		}
	}
	return f, nil
}

// validate checks one rule; groups holds the names of every group.
func (r *Rule) validate(groups map[string]int) error {
	if r.Name == "" {
		return ErrEmptyName
	}
	if r.Direction > Egress {
		return ErrBadDirection
	}
	if r.Action > Deny {
		return ErrBadAction
	}
	if r.Remote.IsValid() || r.Remote != (netip.Prefix{}) {
		if !r.Remote.IsValid() || r.Remote.Addr().Is4In6() || r.Remote.Addr().Zone() != "" ||
			r.Remote.Masked() != r.Remote {
			return fmt.Errorf("%w: %v", ErrBadCIDR, r.Remote)
		}
		if r.RemoteGroup != "" {
			return ErrRemoteConflict
		}
	}
	if r.RemoteGroup != "" {
		if _, ok := groups[r.RemoteGroup]; !ok {
			return fmt.Errorf("%w %q", ErrUnknownGroup, r.RemoteGroup)
		}
	}
	for _, p := range []PortRange{r.Ports, r.SrcPorts} {
		if p.any() {
			continue
		}
		if !hasPorts(r.Proto) {
			return ErrPortsNeedProto
		}
		if p.Lo > p.Hi {
			return fmt.Errorf("%w: %d-%d: the low end is above the high end", ErrPortRange, p.Lo, p.Hi)
		}
	}
	if r.ICMP != nil && !isICMP(r.Proto) {
		return ErrICMPNeedsProto
	}
	if _, err := r.family(); err != nil {
		return err
	}
	return nil
}

// Validate checks the model and returns the first problem found, a
// *RuleError wrapping one of the package's sentinel errors. Compile calls
// it; a model that validates always compiles, unless it is too large
// (ErrTooLarge).
func (m *Model) Validate() error {
	_, err := m.index()
	return err
}

// index validates the model and returns group name -> group index.
func (m *Model) index() (map[string]int, error) {
	groups := make(map[string]int, len(m.Groups))
	for i := range m.Groups {
		g := &m.Groups[i]
		if g.Name == "" {
			return nil, &RuleError{Group: g.Name, Err: ErrEmptyName}
		}
		if _, dup := groups[g.Name]; dup {
			return nil, &RuleError{Group: g.Name, Err: ErrDuplicateGroup}
		}
		groups[g.Name] = i
	}
	for i := range m.Groups {
		g := &m.Groups[i]
		for _, a := range g.Addrs {
			if !a.IsValid() || a.Is4In6() || a.Zone() != "" {
				return nil, &RuleError{Group: g.Name, Err: fmt.Errorf("%w: %v", ErrBadAddress, a)}
			}
		}
		names := make(map[string]bool, len(g.Rules))
		for j := range g.Rules {
			r := &g.Rules[j]
			if err := r.validate(groups); err != nil {
				return nil, &RuleError{Group: g.Name, Rule: r.Name, Err: err}
			}
			if names[r.Name] {
				return nil, &RuleError{Group: g.Name, Rule: r.Name, Err: ErrDuplicateRule}
			}
			names[r.Name] = true
		}
	}
	return groups, nil
}
