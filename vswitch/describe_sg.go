package vswitch

import (
	"fmt"
	"strings"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/policy/acl"
)

// Describe tells what sg-policy decided for a traced packet: the flow's
// conntrack state and, for a classified packet, the rule that decided,
// by group and name.
func (n *sgPolicy) Describe(f *pipeline.Frame, i int) string {
	m, _ := frameOf(f, i)
	t := n.s.tables.Load()
	ends := fmt.Sprintf("%s -> %s", t.portName(n.src[i]), t.portName(m.OutPort))
	rule := func(r int32) string {
		if n.cur == nil || r < 0 || int(r) >= n.cur.cls.Rules() {
			return "no rule"
		}
		ri := n.cur.cls.Rule(r)
		if ri.Default {
			return fmt.Sprintf("default deny (%s of groups %s)", ri.Direction, ri.Group)
		}
		return fmt.Sprintf("rule %s/%s (%s %s)", ri.Group, ri.Rule, ri.Direction, ri.Action)
	}
	switch n.how[i] {
	case sgSkip:
		return ends + ": not filtered"
	case sgNotIP:
		return ends + ": not IP, not filtered"
	case sgNoPolicy:
		return ends + ": no security groups now"
	case sgEstablished:
		return fmt.Sprintf("%s: ct %s, flow %d", ends, n.ct[i], m.Conn)
	case sgRelated:
		return fmt.Sprintf("%s: ct related to flow %d", ends, m.Conn)
	case sgRelatedMismatch:
		return fmt.Sprintf("%s: ct related to a flow admitted between other ports, dropped (sg-related-mismatch)", ends)
	case sgUntracked:
		return ends + ": ct untracked (neighbour discovery, MLD), passed"
	case sgInvalid:
		return fmt.Sprintf("%s: ct invalid (%s), dropped", ends, n.why[i])
	case sgDenied:
		return fmt.Sprintf("%s: denied by %s", ends, rule(n.rule[i]))
	}
	var by []string
	if n.egr[i] != acl.NoRule {
		by = append(by, rule(n.egr[i]))
	}
	if n.rule[i] != acl.NoRule && n.rule[i] != n.egr[i] {
		by = append(by, rule(n.rule[i]))
	}
	allowed := "allowed by " + strings.Join(by, " and ")
	switch n.how[i] {
	case sgCommitted:
		return fmt.Sprintf("%s: new flow %d %s", ends, m.Conn, allowed)
	case sgNotCommitted:
		return fmt.Sprintf("%s: new flow %s, not committed (flow table full)", ends, allowed)
	case sgRouterMsg:
		return fmt.Sprintf("%s: router advertisement or redirect %s (untracked)", ends, allowed)
	}
	return fmt.Sprintf("%s: %s (flow not committed: admitted between other ports, or a fragment)", ends, allowed)
}
