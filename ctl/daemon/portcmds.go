package daemon

import (
	"errors"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The port commands: add-port, del-port, list-ports, set-port, and the
// parsing of the bridge-port options they share (VLAN, fast path, port
// security). The drivers themselves are made in ports.go.

// parseVLANOptions applies vlan=, trunks= and mode= to a bridge port.
func parseVLANOptions(p *vswitch.Port, opts map[string]string) error {
	if s, ok := opts["mode"]; ok {
		switch vswitch.PortMode(s) {
		case vswitch.Access, vswitch.Trunk:
			p.Mode = vswitch.PortMode(s)
		default:
			if _, err := strconv.ParseUint(s, 8, 32); err == nil {
				return ctl.Errorf(ctl.CodeInvalid, "mode=%s: want access or trunk (the port's VLAN mode; a vhost-user socket's permissions are socket_mode=%s)", s, s)
			}
			return ctl.Errorf(ctl.CodeInvalid, "mode=%s: want access or trunk", s)
		}
	}
	if s, ok := opts["vlan"]; ok {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > vswitch.MaxVLAN {
			return ctl.Errorf(ctl.CodeInvalid, "vlan=%s: want 0 to %d", s, vswitch.MaxVLAN)
		}
		p.VLAN = uint16(v)
	}
	if s, ok := opts["trunks"]; ok {
		vs, err := parseVLANList(s)
		if err != nil {
			return err
		}
		p.Trunks = vs
		if _, set := opts["mode"]; !set {
			p.Mode = vswitch.Trunk
		}
	}
	return nil
}

// parseVLANList parses "10,20,30-40".
func parseVLANList(s string) (vswitch.VLANSet, error) {
	vs, err := vswitch.ParseVLANSet(s)
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "trunks=%s: %v", s, err)
	}
	return vs, nil
}

// parseSecurityOptions applies port_security=on|off, mac_limit=N and
// macs=MAC,... to a bridge port. macs= names the station's MACs (a
// container port's are known to the daemon and bound by default);
// port_security=off leaves them unbound.
func parseSecurityOptions(p *vswitch.Port, opts map[string]string) error {
	if s, ok := opts["port_security"]; ok {
		switch s {
		case "on":
			p.PortSecurity = nil
		case "off":
			off := false
			p.PortSecurity = &off
		default:
			return ctl.Errorf(ctl.CodeInvalid, "port_security=%s: want on or off", s)
		}
	}
	if _, ok := opts["mac_limit"]; ok {
		n, err := intOpt(opts, "mac_limit", 0, 1, vswitch.MaxMACLimit)
		if err != nil {
			return err
		}
		p.MACLimit = n
	}
	if s, ok := opts["macs"]; ok {
		if len(splitList(s)) == 0 {
			return ctl.Errorf(ctl.CodeInvalid, "macs= names no MAC: give the station's MACs (port_security=off stops binding any)")
		}
		p.MACs = nil
		for _, m := range splitList(s) {
			hw, err := net.ParseMAC(m)
			if err != nil || len(hw) != 6 {
				return ctl.Errorf(ctl.CodeInvalid, "macs=%s: %q is not a MAC address", s, m)
			}
			p.MACs = append(p.MACs, hw.String())
		}
	}
	return nil
}

// ownMACs maps the MACs the switch itself has in next (its router
// interfaces', routed endpoints' gateways included) to their owners,
// "router interface NAME". An interface stored with no MAC has the one
// the switch derived from its name, read from the running switch.
func (d *Daemon) ownMACs(next *State) map[string]string {
	own := map[string]string{}
	running := map[string]string{}
	for _, ifc := range d.sw.Config().Interfaces {
		running[ifc.Name] = ifc.MAC
	}
	for _, ifc := range next.Interfaces {
		mac := ifc.MAC
		if mac == "" {
			mac = running[ifc.Name]
		}
		if hw, err := net.ParseMAC(mac); err == nil {
			own[hw.String()] = "router interface " + ifc.Name
		}
	}
	return own
}

// checkStationMACs refuses a port's MACs (macs=) that the switch itself
// has: a station cannot be the router, and binding a router
// interface's MAC to a port (port security) took the router's entry in
// the MAC table. Multicast, zero and another port's bound MACs are the
// switch configuration's to refuse (vswitch.Config.Validate).
func (d *Daemon) checkStationMACs(next *State, p *vswitch.Port) error {
	if len(p.MACs) == 0 {
		return nil
	}
	own := d.ownMACs(next)
	for _, m := range p.MACs {
		if owner, ok := own[m]; ok {
			return ctl.Errorf(ctl.CodeInvalid, "macs=%s: %s is %s's MAC, not a station's", strings.Join(p.MACs, ","), m, owner)
		}
	}
	return nil
}

