package vswitch

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/policy/acl"
)

// SecurityGroup is a named security group in the desired configuration
// (Config.SecurityGroups): its rules, the switch ports it applies to, and
// the addresses of its members, which rules of any group may name as a
// remote group. It is plain, JSON-ready data; Reconfigure validates it and
// compiles every group into one policy/acl classifier (sg.go).
type SecurityGroup struct {
	Name  string   `json:"name"`
	Rules []SGRule `json:"rules,omitempty"`
	// Ports are port names. A name that is not a configured, attached
	// port is ignored until one is.
	Ports []string `json:"ports,omitempty"`
	// Addrs are member addresses (IPv4 or IPv6, no prefix length) that a
	// rule's remote group matches: usually the addresses of the
	// endpoints behind Ports (the daemon adds those), plus endpoints
	// elsewhere.
	Addrs []string `json:"addrs,omitempty"`
}

// SGRule is one rule of a security group, in text form.
type SGRule struct {
	// Name is unique within the group; counters are reported under it.
	Name string `json:"name"`
	// Direction is "ingress" (to the endpoint behind the port) or
	// "egress" (from it).
	Direction string `json:"direction"`
	// Proto is "any" (or empty), "tcp", "udp", "icmp", "icmpv6", "sctp",
	// "udplite" or a protocol number 0-255.
	Proto string `json:"proto,omitempty"`
	// Ports is the destination port or range, "80" or "8000-8080" (tcp,
	// udp, sctp, udplite only); empty is every port.
	Ports string `json:"ports,omitempty"`
	// ICMP restricts an icmp or icmpv6 rule to a message type, "8", or a
	// type and code, "3/4"; empty is every message.
	ICMP string `json:"icmp,omitempty"`
	// Remote is a CIDR the remote end (the source for ingress, the
	// destination for egress) must be in; RemoteGroup names a group whose
	// member addresses it must be one of. At most one of the two.
	Remote      string `json:"remote,omitempty"`
	RemoteGroup string `json:"remote_group,omitempty"`
	// Priority: of the matching rules of a port's groups the highest
	// wins; at equal priority deny beats allow.
	Priority int32 `json:"priority,omitempty"`
	// Action is "allow" or "deny".
	Action string `json:"action"`
}

// MaxSGRules bounds the rules of all groups together.
const MaxSGRules = 100000

// ErrBadProto: a rule's protocol is neither a known name nor a number
// 0-255. (The other field errors are policy/acl's sentinels: ErrBadDirection,
// ErrBadAction, ErrPortRange, ErrBadCIDR, ErrBadAddress, ErrUnknownGroup,
// ErrDuplicateGroup, ErrDuplicateRule, ErrEmptyName...)
var ErrBadProto = errors.New("bad protocol")

// ErrBadICMP: a rule's icmp is not TYPE or TYPE/CODE (0-255 each).
var ErrBadICMP = errors.New("bad icmp type/code")

// ErrTooManyRules: more than MaxSGRules rules.
var ErrTooManyRules = errors.New("too many security group rules")

// SGError is a security-group validation error: which group and rule, and
// why. It wraps both ErrInvalidConfig and the reason (a policy/acl
// sentinel error or ErrBadProto), so errors.Is works with either.
type SGError struct {
	Group string
	Rule  string // empty for a problem with the group itself
	Err   error
}

func (e *SGError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("security group %q: %v", e.Group, e.Err)
	}
	return fmt.Sprintf("security group %q rule %q: %v", e.Group, e.Rule, e.Err)
}

// Unwrap gives ErrInvalidConfig and the reason.
func (e *SGError) Unwrap() []error { return []error{ErrInvalidConfig, e.Err} }

// ParseSGProto parses a rule's protocol: a name or a number.
func ParseSGProto(s string) (uint8, error) {
	switch strings.ToLower(s) {
	case "", "any", "all":
		return acl.ProtoAny, nil
	case "tcp":
		return acl.ProtoTCP, nil
	case "udp":
		return acl.ProtoUDP, nil
	case "icmp":
		return acl.ProtoICMP, nil
	case "icmpv6", "ipv6-icmp":
		return acl.ProtoICMPv6, nil
	case "sctp":
		return acl.ProtoSCTP, nil
	case "udplite":
		return acl.ProtoUDPLite, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%w %q: want any, tcp, udp, icmp, icmpv6, sctp, udplite or 0-255", ErrBadProto, s)
	}
	return uint8(n), nil
}

// ParseSGPorts parses "80" or "8000-8080" (1-65535); "" is every port.
func ParseSGPorts(s string) (acl.PortRange, error) {
	if s == "" {
		return acl.PortRange{}, nil
	}
	lo, hi, rng := strings.Cut(s, "-")
	if !rng {
		hi = lo
	}
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || l == 0 || h == 0 {
		return acl.PortRange{}, fmt.Errorf("%w: %q: want N or N-M, 1 to 65535", acl.ErrPortRange, s)
	}
	if l > h {
		return acl.PortRange{}, fmt.Errorf("%w: %q: the low end is above the high end", acl.ErrPortRange, s)
	}
	return acl.PortRange{Lo: uint16(l), Hi: uint16(h)}, nil
}

