package daemon

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/policy/conntrack"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The security-group commands: sg/add, sg/del, sg/rule-add, sg/rule-del,
// sg/bind, sg/show, sg/flush-flows. Groups are part of the desired State
// (State.SecurityGroups, as the user gave them) and committed like every
// other change: the switch validates the whole configuration (a bad rule
// is refused with a typed error and changes nothing), applies it, and the
// store keeps it before the command returns. The switch gets the groups
// with the bound ports' addresses (their ip= option, which endpoints set
// too) added to the member addresses (State.sgConfig).

func (d *Daemon) sgHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"sg/add": d.sgAdd, "sg/del": d.sgDel, "sg/rule-add": d.sgRuleAdd, "sg/rule-del": d.sgRuleDel,
		"sg/bind": d.sgBind, "sg/show": d.sgShow, "sg/flush-flows": d.sgFlushFlows,
	}
}

func (s *State) sg(name string) *vswitch.SecurityGroup {
	for i := range s.SecurityGroups {
		if s.SecurityGroups[i].Name == name {
			return &s.SecurityGroups[i]
		}
	}
	return nil
}

// sgConfig is the groups as the switch gets them: each with the
// addresses of its bound ports added to its member addresses.
func (s *State) sgConfig() []vswitch.SecurityGroup {
	if len(s.SecurityGroups) == 0 {
		return nil
	}
	out := make([]vswitch.SecurityGroup, len(s.SecurityGroups))
	for i, g := range s.SecurityGroups {
		g.Addrs = s.sgMembers(&g)
		out[i] = g
	}
	return out
}

// sgMembers is a group's given addresses plus its ports' addresses.
func (s *State) sgMembers(g *vswitch.SecurityGroup) []string {
	addrs := slices.Clone(g.Addrs)
	for _, p := range g.Ports {
		spec, _ := s.port(p)
		if spec == nil {
			continue
		}
		for _, a := range splitList(spec.Options["ip"]) {
			if pf, err := netip.ParsePrefix(a); err == nil {
				addrs = append(addrs, pf.Addr().String())
			} else if ad, err := netip.ParseAddr(a); err == nil {
				addrs = append(addrs, ad.String())
			}
		}
	}
	slices.Sort(addrs)
	return slices.Compact(addrs)
}

// unbindPort takes a removed port out of every group, so that a new port
// of the same name does not inherit them.
func (s *State) unbindPort(name string) {
	for i := range s.SecurityGroups {
		g := &s.SecurityGroups[i]
		g.Ports = slices.DeleteFunc(g.Ports, func(p string) bool { return p == name })
	}
}

func (d *Daemon) sgAdd(args []string) (any, error) {
	name := args[0]
	if d.state.sg(name) != nil {
		return nil, ctl.Errorf(ctl.CodeExists, "security group %s exists", name)
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "addrs"); err != nil {
		return nil, err
	}
	next := d.state.clone()
	next.SecurityGroups = append(next.SecurityGroups, vswitch.SecurityGroup{Name: name, Addrs: splitList(opts["addrs"])})
	return nil, d.commit(next)
}

func (d *Daemon) sgDel(args []string) (any, error) {
	if d.state.sg(args[0]) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no security group %s", args[0])
	}
	for _, g := range d.state.SecurityGroups {
		for _, r := range g.Rules {
			if r.RemoteGroup == args[0] && g.Name != args[0] {
				return nil, ctl.Errorf(ctl.CodeInvalid, "security group %s is in use: group %s's rule %s names it (remote=group:%s); sg/rule-del that rule first", args[0], g.Name, r.Name, args[0])
			}
		}
	}
	next := d.state.clone()
	next.SecurityGroups = slices.DeleteFunc(next.SecurityGroups, func(g vswitch.SecurityGroup) bool { return g.Name == args[0] })
	return nil, d.commit(next)
}

func (d *Daemon) sgRuleAdd(args []string) (any, error) {
	if d.state.sg(args[0]) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no security group %s", args[0])
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "name", "dir", "proto", "port", "icmp", "remote", "prio", "action"); err != nil {
		return nil, err
	}
	r, err := parseSGRule(opts)
	if err != nil {
		return nil, err
	}
	next := d.state.clone()
	g := next.sg(args[0])
	if slices.ContainsFunc(g.Rules, func(x vswitch.SGRule) bool { return x.Name == r.Name }) {
		return nil, ctl.Errorf(ctl.CodeExists, "security group %s has a rule %s", args[0], r.Name)
	}
	g.Rules = append(g.Rules, r)
	return nil, d.commit(next)
}

