package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// Node names of the L2 graph. A frame's path: l2-input (parse, VLAN
// classification, tag pop) -> l2-fwd (learn the source MAC, look up the
// destination) -> l2-output (tag push, tx) or l2-flood (replication) ->
// l2-output.
const (
	nodeL2Input  = "l2-input"
	nodeL2Fwd    = "l2-fwd"
	nodeL2Flood  = "l2-flood"
	nodeL2Output = "l2-output"
	nodeGSO      = "gso"
)

func (s *Switch) nodeSpecs() []pipeline.NodeSpec {
	return []pipeline.NodeSpec{
		l2InputSpec(s),
		l2FwdSpec(s),
		l2FloodSpec(s),
		l2OutputSpec(s),
		ip4ForwardSpec(s),
		ip4LocalSpec(s),
		ip4GleanSpec(s),
		ip4ErrorSpec(s),
		arpInputSpec(s),
		ip6ForwardSpec(s),
		ip6LocalSpec(s),
		ip6GleanSpec(s),
		ip6ErrorSpec(s),
		vxlanEncapSpec(s),
		vxlanDecapSpec(s),
		gsoSpec(s),
		sgPolicySpec(s),
		natSpec(s),
		dnsPuntSpec(s),
		dnsReplySpec(s),
	}
}
