package daemon

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The VXLAN commands: the local VTEP and, per bridge, the VNIs and their
// remote VTEPs. Like every configuration they are stored before the
// command returns.

func (d *Daemon) vxlanHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"vtep/set": d.vtepSet, "vtep/del": d.vtepDel,
		"vni/add": d.vniAdd, "vni/del": d.vniDel, "vni/add-remote": d.vniAddRemote, "vni/del-remote": d.vniDelRemote,
		"vni/show": d.vniShow,
	}
}

func (d *Daemon) vtepSet(args []string) (any, error) {
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "port", "ttl", "df"); err != nil {
		return nil, err
	}
	v := &vswitch.VTEP{Addr: args[0]}
	port, err := intOpt(opts, "port", 0, 1, 65535)
	if err != nil {
		return nil, err
	}
	ttl, err := intOpt(opts, "ttl", 0, 1, 255)
	if err != nil {
		return nil, err
	}
	v.Port, v.TTL = uint16(port), uint8(ttl)
	switch opts["df"] {
	case "", "off":
	case "on":
		v.DF = true
	default:
		return nil, ctl.Errorf(ctl.CodeInvalid, "df=%s: want on or off", opts["df"])
	}
	next := d.state.clone()
	next.VTEP = v
	return nil, d.commitOverlay(next)
}

func (d *Daemon) vtepDel([]string) (any, error) {
	if d.state.VTEP == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no VTEP is set")
	}
	for _, b := range d.state.Bridges {
		if len(b.VXLAN) > 0 {
			return nil, ctl.Errorf(ctl.CodeInvalid, "bridge %s carries VNIs: vni/del them first", b.Name)
		}
	}
	next := d.state.clone()
	next.VTEP = nil
	return nil, d.commit(next)
}

// vniArgs parses BRIDGE VNI and finds both in a copy of the state.
func (d *Daemon) vniArgs(args []string) (*State, *vswitch.Bridge, int, uint32, error) {
	next := d.state.clone()
	b := next.bridge(args[0])
	if b == nil {
		return nil, nil, 0, 0, ctl.Errorf(ctl.CodeNotFound, "no bridge %s", args[0])
	}
	n, err := strconv.ParseUint(args[1], 10, 32)
	if err != nil || n < 1 || n > vswitch.MaxVNI {
		return nil, nil, 0, 0, ctl.Errorf(ctl.CodeInvalid, "%s: want a VNI from 1 to %d", args[1], vswitch.MaxVNI)
	}
	i := slices.IndexFunc(b.VXLAN, func(v vswitch.VNI) bool { return v.VNI == uint32(n) })
	return &next, b, i, uint32(n), nil
}

func (d *Daemon) vniAdd(args []string) (any, error) {
	next, b, i, vni, err := d.vniArgs(args)
	if err != nil {
		return nil, err
	}
	if i >= 0 {
		return nil, ctl.Errorf(ctl.CodeExists, "bridge %s already carries VNI %d", b.Name, vni)
	}
	for _, o := range d.state.Bridges {
		if o.Name != b.Name && slices.ContainsFunc(o.VXLAN, func(n vswitch.VNI) bool { return n.VNI == vni }) {
			return nil, ctl.Errorf(ctl.CodeExists, "VNI %d is bridge %s's already (a VNI is one bridge's)", vni, o.Name)
		}
	}
	opts, err := ctl.ParseOptions(args[2:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "vlan", "remotes"); err != nil {
		return nil, err
	}
	vlan, err := intOpt(opts, "vlan", 0, 0, vswitch.MaxVLAN)
	if err != nil {
		return nil, err
	}
	b.VXLAN = append(b.VXLAN, vswitch.VNI{VNI: vni, VLAN: uint16(vlan), Remotes: splitList(opts["remotes"])})
	return nil, d.commitOverlay(*next)
}

func (d *Daemon) vniDel(args []string) (any, error) {
	next, b, i, vni, err := d.vniArgs(args)
	if err != nil {
		return nil, err
	}
	if i < 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "bridge %s carries no VNI %d", b.Name, vni)
	}
	vlan := b.VXLAN[i].VLAN
	b.VXLAN = slices.Delete(b.VXLAN, i, i+1)
	b.StaticMACs = slices.DeleteFunc(b.StaticMACs, func(m vswitch.StaticMAC) bool { return m.VTEP != "" && m.VLAN == vlan })
	return nil, d.commitOverlay(*next)
}

