package vswitch

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/policy/nat"
)

// Describe tells what the nat node did with a traced packet.
func (n *natNode) Describe(f *pipeline.Frame, i int) string {
	switch n.how[i] {
	case natSkip:
		return "not translated (sent by the switch, or not routable)"
	case natOff:
		return "NAT off"
	case natUntracked:
		return "untracked (neighbour discovery or a fragment), not translated"
	case natDropped:
		return "dropped: cannot be translated"
	case natRejected:
		return "refused: no backend of the service takes new flows; answered from the VIP (TCP: RST, UDP: port unreachable) unless rate limited"
	case natTranslated:
		s := "translated:"
		if n.act[i]&nat.ActSNAT != 0 {
			s += " source"
		}
		if n.act[i]&nat.ActDNAT != 0 {
			s += " destination"
		}
		return s
	}
	return "no translation"
}