// addPort is add-port BRIDGE PORT [options]. The same port again is a
// no-op that leaves the running port alone (samePort); a port of that
// name in another bridge, of another type or with other settings is
// refused (exists).
func (d *Daemon) addPort(args []string) (any, error) {
	opts, err := ctl.ParseOptions(args[2:])
	if err != nil {
		return nil, err
	}
	if spec, bp := d.state.port(args[1]); spec != nil {
		return nil, samePort(spec, bp, args[0], opts)
	}
	next := d.state.clone()
	if err := d.stagePort(&next, args[0], args[1], opts); err != nil {
		return nil, err
	}
	if err := d.commit(next); err != nil {
		d.detach(args[1], true)
		return nil, err
	}
	return nil, nil
}

// stagePort checks a new port, makes and attaches its driver, and adds it
// to next, which the caller commits (or, on failure of anything after,
// undoes with detach(name, true)). On error nothing is attached.
//
// brName "" stages a routed port, in no bridge: the caller has put the
// router interface on it into next already.
func (d *Daemon) stagePort(next *State, brName, name string, opts map[string]string) error {
	routed := brName == ""
	if !routed && next.bridge(brName) == nil {
		return ctl.Errorf(ctl.CodeNotFound, "no bridge %s", brName)
	}
	if p, _ := next.port(name); p != nil {
		return ctl.Errorf(ctl.CodeExists, "port %s exists (in bridge %s)", name, p.Bridge)
	}
	typ := orDefault(opts["type"], TypeAFXDP)
	if err := checkPortOptions(typ, opts); err != nil {
		return err
	}
	if typ == TypeSRIOV {
		// Bad settings first (their own message), then a VF in use.
		pc, err := sriov.ParsePortOptions(name, opts)
		if err != nil {
			return ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		if err := next.vfFree(pc.PF, pc.VF, name); err != nil {
			return err
		}
	}
	bp := vswitch.Port{Name: name}
	portOpts := opts
	if vfOwnsVLAN[typ] {
		portOpts = maps.Clone(opts)
		delete(portOpts, "vlan")
	}
	if err := parseVLANOptions(&bp, portOpts); err != nil {
		return err
	}
	if err := fastPathOption(&bp.FastPath, opts); err != nil {
		return err
	}
	if err := parseSecurityOptions(&bp, opts); err != nil {
		return err
	}
	if err := d.checkStationMACs(next, &bp); err != nil {
		return err
	}
	spec := PortSpec{Name: name, Bridge: brName, Type: typ, Options: map[string]string{}}
	if mtu := next.overlayMTU(next.bridge(brName)); mtu > 0 && opts["mtu"] == "" && (typ == TypeVeth || typ == TypeTap) {
		opts["mtu"] = strconv.Itoa(mtu) // encapsulated frames must fit the underlay
		opts[mtuFrom] = "overlay"
	}
	for k, v := range opts {
		if k != "type" && (!slices.Contains(switchOptions, k) || (k == "vlan" && vfOwnsVLAN[typ])) {
			spec.Options[k] = v
		}
	}
	if typ == TypeVeth && spec.Options["io"] == "" {
		spec.Options["io"] = DefaultVethIO // stored: the port keeps it
	}
	if !routed {
		b := next.bridge(brName)
		b.Ports = append(b.Ports, bp)
	}
	next.Ports = append(next.Ports, spec)
	cfg := next.switchConfig()
	if err := cfg.Validate(); err != nil {
		return asInvalid(err)
	}
	// The caller's commit publishes the port with the configuration
	// that names it: one compile, not two.
	if err := d.attachWith(spec, false, true); err != nil {
		if errors.Is(err, afxdp.ErrPoolFull) {
			return ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		return asInvalid(err)
	}
	// Port security: the daemon made the container's interface, so it
	// knows the one MAC that may send from it; bound unless
	// port_security=off (or macs= named others).
	if mac := d.drivers[name].stationMAC(); mac != "" && len(bp.MACs) == 0 && !routed {
		_, nbp := next.port(name)
		nbp.MACs = []string{mac}
		if err := d.checkStationMACs(next, nbp); err != nil {
			d.detach(name, true)
			return err
		}
		ncfg := next.switchConfig()
		if err := ncfg.Validate(); err != nil {
			d.detach(name, true)
			return asInvalid(err)
		}
	}
	// The container's interface is made anew later — a tap at every
	// start (or MTU change), a veth whose pair vanished, also while the
	// daemon was down — and must come back with the MAC it has now: port
	// security binds it and neighbours cache it. It is stored as mac=,
	// the option a user gives for the same (a user's own mac= is kept),
	// so every later make of the port takes it with no new field.
	if mac := d.drivers[name].stationMAC(); (typ == TypeTap || typ == TypeVeth) && spec.Options["mac"] == "" && mac != "" {
		for i := range next.Ports {
			if next.Ports[i].Name == name {
				next.Ports[i].Options["mac"] = mac
			}
		}
	}
	return nil
}

// delPort is del-port PORT: a port that is not there is a no-op (as
// del-br), so that a teardown can be run again.
func (d *Daemon) delPort(args []string) (any, error) {
	if p, _ := d.state.port(args[0]); p == nil {
		return nil, nil
	}
	if err := d.state.endpointPort(args[0]); err != nil {
		return nil, err
	}
	next := d.state.clone()
	next.removePort(args[0])
	if err := d.commit(next); err != nil {
		return nil, err
	}
	if err := d.detach(args[0], true); err != nil {
		d.log.Warn("port driver not fully removed", "port", args[0], "err", err)
	}
	return nil, nil
}

func (d *Daemon) listPorts(args []string) (any, error) {
	if d.state.bridge(args[0]) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no bridge %s", args[0])
	}
	names := []string{}
	for _, v := range d.portViews(args[0]) {
		names = append(names, v.Name)
	}
	return names, nil
}

func (d *Daemon) setPort(args []string) (any, error) {
	spec, _ := d.state.port(args[0])
	if spec == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no port %s", args[0])
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, append(append(switchOptions, "mtu"), guardOptions...)...); err != nil {
		return nil, err
	}
	next := d.state.clone()
	nspec, bp := next.port(args[0])
	if bp == nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "port %s is a routed endpoint's port (in no bridge): its settings come from the endpoint", args[0])
	}
	if err := parseVLANOptions(bp, opts); err != nil {
		return nil, err
	}
	if err := fastPathOption(&bp.FastPath, opts); err != nil {
		return nil, err
	}
	if err := parseSecurityOptions(bp, opts); err != nil {
		return nil, err
	}
	if err := setGuardOptions(nspec, opts); err != nil {
		return nil, err
	}
	if _, ok := opts["macs"]; ok || opts["port_security"] == "on" {
		if err := d.checkStationMACs(&next, bp); err != nil {
			return nil, err
		}
	}
	if bp.Mode == vswitch.Access {
		if _, ok := opts["trunks"]; ok {
			return nil, ctl.Errorf(ctl.CodeInvalid, "trunks=%s: an access port carries no trunk VLANs", opts["trunks"])
		}
		bp.Trunks = nil // mode=access drops the port's trunks
	}
	if m, ok := opts["mtu"]; ok {
		if maxMTU(nspec.Type) == 0 {
			return nil, ctl.Errorf(ctl.CodeInvalid, "mtu=%s: a %s port's MTU is not set by the switch", m, nspec.Type)
		}
		if _, err := intOpt(opts, "mtu", 0, 68, maxMTU(nspec.Type)); err != nil {
			return nil, err
		}
		if nspec.Options == nil { // a port added with no options has none stored
			nspec.Options = map[string]string{}
		}
		nspec.Options["mtu"] = m
		delete(nspec.Options, mtuFrom) // the user's from now on
		if err := d.setMTU(*spec, *nspec); err != nil {
			return nil, err
		}
		if err := d.commit(next); err != nil {
			if rerr := d.setMTU(*nspec, *spec); rerr != nil { // put the interfaces back as stored
				d.log.Warn("port MTU not put back after a refused change", "port", spec.Name, "err", rerr)
			}
			return nil, err
		}
		return nil, nil
	}
	return nil, d.commit(next)
}