func (d *Daemon) vniAddRemote(args []string) (any, error) {
	next, b, i, vni, err := d.vniArgs(args)
	if err != nil {
		return nil, err
	}
	if i < 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "bridge %s carries no VNI %d", b.Name, vni)
	}
	a, err := netip.ParseAddr(args[2])
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: not an address", args[2])
	}
	if slices.Contains(b.VXLAN[i].Remotes, a.String()) {
		return nil, ctl.Errorf(ctl.CodeExists, "VNI %d already has remote %s", vni, a)
	}
	b.VXLAN[i].Remotes = append(b.VXLAN[i].Remotes, a.String())
	return nil, d.commit(*next)
}

func (d *Daemon) vniDelRemote(args []string) (any, error) {
	next, b, i, vni, err := d.vniArgs(args)
	if err != nil {
		return nil, err
	}
	if i < 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "bridge %s carries no VNI %d", b.Name, vni)
	}
	a, err := netip.ParseAddr(args[2])
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: not an address", args[2])
	}
	n := len(b.VXLAN[i].Remotes)
	b.VXLAN[i].Remotes = slices.DeleteFunc(b.VXLAN[i].Remotes, func(r string) bool { return r == a.String() })
	if len(b.VXLAN[i].Remotes) == n {
		return nil, ctl.Errorf(ctl.CodeNotFound, "VNI %d has no remote %s", vni, a)
	}
	vlan := b.VXLAN[i].VLAN
	b.StaticMACs = slices.DeleteFunc(b.StaticMACs, func(m vswitch.StaticMAC) bool { return m.VTEP == a.String() && m.VLAN == vlan })
	return nil, d.commit(*next)
}

func (d *Daemon) vniShow([]string) (any, error) {
	cfg := d.sw.Config()
	v := ctl.VXLANView{VTEP: vtepView(cfg.VTEP), VNIs: []ctl.VNIView{}}
	for _, b := range cfg.Bridges {
		for _, n := range b.VXLAN {
			v.VNIs = append(v.VNIs, ctl.VNIView{Bridge: b.Name, VNI: ctl.VNI(n)})
		}
	}
	return v, nil
}

// overlayMTU is the default MTU of a container port on bridge b: lower
// than 1500 by the VXLAN overhead when the bridge carries a VNI, so that
// encapsulated frames fit a 1500-byte underlay; 0 otherwise.
func (s *State) overlayMTU(b *vswitch.Bridge) int {
	if b == nil || len(b.VXLAN) == 0 {
		return 0
	}
	if s.VTEP != nil {
		if a, err := netip.ParseAddr(s.VTEP.Addr); err == nil && a.Unmap().Is6() {
			return vswitch.OverlayMTU6
		}
	}
	return vswitch.OverlayMTU
}

// mtuFrom marks a container port whose MTU the daemon chose from its
// bridge's overlay (PortSpec.Options["mtu_from"] = "overlay"), rather than
// the user: it follows the overlay when the VTEP changes address family or
// the bridge gains or loses its VNIs. An explicit mtu= (add-port, set-port)
// removes the mark.
const mtuFrom = "mtu_from"

// commitOverlay commits next, a change of the VTEP or of a bridge's VNIs,
// and then brings the MTU of every container port that follows its
// bridge's overlay to the overlay's MTU (1450 over IPv4, 1430 over IPv6,
// 1500 with no VNI left). Each such port blinks once as it is re-attached.
func (d *Daemon) commitOverlay(next State) error {
	var changed []string
	for i := range next.Ports {
		spec := &next.Ports[i]
		if spec.Type != TypeVeth && spec.Type != TypeTap {
			continue
		}
		if _, given := spec.Options["mtu"]; given && spec.Options[mtuFrom] != "overlay" {
			continue // the user's
		}
		want := next.overlayMTU(next.bridge(spec.Bridge))
		cur, _ := strconv.Atoi(spec.Options["mtu"])
		switch {
		case want == 0 && spec.Options[mtuFrom] == "overlay":
			delete(spec.Options, mtuFrom)
			spec.Options["mtu"] = "1500"
		case want != 0 && want != cur:
			spec.Options[mtuFrom] = "overlay"
			spec.Options["mtu"] = strconv.Itoa(want)
		default:
			continue
		}
		changed = append(changed, spec.Name)
	}
	before := map[string]PortSpec{}
	for _, name := range changed {
		if spec, _ := d.state.port(name); spec != nil {
			before[name] = *spec
		}
	}
	if err := d.commit(next); err != nil {
		return err
	}
	for _, name := range changed {
		spec, _ := d.state.port(name)
		if err := d.setMTU(before[name], *spec); err != nil {
			d.log.Warn("port MTU not changed to follow the overlay", "port", name, "mtu", spec.Options["mtu"], "err", err)
		} else {
			d.log.Info("port MTU follows the overlay", "port", name, "mtu", spec.Options["mtu"])
		}
	}
	return nil
}
