package ctl

// The security-group commands (issue 20). A port in a group is filtered
// statefully in both directions: what no rule of its groups allows is
// denied; replies of allowed flows pass.
var sgSpecs = []Spec{
	{Name: "sg/add", Batch: true, Usage: "GROUP [addrs=ADDR,...]",
		Help: "create a security group (it filters nothing until a port is bound to it: then everything not allowed by a rule is denied, both ways); addrs= are member addresses beside the bound ports' own, for rules naming the group as remote=group:GROUP", MinArgs: 1, MaxArgs: 2},
	{Name: "sg/del", Batch: true, Usage: "GROUP", Help: "delete a security group (not while another group's rule names it); its ports are filtered by their other groups only, or not at all", MinArgs: 1, MaxArgs: 1},
	{Name: "sg/rule-add", Batch: true, Usage: "GROUP name=NAME dir=ingress|egress action=allow|deny [proto=tcp|udp|icmp|icmpv6|sctp|udplite|any|N] [port=N[-M]] [icmp=TYPE[/CODE]] [remote=CIDR|group:GROUP] [prio=N]",
		Help: "add a rule: ingress is traffic to the port's endpoint, egress from it; port= is the destination port (tcp, udp, sctp, udplite); icmp= a message type and code (icmp, icmpv6); remote= the other end; the matching rule of highest prio wins, at equal prio deny beats allow; applies to new flows at once", MinArgs: 4, MaxArgs: 10},
	{Name: "sg/rule-del", Batch: true, Usage: "GROUP RULE", Help: "delete a rule; the established flows it allowed stop unless another rule allows them", MinArgs: 2, MaxArgs: 2},
	{Name: "sg/bind", Batch: true, Usage: "PORT [GROUP...]", Help: "set the groups a port is in (none: the port is not filtered); its ip= addresses become the groups' member addresses", MinArgs: 1, MaxArgs: -1},
	{Name: "sg/show", Usage: "[GROUP]", Help: "security groups: ports, member addresses, rules with packet and byte counters (first packets of allowed flows, every denied packet), default denies, tracked flows", MaxArgs: 1, Read: true},
	{Name: "sg/flush-flows", Help: "forget every tracked flow: established connections through ports in groups must start again", MaxArgs: 0},
}

func init() { Specs = append(Specs, sgSpecs...) }

// SGShowView is sg/show's answer.
type SGShowView struct {
	Groups []SGView `json:"groups"`
	// DefaultDenies count what no rule allowed, per set of groups (a
	// port's groups, joined by ",") and direction.
	DefaultDenies []SGCount `json:"default_denies,omitempty"`
	// Flows is the number of tracked flows, of at most FlowCapacity.
	Flows        int `json:"flows"`
	FlowCapacity int `json:"flow_capacity"`
	// Conntrack are the tracker's counters by name (hits, new, evicted,
	// expired, invalid reasons...).
	Conntrack map[string]uint64 `json:"conntrack,omitempty"`
}

// SGView is one security group.
type SGView struct {
	Name  string   `json:"name"`
	Ports []string `json:"ports"`
	// Addrs are the addresses given with sg/add; MemberAddrs those and
	// the bound ports' own.
	Addrs       []string     `json:"addrs,omitempty"`
	MemberAddrs []string     `json:"member_addrs,omitempty"`
	Rules       []SGRuleView `json:"rules"`
}

// SGRuleView is one rule and its counters.
type SGRuleView struct {
	Name        string `json:"name"`
	Direction   string `json:"direction"`
	Proto       string `json:"proto,omitempty"`
	Ports       string `json:"ports,omitempty"`
	ICMP        string `json:"icmp,omitempty"`
	Remote      string `json:"remote,omitempty"`
	RemoteGroup string `json:"remote_group,omitempty"`
	Priority    int32  `json:"priority,omitempty"`
	Action      string `json:"action"`
	Packets     uint64 `json:"packets"`
	Bytes       uint64 `json:"bytes"`
}

// SGCount is a default deny's counters.
type SGCount struct {
	Groups    string `json:"groups"`
	Direction string `json:"direction"`
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"`
}
