package acl

import (
	"errors"
	"fmt"
)

// Errors returned by Validate and Compile, wrapped in a *RuleError (or,
// for group-level problems, with the group's name); test for them with
// errors.Is.
var (
	// ErrEmptyName: a group or a rule has no name, or one that is not a
	// name (the wrapping error says why: a space, a slash...).
	ErrEmptyName = errors.New("bad name")
	// ErrDuplicateGroup: two groups have the same name.
	ErrDuplicateGroup = errors.New("duplicate group name")
	// ErrDuplicateRule: two rules of one group have the same name.
	ErrDuplicateRule = errors.New("duplicate rule name")
	// ErrBadCIDR: the remote prefix is invalid or has host bits set
	// (10.0.0.1/24 is refused, not masked).
	ErrBadCIDR = errors.New("bad remote CIDR")
	// ErrBadAddress: a group member address is invalid or an IPv6 zone is
	// set.
	ErrBadAddress = errors.New("bad member address")
	// ErrPortRange: a port range (or ICMP type/code) whose low end is
	// above its high end, or, as text, one out of range or not a number.
	ErrPortRange = errors.New("bad port range")
	// ErrPortsNeedProto: a port range on a rule whose protocol has no
	// ports (only tcp, udp, sctp and udplite have them).
	ErrPortsNeedProto = errors.New("port range needs protocol tcp, udp, sctp or udplite")
	// ErrICMPNeedsProto: an ICMP type/code on a rule whose protocol is not
	// icmp or icmpv6.
	ErrICMPNeedsProto = errors.New("icmp type/code needs protocol icmp or icmpv6")
	// ErrRemoteConflict: a rule has both a remote CIDR and a remote group.
	ErrRemoteConflict = errors.New("both remote CIDR and remote group")
	// ErrUnknownGroup: a rule's remote group names no group of the model.
	ErrUnknownGroup = errors.New("unknown remote group")
	// ErrFamily: the rule's family, remote CIDR and protocol contradict
	// each other (an IPv6 CIDR with family IPv4, icmp with an IPv6 CIDR,
	// icmpv6 with family IPv4...), or the family is not 0, 4 or 6.
	ErrFamily = errors.New("address family conflict")
	// ErrBadDirection: the direction is neither Ingress nor Egress.
	ErrBadDirection = errors.New("bad direction")
	// ErrBadAction: the action is neither Allow nor Deny.
	ErrBadAction = errors.New("bad action")
	// ErrTooLarge: the rules of one port's groups would compile into
	// tables larger than MaxTableBytes.
	ErrTooLarge = errors.New("classifier too large")
)

// RuleError says which rule of which group a validation error is about.
type RuleError struct {
	Group string
	Rule  string // empty for an error about the group itself
	Err   error
}

func (e *RuleError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("group %q: %v", e.Group, e.Err)
	}
	return fmt.Sprintf("group %q rule %q: %v", e.Group, e.Rule, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }
