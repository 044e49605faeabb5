package daemon

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/policy/nat"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The NAT commands: nat/masquerade-add, nat/masquerade-del, nat/map-add,
// nat/map-del, nat/uplink-add, nat/uplink-del, nat/show, nat/flush-flows.
// The NAT is part of the desired State (State.NAT, normalized: canonical
// addresses, no unspecified host, explicit target port) and committed
// like every other change: the switch validates the whole configuration
// (a bad entry is refused with a typed error and changes nothing),
// applies it, and the store keeps it before the command returns. Adding
// what is there and deleting what is not are no-ops that write nothing.
// A removed router interface takes the masquerades and the uplink entry
// naming it along (removeRIF), as it takes its routes.

func (d *Daemon) natHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"nat/masquerade-add": d.natMasqAdd, "nat/masquerade-del": d.natMasqDel,
		"nat/map-add": d.natMapAdd, "nat/map-del": d.natMapDel,
		"nat/uplink-add": d.natUplinkAdd, "nat/uplink-del": d.natUplinkDel,
		"nat/show": d.natShow, "nat/flush-flows": d.natFlushFlows,
	}
}

// natOf is s.NAT, made if there is none.
func (s *State) natOf() *vswitch.NAT {
	if s.NAT == nil {
		s.NAT = &vswitch.NAT{}
	}
	return s.NAT
}

// dropNAT removes the NAT entries that name a router interface.
func (s *State) dropNAT(iface string) {
	if s.NAT == nil {
		return
	}
	s.NAT.Masquerade = slices.DeleteFunc(s.NAT.Masquerade, func(m vswitch.Masquerade) bool { return m.Interface == iface || m.External == iface })
	s.NAT.Uplinks = slices.DeleteFunc(s.NAT.Uplinks, func(u string) bool { return u == iface })
	s.tidyNAT()
}

// tidyNAT drops an empty NAT, so that State has none rather than an
// empty one. Empty is "nothing stored": it holds for whatever NAT gains
// (services...), as every field is omitempty.
func (s *State) tidyNAT() {
	if s.NAT == nil {
		return
	}
	if b, err := json.Marshal(s.NAT); err == nil && string(b) == "{}" {
		s.NAT = nil
	}
}

// natCommit commits next; a port map overlapping another is CodeExists.
func (d *Daemon) natCommit(next State) error {
	next.tidyNAT()
	cfg := next.switchConfig()
	if err := cfg.Validate(); err != nil && errors.Is(err, nat.ErrOverlap) {
		return ctl.Errorf(ctl.CodeExists, "%v", err)
	}
	return d.commit(next)
}

// needRIF fails unless a router interface exists.
func (d *Daemon) needRIF(name string) error {
	if d.state.rif(name) == nil {
		return ctl.Errorf(ctl.CodeNotFound, "no router interface %s", name)
	}
	return nil
}

func (d *Daemon) natMasqAdd(args []string) (any, error) {
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "external"); err != nil {
		return nil, err
	}
	m := vswitch.Masquerade{Interface: args[0], External: opts["external"]}
	if m.External == "" {
		return nil, ctl.Errorf(ctl.CodeUsage, "nat/masquerade-add: external= is required")
	}
	for _, name := range []string{m.Interface, m.External} {
		if err := d.needRIF(name); err != nil {
			return nil, err
		}
	}
	if d.state.NAT != nil {
		for _, o := range d.state.NAT.Masquerade {
			switch {
			case o == m:
				return nil, nil
			case o.Interface == m.Interface:
				return nil, ctl.Errorf(ctl.CodeExists, "%s is masqueraded behind %s (nat/masquerade-del it first)", o.Interface, o.External)
			case o.Interface == m.External:
				return nil, ctl.Errorf(ctl.CodeInvalid, "external=%s: %s is masqueraded itself (behind %s); an uplink's networks are the outside, not translated", m.External, o.Interface, o.External)
			case o.External == m.Interface:
				return nil, ctl.Errorf(ctl.CodeInvalid, "%s is the uplink %s is masqueraded behind; an uplink's networks are the outside, not translated", m.Interface, o.Interface)
			}
		}
	}
	next := d.state.clone()
	n := next.natOf()
	n.Masquerade = append(n.Masquerade, m)
	return nil, d.natCommit(next)
}

func (d *Daemon) natMasqDel(args []string) (any, error) {
	if d.state.NAT == nil || !slices.ContainsFunc(d.state.NAT.Masquerade, func(m vswitch.Masquerade) bool { return m.Interface == args[0] }) {
		return nil, nil
	}
	next := d.state.clone()
	next.NAT.Masquerade = slices.DeleteFunc(next.NAT.Masquerade, func(m vswitch.Masquerade) bool { return m.Interface == args[0] })
	return nil, d.natCommit(next)
}