// parseSGRule reads sg/rule-add's options; the switch checks the values.
func parseSGRule(opts map[string]string) (vswitch.SGRule, error) {
	r := vswitch.SGRule{Name: opts["name"], Direction: opts["dir"], Proto: opts["proto"], Ports: opts["port"], ICMP: opts["icmp"], Action: opts["action"]}
	for _, k := range []string{"name", "dir", "action"} {
		if opts[k] == "" {
			return r, ctl.Errorf(ctl.CodeUsage, "sg/rule-add: %s= is required", k)
		}
	}
	if rem := opts["remote"]; rem != "" {
		if g, ok := strings.CutPrefix(rem, "group:"); ok {
			r.RemoteGroup = g
		} else {
			r.Remote = rem
		}
	}
	if p := opts["prio"]; p != "" {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return r, ctl.Errorf(ctl.CodeInvalid, "prio=%s: want an integer", p)
		}
		r.Priority = int32(n)
	}
	return r, nil
}

func (d *Daemon) sgRuleDel(args []string) (any, error) {
	g := d.state.sg(args[0])
	if g == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no security group %s", args[0])
	}
	if !slices.ContainsFunc(g.Rules, func(x vswitch.SGRule) bool { return x.Name == args[1] }) {
		return nil, ctl.Errorf(ctl.CodeNotFound, "security group %s has no rule %s", args[0], args[1])
	}
	next := d.state.clone()
	ng := next.sg(args[0])
	ng.Rules = slices.DeleteFunc(ng.Rules, func(x vswitch.SGRule) bool { return x.Name == args[1] })
	return nil, d.commit(next)
}

func (d *Daemon) sgBind(args []string) (any, error) {
	port, groups := args[0], args[1:]
	if spec, _ := d.state.port(port); spec == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no port %s", port)
	}
	for _, g := range groups {
		if d.state.sg(g) == nil {
			return nil, ctl.Errorf(ctl.CodeNotFound, "no security group %s", g)
		}
	}
	next := d.state.clone()
	next.unbindPort(port)
	for _, g := range groups {
		ng := next.sg(g)
		if !slices.Contains(ng.Ports, port) {
			ng.Ports = append(ng.Ports, port)
		}
	}
	return nil, d.commit(next)
}

func (d *Daemon) sgShow(args []string) (any, error) {
	if len(args) == 1 && d.state.sg(args[0]) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no security group %s", args[0])
	}
	st := d.sw.SGStats()
	type key struct{ group, rule string }
	counts := map[key]vswitch.SGRuleCount{}
	v := ctl.SGShowView{Groups: []ctl.SGView{}, Flows: st.Flows, FlowCapacity: st.Capacity, Conntrack: conntrackCounters(&st.Conntrack)}
	if v.FlowCapacity == 0 {
		// The tracker is made when a group first has an attached port:
		// none yet (no port bound, or a bound one down since a restart)
		// reported a capacity of 0.
		v.FlowCapacity = d.ctCapacity
	}
	for _, c := range st.Rules {
		if c.Default {
			v.DefaultDenies = append(v.DefaultDenies, ctl.SGCount{Groups: c.Group, Direction: c.Direction, Packets: c.Packets, Bytes: c.Bytes})
			continue
		}
		counts[key{c.Group, c.Rule}] = c
	}
	for i := range d.state.SecurityGroups {
		g := &d.state.SecurityGroups[i]
		if len(args) == 1 && g.Name != args[0] {
			continue
		}
		gv := ctl.SGView{Name: g.Name, Ports: append([]string{}, g.Ports...), Addrs: g.Addrs, MemberAddrs: d.state.sgMembers(g), Rules: []ctl.SGRuleView{}}
		for _, r := range g.Rules {
			c := counts[key{g.Name, r.Name}]
			gv.Rules = append(gv.Rules, ctl.SGRuleView{Name: r.Name, Direction: r.Direction, Proto: r.Proto, Ports: r.Ports, ICMP: r.ICMP,
				Remote: r.Remote, RemoteGroup: r.RemoteGroup, Priority: r.Priority, Action: r.Action, Packets: c.Packets, Bytes: c.Bytes})
		}
		v.Groups = append(v.Groups, gv)
	}
	return v, nil
}

// conntrackCounters names the tracker's counters.
func conntrackCounters(c *conntrack.Counters) map[string]uint64 {
	m := map[string]uint64{"hits": c.Hits, "misses": c.Misses, "new": c.New, "related": c.Related, "evicted": c.Evicted,
		"expired": c.Expired, "deleted": c.Deleted, "clashes": c.Clashes, "commit-failed": c.CommitFailed,
		"fragments": c.Fragments}
	for r := range conntrack.NumReasons {
		if r != 0 && c.Reasons[r] != 0 {
			m["reason/"+conntrack.Reason(r).String()] = c.Reasons[r]
		}
	}
	return m
}

func (d *Daemon) sgFlushFlows([]string) (any, error) {
	return map[string]int{"flushed": d.sw.FlushFlows()}, nil
}
