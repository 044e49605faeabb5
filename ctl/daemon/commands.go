package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/vswitch"
)

// DaemonVersion is reported by the version command.
const DaemonVersion = "0.1.0"

// Registry returns the daemon's commands, one handler per Spec.
func (d *Daemon) Registry() *ctl.Registry {
	handlers := map[string]func([]string) (any, error){
		"add-br": d.addBridge, "del-br": d.delBridge, "list-br": d.listBridges,
		"add-port": d.addPort, "del-port": d.delPort, "list-ports": d.listPorts, "set-port": d.setPort,
		"set-bridge": d.setBridge,
		"show":       d.show, "fdb/show": d.fdbShow, "fdb/flush": d.fdbFlush, "fdb/add": d.fdbAdd, "fdb/del": d.fdbDel,
		"port/stats": d.portStats, "show-runtime": d.showRuntime, "show-workers": d.showWorkers,
		"show-errors": d.showErrors, "version": d.version,
		"sriov/show": func(args []string) (any, error) { return d.sriovShow(args[0]) },
		"sriov/move": d.sriovMove, "sriov/restore": d.sriovRestore,
	}
	for k, v := range d.l3Handlers() {
		handlers[k] = v
	}
	for k, v := range d.observeHandlers() {
		handlers[k] = v
	}
	for k, v := range d.vxlanHandlers() {
		handlers[k] = v
	}
	r := ctl.NewRegistry()
	for _, s := range ctl.Specs {
		h, ok := handlers[s.Name]
		if !ok {
			panic("ctl: no handler for " + s.Name)
		}
		r.Register(ctl.Command{Name: s.Name, Usage: s.Usage, Help: s.Help, MinArgs: s.MinArgs, MaxArgs: s.MaxArgs,
			Run: func(_ context.Context, args []string) (any, error) {
				d.mu.Lock()
				defer d.mu.Unlock()
				return h(args)
			}})
	}
	return r
}

func (d *Daemon) addBridge(args []string) (any, error) {
	name := args[0]
	if d.state.bridge(name) != nil {
		return nil, ctl.Errorf(ctl.CodeExists, "bridge %s exists", name)
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "mac_age", "mac_limit"); err != nil {
		return nil, err
	}
	b := vswitch.Bridge{Name: name}
	if b.MACAgeSeconds, err = intOpt(opts, "mac_age", 0, 1, 1<<30); err != nil {
		return nil, err
	}
	if b.MACLimit, err = intOpt(opts, "mac_limit", 0, 1, vswitch.MaxMACLimit); err != nil {
		return nil, err
	}
	next := d.state.clone()
	next.Bridges = append(next.Bridges, b)
	return nil, d.commit(next)
}

// setBridge changes a bridge's settings: fast-path=on|off, mac_age=,
// mac_limit=.
func (d *Daemon) setBridge(args []string) (any, error) {
	if d.state.bridge(args[0]) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no bridge %s", args[0])
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "fast-path", "mac_age", "mac_limit"); err != nil {
		return nil, err
	}
	next := d.state.clone()
	b := next.bridge(args[0])
	if err := fastPathOption(&b.FastPath, opts); err != nil {
		return nil, err
	}
	if _, ok := opts["mac_age"]; ok {
		if b.MACAgeSeconds, err = intOpt(opts, "mac_age", 0, 1, 1<<30); err != nil {
			return nil, err
		}
	}
	if _, ok := opts["mac_limit"]; ok {
		if b.MACLimit, err = intOpt(opts, "mac_limit", 0, 1, vswitch.MaxMACLimit); err != nil {
			return nil, err
		}
	}
	return nil, d.commit(next)
}

// fastPathOption applies fast-path=on|off to a bridge's or port's switch
// (nil is on, the default).
func fastPathOption(dst **bool, opts map[string]string) error {
	s, ok := opts["fast-path"]
	if !ok {
		return nil
	}
	switch s {
	case "on":
		*dst = nil
	case "off":
		off := false
		*dst = &off
	default:
		return ctl.Errorf(ctl.CodeInvalid, "fast-path=%s: want on or off", s)
	}
	return nil
}

func (d *Daemon) delBridge(args []string) (any, error) {
	b := d.state.bridge(args[0])
	if b == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no bridge %s", args[0])
	}
	next := d.state.clone()
	var gone []string
	for _, p := range b.Ports {
		gone = append(gone, p.Name)
		next.removePort(p.Name)
	}
	for _, i := range rifsOn(d.state.Interfaces, args[0]) {
		next.removeRIF(i)
	}
	next.Bridges = slices.DeleteFunc(next.Bridges, func(x vswitch.Bridge) bool { return x.Name == args[0] })
	if err := d.commit(next); err != nil {
		return nil, err
	}
	for _, n := range gone {
		if err := d.detach(n, true); err != nil {
			d.log.Warn("port driver not fully removed", "port", n, "err", err)
		}
	}
	return nil, nil
}