// parsePortMap reads nat/map-add's (target: true) or nat/map-del's
// options (target= optional) into a normalized PortMap.
func parsePortMap(cmd string, args []string, target bool) (vswitch.PortMap, error) {
	var m vswitch.PortMap
	opts, err := ctl.ParseOptions(args)
	if err != nil {
		return m, err
	}
	allowed := []string{"proto", "host", "host-port", "target"}
	required := []string{"proto", "host-port"}
	if target {
		allowed = append(allowed, "target-port")
		required = append(required, "target")
	}
	if err := ctl.CheckOptions(opts, allowed...); err != nil {
		return m, err
	}
	for _, k := range required {
		if opts[k] == "" {
			return m, ctl.Errorf(ctl.CodeUsage, "%s: %s= is required", cmd, k)
		}
	}
	m.Proto = strings.ToLower(opts["proto"])
	if m.Proto != "tcp" && m.Proto != "udp" {
		return m, ctl.Errorf(ctl.CodeInvalid, "proto=%s: want tcp or udp", opts["proto"])
	}
	if m.HostPort, err = parseNATPort("host-port", opts["host-port"]); err != nil {
		return m, err
	}
	if h := opts["host"]; h != "" {
		a, err := netip.ParseAddr(h)
		if err != nil {
			return m, ctl.Errorf(ctl.CodeInvalid, "host=%s: not an address", h)
		}
		if !a.IsUnspecified() {
			m.Host = a.String()
		}
	}
	if !target && opts["target"] == "" {
		return m, nil
	}
	a, err := netip.ParseAddr(opts["target"])
	if err != nil {
		return m, ctl.Errorf(ctl.CodeInvalid, "target=%s: not an address", opts["target"])
	}
	m.Target = a.String()
	m.TargetPort = m.HostPort
	if tp := opts["target-port"]; tp != "" {
		if m.TargetPort, err = parseNATPort("target-port", tp); err != nil {
			return m, err
		}
	}
	return m, nil
}

func parseNATPort(k, v string) (uint16, error) {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		return 0, ctl.Errorf(ctl.CodeInvalid, "%s=%s: want a port, 1 to 65535", k, v)
	}
	return uint16(n), nil
}

func (d *Daemon) natMapAdd(args []string) (any, error) {
	m, err := parsePortMap("nat/map-add", args, true)
	if err != nil {
		return nil, err
	}
	if err := d.notSubnetEdge("target", m.Target); err != nil {
		return nil, err
	}
	if d.state.NAT != nil && slices.Contains(d.state.NAT.PortMaps, m) {
		return nil, nil
	}
	next := d.state.clone()
	n := next.natOf()
	n.PortMaps = append(n.PortMaps, m)
	return nil, d.natCommit(next)
}

// notSubnetEdge refuses a port map's target or a service backend (the
// option key=target) that is the network or the broadcast address of a
// router interface's IPv4 subnet: no container has it. (Only the
// commands refuse it; a stored one still loads, as it did before this
// check.)
func (d *Daemon) notSubnetEdge(key, target string) error {
	a, err := netip.ParseAddr(target)
	if err != nil || !a.Is4() {
		return nil
	}
	for _, ic := range d.state.Interfaces {
		for _, s := range ic.Addrs {
			p, err := netip.ParsePrefix(s)
			if err != nil || !p.Addr().Is4() || p.Bits() > 30 || !p.Contains(a) {
				continue
			}
			switch a {
			case p.Masked().Addr():
				return ctl.Errorf(ctl.CodeInvalid, "%s=%s: the network address of %s's subnet %s, not a host", key, target, ic.Name, p.Masked())
			case lastAddr(p.Masked()):
				return ctl.Errorf(ctl.CodeInvalid, "%s=%s: the broadcast address of %s's subnet %s, not a host", key, target, ic.Name, p.Masked())
			}
		}
	}
	return nil
}

func (d *Daemon) natMapDel(args []string) (any, error) {
	key, err := parsePortMap("nat/map-del", args, false)
	if err != nil {
		return nil, err
	}
	match := func(m vswitch.PortMap) bool {
		return m.Proto == key.Proto && m.Host == key.Host && m.HostPort == key.HostPort && (key.Target == "" || m.Target == key.Target)
	}
	if d.state.NAT == nil || !slices.ContainsFunc(d.state.NAT.PortMaps, match) {
		return nil, nil
	}
	next := d.state.clone()
	next.NAT.PortMaps = slices.DeleteFunc(next.NAT.PortMaps, match)
	return nil, d.natCommit(next)
}

func (d *Daemon) natUplinkAdd(args []string) (any, error) {
	if err := d.needRIF(args[0]); err != nil {
		return nil, err
	}
	if d.state.NAT != nil && slices.Contains(d.state.NAT.Uplinks, args[0]) {
		return nil, nil
	}
	next := d.state.clone()
	n := next.natOf()
	n.Uplinks = append(n.Uplinks, args[0])
	return nil, d.natCommit(next)
}

func (d *Daemon) natUplinkDel(args []string) (any, error) {
	if d.state.NAT == nil || !slices.Contains(d.state.NAT.Uplinks, args[0]) {
		return nil, nil
	}
	next := d.state.clone()
	next.NAT.Uplinks = slices.DeleteFunc(next.NAT.Uplinks, func(u string) bool { return u == args[0] })
	return nil, d.natCommit(next)
}

func (d *Daemon) natShow([]string) (any, error) {
	st := d.sw.NATStats()
	v := ctl.NATShowView{Masquerade: []ctl.NATMasqueradeView{}, PortMaps: []ctl.NATPortMapView{}, Uplinks: []string{},
		Enabled: st.Enabled, Flows: st.Flows, SNAT: st.SNAT, DNAT: st.DNAT, Hairpin: st.Hairpin, Translated: st.Translated,
		Refused: st.Refused}
	if st.Enabled {
		v.Conntrack = conntrackCounters(&st.Conntrack)
	}
	if n := d.state.NAT; n != nil {
		for _, m := range n.Masquerade {
			v.Masquerade = append(v.Masquerade, ctl.NATMasqueradeView{Interface: m.Interface, External: m.External})
		}
		for _, m := range n.PortMaps {
			v.PortMaps = append(v.PortMaps, ctl.NATPortMapView{Proto: m.Proto, Host: m.Host, HostPort: m.HostPort, Target: m.Target, TargetPort: m.TargetPort})
		}
		v.Uplinks = append(v.Uplinks, n.Uplinks...)
	}
	return v, nil
}

func (d *Daemon) natFlushFlows([]string) (any, error) {
	return map[string]int{"flushed": d.sw.FlushNATFlows()}, nil
}