// endpointPort is an error if port is an endpoint's: endpoint/del
// removes it (with its address), not del-port or del-br, which would
// leave the endpoint without its port.
func (s *State) endpointPort(port string) error {
	for _, ep := range s.Endpoints {
		if ep.Port == port {
			return ctl.Errorf(ctl.CodeInvalid, "port %s is endpoint %s/%s/%s's: endpoint/del (or the container runtime's delete) removes it with its address", port, ep.Network, ep.ContainerID, ep.IfName)
		}
	}
	return nil
}

// samePort is nil if add-port BRIDGE NAME opts asks for the port spec
// (bp: its bridge port) as it is stored, else the exists error naming
// the first difference. The bridge and the type (default afxdp) are
// always compared; of the options only those given, each against the
// stored value (a default counts as its value): an option not given is
// not compared, so the options the daemon stores itself — a veth's or
// tap's container MAC as mac=, a veth's io=, an overlay bridge's mtu=,
// the bound MAC of port security — match when a repeated add-port leaves
// them out. Bad options are refused as add-port refuses them.
func samePort(spec *PortSpec, bp *vswitch.Port, brName string, opts map[string]string) error {
	typ := orDefault(opts["type"], TypeAFXDP)
	if err := checkPortOptions(typ, opts); err != nil {
		return err
	}
	if spec.Bridge == "" || bp == nil {
		return ctl.Errorf(ctl.CodeExists, "port %s exists, a routed endpoint's port (in no bridge)", spec.Name)
	}
	if spec.Bridge != brName {
		return ctl.Errorf(ctl.CodeExists, "port %s exists in bridge %s (del-port it first to move it)", spec.Name, spec.Bridge)
	}
	if spec.Type != typ {
		return ctl.Errorf(ctl.CodeExists, "port %s exists in bridge %s with type=%s, not %s (del-port it first to make it anew)", spec.Name, spec.Bridge, spec.Type, typ)
	}
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if k == "type" {
			continue
		}
		v := opts[k]
		stored, given, err := portOptionValues(spec, bp, k, v)
		if err != nil {
			return err
		}
		if stored == given {
			continue
		}
		has := "with " + k + "=" + stored
		if stored == "" {
			has = "without " + k + "="
		}
		fix := "del-port it first to make it anew"
		if k != "vlan" || !vfOwnsVLAN[spec.Type] {
			if slices.Contains(switchOptions, k) || slices.Contains(guardOptions, k) || k == "mtu" && maxMTU(spec.Type) > 0 {
				fix = "set-port " + spec.Name + " " + k + "=" + v + " changes it"
			}
		}
		return ctl.Errorf(ctl.CodeExists, "port %s exists in bridge %s %s, not %s=%s (%s)", spec.Name, spec.Bridge, has, k, v, fix)
	}
	return nil
}