func (d *Daemon) listBridges([]string) (any, error) {
	names := []string{}
	for _, b := range d.state.Bridges {
		names = append(names, b.Name)
	}
	sort.Strings(names)
	return names, nil
}

// parseVLANOptions applies vlan=, trunks= and mode= to a bridge port.
func parseVLANOptions(p *vswitch.Port, opts map[string]string) error {
	if s, ok := opts["mode"]; ok {
		switch vswitch.PortMode(s) {
		case vswitch.Access, vswitch.Trunk:
			p.Mode = vswitch.PortMode(s)
		default:
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

func (d *Daemon) addPort(args []string) (any, error) {
	brName, name := args[0], args[1]
	if d.state.bridge(brName) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no bridge %s", brName)
	}
	if p, _ := d.state.port(name); p != nil {
		return nil, ctl.Errorf(ctl.CodeExists, "port %s exists (in bridge %s)", name, p.Bridge)
	}
	opts, err := ctl.ParseOptions(args[2:])
	if err != nil {
		return nil, err
	}
	typ := orDefault(opts["type"], TypeAFXDP)
	if err := checkPortOptions(typ, opts); err != nil {
		return nil, err
	}
	bp := vswitch.Port{Name: name}
	portOpts := opts
	if vfOwnsVLAN[typ] {
		portOpts = maps.Clone(opts)
		delete(portOpts, "vlan")
	}
	if err := parseVLANOptions(&bp, portOpts); err != nil {
		return nil, err
	}
	if err := fastPathOption(&bp.FastPath, opts); err != nil {
		return nil, err
	}
	if err := parseSecurityOptions(&bp, opts); err != nil {
		return nil, err
	}
	spec := PortSpec{Name: name, Bridge: brName, Type: typ, Options: map[string]string{}}
	if mtu := d.state.overlayMTU(d.state.bridge(brName)); mtu > 0 && opts["mtu"] == "" && (typ == TypeVeth || typ == TypeTap) {
		opts["mtu"] = strconv.Itoa(mtu) // encapsulated frames must fit the underlay
		opts[mtuFrom] = "overlay"
	}
	for k, v := range opts {
		if k != "type" && (!slices.Contains(switchOptions, k) || (k == "vlan" && vfOwnsVLAN[typ])) {
			spec.Options[k] = v
		}
	}
	next := d.state.clone()
	b := next.bridge(brName)
	b.Ports = append(b.Ports, bp)
	next.Ports = append(next.Ports, spec)
	cfg := next.switchConfig()
	if err := cfg.Validate(); err != nil {
		return nil, asInvalid(err)
	}
	if err := d.attach(spec, false); err != nil {
		if errors.Is(err, afxdp.ErrPoolFull) {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		return nil, asInvalid(err)
	}
	// Port security: the daemon made the container's interface, so it
	// knows the one MAC that may send from it; bound unless
	// port_security=off (or macs= named others).
	if mac := d.drivers[name].stationMAC(); mac != "" && len(bp.MACs) == 0 {
		_, nbp := next.port(name)
		nbp.MACs = []string{mac}
		ncfg := next.switchConfig()
		if err := ncfg.Validate(); err != nil {
			d.detach(name, true)
			return nil, asInvalid(err)
		}
	}
	// A tap is made anew when the daemon restarts (or its MTU changes):
	// keep its MAC so neighbours' caches stay right.
	if mac := d.drivers[name].mac(); spec.Type == TypeTap && spec.Options["mac"] == "" && mac != "" {
		for i := range next.Ports {
			if next.Ports[i].Name == name {
				next.Ports[i].Options["mac"] = mac
			}
		}
	}
	if err := d.commit(next); err != nil {
		d.detach(name, true)
		return nil, err
	}
	return nil, nil
}

func (d *Daemon) delPort(args []string) (any, error) {
	if p, _ := d.state.port(args[0]); p == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no port %s", args[0])
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

func (d *Daemon) portViews(bridge string) []ctl.PortView {
	live := map[string]vswitch.PortInfo{}
	for _, pi := range d.sw.Ports() {
		live[pi.Name] = pi
	}
	var out []ctl.PortView
	for _, spec := range d.state.Ports {
		if bridge != "" && spec.Bridge != bridge {
			continue
		}
		_, bp := d.state.port(spec.Name)
		v := ctl.PortView{Name: spec.Name, Bridge: spec.Bridge, Type: spec.Type, Options: spec.Options}
		if bp != nil {
			v.Mode, v.VLAN, v.Trunks = ctl.PortMode(bp.Mode), bp.VLAN, ctl.VLANSet(bp.Trunks)
			v.MACs, v.PortSecurity = bp.MACs, len(bp.MACs) > 0 && (bp.PortSecurity == nil || *bp.PortSecurity)
			v.MACLimit = bp.MACLimit
			if v.MACLimit == 0 {
				v.MACLimit = vswitch.DefaultPortMACLimit
			}
			if v.Mode == "" {
				v.Mode = ctl.Access
			}
		}
		if pi, ok := live[spec.Name]; ok {
			v.Attached, v.Up, v.RxQueues, v.Counters, v.FastPath = true, pi.Up, queueViews(pi.RxQueues), ctl.PortCounters(pi.Counters), fastPathPortView(pi.FastPath)
			v.Learned, v.MACLimitDrops = pi.MACs, pi.MACLimitDrops
		}
		if pd, ok := d.health.down[spec.Name]; ok {
			v.Down, v.DownSince, v.LastTry = pd.Reason, pd.Since, pd.LastTry
		}
		v.Losses = d.health.losses[spec.Name]
		if dr, ok := d.drivers[spec.Name]; ok {
			if dg, ok := dr.port.(interface{ Degraded() string }); ok {
				v.Degraded = dg.Degraded()
			}
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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
	if err := ctl.CheckOptions(opts, append(switchOptions, "mtu")...); err != nil {
		return nil, err
	}
	next := d.state.clone()
	nspec, bp := next.port(args[0])
	if err := parseVLANOptions(bp, opts); err != nil {
		return nil, err
	}
	if err := fastPathOption(&bp.FastPath, opts); err != nil {
		return nil, err
	}
	if err := parseSecurityOptions(bp, opts); err != nil {
		return nil, err
	}
	if bp.Mode == vswitch.Access {
		bp.Trunks = nil
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
		if err := d.setMTU(*nspec); err != nil {
			return nil, err
		}
	}
	return nil, d.commit(next)
}

func (d *Daemon) show([]string) (any, error) {
	cfg := d.sw.Config() // defaults filled in
	v := ctl.ShowView{Bridges: []ctl.BridgeView{}, Workers: workerViews(d.sw.WorkerInfos()), FastPath: ctl.FastPathStatus(d.sw.FastPathStatus())}
	for _, b := range cfg.Bridges {
		ports := d.portViews(b.Name)
		if ports == nil {
			ports = []ctl.PortView{}
		}
		v.Bridges = append(v.Bridges, ctl.BridgeView{Name: b.Name, MACAgeSeconds: b.MACAgeSeconds, MACLimit: b.MACLimit,
			FastPath: b.FastPath == nil || *b.FastPath, Ports: ports})
	}
	return v, nil
}

func (d *Daemon) portStats(args []string) (any, error) {
	var out []ctl.PortStats
	for _, v := range d.portViews("") {
		if len(args) == 1 && v.Name != args[0] {
			continue
		}
		ps := ctl.PortStats{Name: v.Name, Counters: v.Counters, FastPath: v.FastPath}
		if dr, ok := d.drivers[v.Name]; ok {
			if s, ok := dr.port.(interface{ Stats() any }); ok {
				ps.Driver = s.Stats()
			} else {
				ps.Driver = driverStats(dr)
			}
		}
		out = append(out, ps)
	}
	if len(args) == 1 && len(out) == 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no port %s", args[0])
	}
	if out == nil {
		out = []ctl.PortStats{}
	}
	return out, nil
}

func (d *Daemon) showRuntime([]string) (any, error) { return d.sw.Runtime(), nil }

func (d *Daemon) showWorkers([]string) (any, error) { return d.sw.WorkerInfos(), nil }

func (d *Daemon) showErrors([]string) (any, error) {
	out := []ctl.ErrorCount{}
	for _, n := range d.sw.Runtime() {
		for _, dc := range n.Drops {
			out = append(out, ctl.ErrorCount{Node: n.Name, Reason: dc.Reason, Packets: dc.Packets})
		}
	}
	// Losses the pipeline cannot count: frames the kernel dropped at an
	// AF_XDP port because its fill ring was empty (the worker's buffer
	// pool ran dry, or the worker fell behind), under "port:NAME".
	names := slices.Sorted(maps.Keys(d.drivers))
	for _, name := range names {
		if p, ok := d.drivers[name].port.(*afxdp.Port); ok {
			st := p.Stats()
			if st.RxFillEmpty > 0 {
				out = append(out, ctl.ErrorCount{Node: "port:" + name, Reason: "rx-fill-ring-empty", Packets: st.RxFillEmpty})
			}
			if st.RxRingFull > 0 {
				out = append(out, ctl.ErrorCount{Node: "port:" + name, Reason: "rx-ring-full", Packets: st.RxRingFull})
			}
		}
	}
	return out, nil
}

func (d *Daemon) version([]string) (any, error) {
	return map[string]string{"daemon": DaemonVersion, "protocol": fmt.Sprint(ctl.Version)}, nil
}
