package acl

import (
	"net/netip"
	"slices"
)

// ref is the slow reference model: the package comment's semantics
// written as directly as possible, a linear scan over every rule of the
// port's groups on netip values, sharing no code with the compiled
// classifier but Rule.family.
type ref struct {
	m *Model
}

// refResult is the reference's answer: the verdict and, for a rule's
// verdict, the rule.
type refResult struct {
	v           Verdict
	group, rule string
}

func keyAddr(a *[16]byte, is6 bool) netip.Addr {
	if is6 {
		return netip.AddrFrom16(*a)
	}
	return netip.AddrFrom4([4]byte(a[:4]))
}

func inRange(r PortRange, p uint16) bool {
	return r == PortRange{} || r.Lo <= p && p <= r.Hi
}

func (f ref) matches(r *Rule, dir Direction, k *Key) bool {
	if r.Direction != dir {
		return false
	}
	fam, err := r.family()
	if err != nil {
		panic(err)
	}
	if fam == 4 && k.IPv6 || fam == 6 && !k.IPv6 {
		return false
	}
	if r.Proto != ProtoAny && r.Proto != k.Proto {
		return false
	}
	switch r.Proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP, ProtoUDPLite:
		if !inRange(r.Ports, k.DstPort) || !inRange(r.SrcPorts, k.SrcPort) {
			return false
		}
	case ProtoICMP, ProtoICMPv6:
		if r.ICMP != nil && (k.DstPort != uint16(r.ICMP.Type) || !r.ICMP.AnyCode && k.SrcPort != uint16(r.ICMP.Code)) {
			return false
		}
	}
	remote := keyAddr(&k.Src, k.IPv6)
	if dir == Egress {
		remote = keyAddr(&k.Dst, k.IPv6)
	}
	switch {
	case r.Remote.IsValid():
		return r.Remote.Contains(remote)
	case r.RemoteGroup != "":
		for i := range f.m.Groups {
			if f.m.Groups[i].Name == r.RemoteGroup {
				return slices.Contains(f.m.Groups[i].Addrs, remote)
			}
		}
		panic("unknown group " + r.RemoteGroup)
	}
	return true
}

func (f ref) lookup(dir Direction, port uint16, k *Key) refResult {
	inGroup := false
	var best *Rule
	var bestGroup string
	for gi := range f.m.Groups {
		g := &f.m.Groups[gi]
		if !slices.Contains(g.Ports, port) {
			continue
		}
		inGroup = true
		for ri := range g.Rules {
			r := &g.Rules[ri]
			if !f.matches(r, dir, k) {
				continue
			}
			// Model order is scan order: a later rule wins only by a
			// larger priority, or by being a deny at equal priority.
			if best == nil || r.Priority > best.Priority ||
				r.Priority == best.Priority && r.Action == Deny && best.Action == Allow {
				best, bestGroup = r, g.Name
			}
		}
	}
	switch {
	case !inGroup:
		return refResult{v: VerdictUnfiltered}
	case best == nil:
		return refResult{v: VerdictDefaultDeny}
	case best.Action == Deny:
		return refResult{VerdictDeny, bestGroup, best.Name}
	}
	return refResult{VerdictAllow, bestGroup, best.Name}
}

// classify runs Lookup and translates its answer into a refResult,
// checking that the counter index agrees with the verdict.
func classify(c *Classifier, dir Direction, port uint16, k *Key) (refResult, string) {
	v, idx := c.Lookup(dir, port, k)
	switch v {
	case VerdictUnfiltered:
		if idx != NoRule {
			return refResult{}, "unfiltered with a rule index"
		}
		return refResult{v: v}, ""
	case VerdictDefaultDeny:
		if idx < 0 || int(idx) >= c.Rules() {
			return refResult{}, "default deny with a bad index"
		}
		r := c.Rule(idx)
		if !r.Default || r.Direction != dir || !slices.Contains(r.Ports, port) {
			return refResult{}, "default deny charged to the wrong counter"
		}
		return refResult{v: v}, ""
	case VerdictAllow, VerdictDeny:
		if idx < 0 || int(idx) >= c.ModelRules() {
			return refResult{}, "rule verdict with a bad index"
		}
		r := c.Rule(idx)
		if r.Default || (r.Action == Deny) != (v == VerdictDeny) || r.Direction != dir {
			return refResult{}, "verdict disagrees with its rule"
		}
		return refResult{v, r.Group, r.Rule}, ""
	}
	return refResult{}, "bad verdict"
}