// portOptionValues are the stored value of add-port option k and the
// given one, v, in one spelling each, for samePort to compare.
// Switch options are applied to a copy of the bridge port and read back
// from it, so that each is spelled (and checked) as the switch has it.
func portOptionValues(spec *PortSpec, bp *vswitch.Port, k, v string) (stored, given string, err error) {
	if slices.Contains(switchOptions, k) && (k != "vlan" || !vfOwnsVLAN[spec.Type]) {
		p := *bp
		one := map[string]string{k: v}
		if err := parseVLANOptions(&p, one); err != nil {
			return "", "", err
		}
		if err := fastPathOption(&p.FastPath, one); err != nil {
			return "", "", err
		}
		if err := parseSecurityOptions(&p, one); err != nil {
			return "", "", err
		}
		return switchOptionValue(bp, k), switchOptionValue(&p, k), nil
	}
	stored = spec.Options[k]
	switch k {
	case "io":
		if spec.Type == TypeVeth {
			stored = orDefault(stored, "afxdp") // stored before DefaultVethIO (makePort)
			v = orDefault(v, DefaultVethIO)
		}
	case "ra_guard":
		stored, v = orDefault(stored, "on"), orDefault(v, "on")
	case "mtu":
		if maxMTU(spec.Type) > 0 && spec.Type != TypeAFXDP {
			stored, v = orDefault(stored, "1500"), orDefault(v, "1500")
		}
	case "mac":
		if hw, err := net.ParseMAC(v); err == nil {
			v = hw.String()
		}
		if hw, err := net.ParseMAC(stored); err == nil {
			stored = hw.String()
		}
	case "ip", "gw", "routes", "allowed_ips":
		stored, v = strings.Join(splitList(stored), ","), strings.Join(splitList(v), ",")
	}
	if a, err := strconv.Atoi(stored); err == nil {
		if b, err := strconv.Atoi(v); err == nil && a == b {
			v = stored
		}
	}
	return stored, v, nil
}

// switchOptionValue spells a bridge port's setting k as add-port takes
// it, defaults included.
func switchOptionValue(p *vswitch.Port, k string) string {
	onOff := func(b *bool) string {
		if b != nil && !*b {
			return "off"
		}
		return "on"
	}
	switch k {
	case "vlan":
		return strconv.Itoa(int(p.VLAN))
	case "trunks":
		return p.Trunks.String()
	case "mode":
		return orDefault(string(p.Mode), string(vswitch.Access))
	case "fast-path":
		return onOff(p.FastPath)
	case "port_security":
		return onOff(p.PortSecurity)
	case "mac_limit":
		return strconv.Itoa(orDefaultInt(p.MACLimit, vswitch.DefaultPortMACLimit))
	case "macs":
		return strings.Join(slices.Sorted(slices.Values(p.MACs)), ",")
	}
	return ""
}