// toACL converts a rule's text fields.
func (r *SGRule) toACL() (acl.Rule, error) {
	out := acl.Rule{Name: r.Name, RemoteGroup: r.RemoteGroup, Priority: r.Priority}
	if err := checkName(r.Name); err != nil {
		return out, fmt.Errorf("%w: %v", acl.ErrEmptyName, err)
	}
	switch r.Direction {
	case "ingress":
		out.Direction = acl.Ingress
	case "egress":
		out.Direction = acl.Egress
	default:
		return out, fmt.Errorf("%w %q: want ingress or egress", acl.ErrBadDirection, r.Direction)
	}
	switch r.Action {
	case "allow":
		out.Action = acl.Allow
	case "deny":
		out.Action = acl.Deny
	default:
		return out, fmt.Errorf("%w %q: want allow or deny", acl.ErrBadAction, r.Action)
	}
	var err error
	if out.Proto, err = ParseSGProto(r.Proto); err != nil {
		return out, err
	}
	if out.Ports, err = ParseSGPorts(r.Ports); err != nil {
		return out, err
	}
	if r.ICMP != "" {
		if out.ICMP, err = parseSGICMP(r.ICMP); err != nil {
			return out, err
		}
	}
	if r.Remote != "" {
		if out.Remote, err = netip.ParsePrefix(r.Remote); err != nil {
			return out, fmt.Errorf("%w %q: %v", acl.ErrBadCIDR, r.Remote, err)
		}
	}
	return out, nil
}

// normalizeSG validates groups and returns a copy: ports deduplicated
// (order kept), addresses in canonical form.
func normalizeSG(groups []SecurityGroup) ([]SecurityGroup, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	out := make([]SecurityGroup, len(groups))
	n := 0
	for i := range groups {
		g := &groups[i]
		if err := checkName(g.Name); err != nil {
			return nil, &SGError{Group: g.Name, Err: fmt.Errorf("%w: %v", acl.ErrEmptyName, err)}
		}
		ng := SecurityGroup{Name: g.Name, Rules: slices.Clone(g.Rules)}
		seen := map[string]bool{}
		for _, p := range g.Ports {
			if err := checkName(p); err != nil {
				return nil, &SGError{Group: g.Name, Err: fmt.Errorf("port: %v", err)}
			}
			if !seen[p] {
				seen[p] = true
				ng.Ports = append(ng.Ports, p)
			}
		}
		for _, a := range g.Addrs {
			ad, err := netip.ParseAddr(a)
			if err != nil || ad.Zone() != "" {
				return nil, &SGError{Group: g.Name, Err: fmt.Errorf("%w %q", acl.ErrBadAddress, a)}
			}
			ng.Addrs = append(ng.Addrs, ad.Unmap().String())
		}
		n += len(g.Rules)
		out[i] = ng
	}
	if n > MaxSGRules {
		return nil, &SGError{Err: fmt.Errorf("%w: %d, at most %d", ErrTooManyRules, n, MaxSGRules)}
	}
	if _, err := sgModel(out, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// sgModel builds the classifier's model; port maps a port name to its
// index (nil: no ports, for validation). It validates the whole model.
func sgModel(groups []SecurityGroup, port func(string) (uint16, bool)) (*acl.Model, error) {
	m := &acl.Model{Groups: make([]acl.Group, len(groups))}
	for i := range groups {
		g := &groups[i]
		ag := &m.Groups[i]
		ag.Name = g.Name
		for j := range g.Rules {
			r, err := g.Rules[j].toACL()
			if err != nil {
				return nil, &SGError{Group: g.Name, Rule: g.Rules[j].Name, Err: err}
			}
			ag.Rules = append(ag.Rules, r)
		}
		for _, a := range g.Addrs {
			ad, err := netip.ParseAddr(a)
			if err != nil {
				return nil, &SGError{Group: g.Name, Err: fmt.Errorf("%w %q", acl.ErrBadAddress, a)}
			}
			ag.Addrs = append(ag.Addrs, ad.Unmap())
		}
		if port != nil {
			for _, p := range g.Ports {
				if idx, ok := port(p); ok {
					ag.Ports = append(ag.Ports, idx)
				}
			}
		}
	}
	if err := m.Validate(); err != nil {
		var re *acl.RuleError
		if errors.As(err, &re) {
			return nil, &SGError{Group: re.Group, Rule: re.Rule, Err: re.Err}
		}
		return nil, &SGError{Err: err}
	}
	return m, nil
}

// parseSGICMP parses a rule's icmp: "TYPE" or "TYPE/CODE".
func parseSGICMP(s string) (*acl.ICMPMatch, error) {
	t, c, hasCode := strings.Cut(s, "/")
	typ, err := strconv.ParseUint(t, 10, 8)
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrBadICMP, s)
	}
	m := &acl.ICMPMatch{Type: uint8(typ), AnyCode: !hasCode}
	if hasCode {
		code, err := strconv.ParseUint(c, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("%w %q", ErrBadICMP, s)
		}
		m.Code = uint8(code)
	}
	return m, nil
}
