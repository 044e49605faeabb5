package daemon

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// fdbShow answers one page of a bridge's MAC table (vswitch.FDBPage):
// fdb/show BRIDGE [port=P] [vlan=N] [mac=M] [limit=N] [after=CURSOR]. A
// client lists a whole table by asking again with after= set to the
// previous page's next cursor until next is empty.
func (d *Daemon) fdbShow(args []string) (any, error) {
	if d.state.bridge(args[0]) == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no bridge %s", args[0])
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "port", "vlan", "mac", "limit", "after"); err != nil {
		return nil, err
	}
	q := vswitch.FDBQuery{Bridge: args[0], Port: opts["port"], After: opts["after"]}
	if q.Port != "" && !d.inBridge(args[0], q.Port) {
		return nil, ctl.Errorf(ctl.CodeNotFound, "port=%s: no port %s in bridge %s", q.Port, q.Port, args[0])
	}
	if s, ok := opts["vlan"]; ok {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > vswitch.MaxVLAN {
			return nil, ctl.Errorf(ctl.CodeInvalid, "vlan=%s: want 0 to %d", s, vswitch.MaxVLAN)
		}
		vlan := uint16(v)
		q.VLAN = &vlan
	}
	if s, ok := opts["mac"]; ok {
		hw, err := net.ParseMAC(s)
		if err != nil || len(hw) != 6 {
			return nil, ctl.Errorf(ctl.CodeInvalid, "mac=%s: not a MAC address", s)
		}
		q.MAC = hw.String()
	}
	if s, ok := opts["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > vswitch.MaxFDBPageLimit {
			return nil, ctl.Errorf(ctl.CodeInvalid, "limit=%s: want 1 to %d", s, vswitch.MaxFDBPageLimit)
		}
		q.Limit = n
	}
	page, err := d.sw.FDBPage(q)
	if errors.Is(err, vswitch.ErrInvalidQuery) {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	if err != nil {
		return nil, err
	}
	return page, nil
}

func (d *Daemon) fdbFlush(args []string) (any, error) {
	bridge := ""
	if len(args) == 1 {
		bridge = args[0]
		if d.state.bridge(bridge) == nil {
			return nil, ctl.Errorf(ctl.CodeNotFound, "no bridge %s", bridge)
		}
	}
	return nil, d.sw.FlushFDB(bridge)
}

func (d *Daemon) staticArgs(args []string) (*State, *vswitch.Bridge, string, uint16, error) {
	if d.state.bridge(args[0]) == nil {
		return nil, nil, "", 0, ctl.Errorf(ctl.CodeNotFound, "no bridge %s", args[0])
	}
	hw, err := net.ParseMAC(args[1])
	if err != nil || len(hw) != 6 {
		return nil, nil, "", 0, ctl.Errorf(ctl.CodeInvalid, "%q is not a MAC address", args[1])
	}
	var vlan uint16
	for _, a := range args[2:] {
		if s, ok := strings.CutPrefix(a, "vlan="); ok {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 || v > vswitch.MaxVLAN {
				return nil, nil, "", 0, ctl.Errorf(ctl.CodeInvalid, "vlan=%s: want 0 to %d", s, vswitch.MaxVLAN)
			}
			vlan = uint16(v)
		}
	}
	next := d.state.clone()
	return &next, next.bridge(args[0]), hw.String(), vlan, nil
}

// fdbAdd is fdb/add BRIDGE MAC PORT|vtep=ADDR [vlan=N]: the same entry
// again is a no-op; the MAC in the VLAN on another port or VTEP is
// refused (exists).
func (d *Daemon) fdbAdd(args []string) (any, error) {
	if len(args) == 4 && !strings.HasPrefix(args[3], "vlan=") {
		return nil, ctl.Errorf(ctl.CodeUsage, "usage: fdb/add BRIDGE MAC PORT|vtep=ADDR [vlan=N]")
	}
	next, b, mac, vlan, err := d.staticArgs(append(args[:2:2], args[3:]...))
	if err != nil {
		return nil, err
	}
	if hw, _ := net.ParseMAC(mac); hw[0]&1 != 0 {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s is a multicast or broadcast address: a static MAC is one station's", mac)
	}
	if mac == "00:00:00:00:00:00" {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s is the zero address: no station has it", mac)
	}
	if owner, ok := d.ownMACs(next)[mac]; ok {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s is %s's MAC: the switch holds it, no port or VTEP has it", mac, owner)
	}
	st := vswitch.StaticMAC{MAC: mac, VLAN: vlan, Port: args[2]}
	if v, ok := strings.CutPrefix(args[2], "vtep="); ok {
		st.Port, st.VTEP = "", v
	}
	for _, m := range b.StaticMACs {
		if m.MAC == mac && m.VLAN == vlan {
			if m.Port == st.Port && sameAddr(m.VTEP, st.VTEP) {
				return nil, nil // the same entry again
			}
			on := m.Port
			if m.VTEP != "" {
				on = "vtep=" + m.VTEP
			}
			return nil, ctl.Errorf(ctl.CodeExists, "static MAC %s in VLAN %d exists on %s (fdb/del it first to move it)", mac, vlan, on)
		}
	}
	if st.Port != "" {
		if err := securedElsewhere(next, st.Port, mac); err != nil {
			return nil, err
		}
	}
	b.StaticMACs = append(b.StaticMACs, st)
	return nil, d.commit(*next)
}

// fdbDel is fdb/del BRIDGE MAC [vlan=N]: no static MAC there is a no-op,
// unless the MAC is one fdb/del cannot remove (notStatic).
func (d *Daemon) fdbDel(args []string) (any, error) {
	next, b, mac, vlan, err := d.staticArgs(args)
	if err != nil {
		return nil, err
	}
	n := len(b.StaticMACs)
	b.StaticMACs = slices.DeleteFunc(b.StaticMACs, func(m vswitch.StaticMAC) bool { return m.MAC == mac && m.VLAN == vlan })
	if len(b.StaticMACs) == n {
		return nil, d.notStatic(b.Name, mac, vlan)
	}
	return nil, d.commit(*next)
}

// notStatic is fdb/del's answer for a MAC that no fdb/add made. None,
// or a learned one, is a no-op (nil): there is no static MAC to
// remove, as after an fdb/del, whose repeat must not fail because the
// station has been heard since. An entry the configuration makes, which
// fdb/show lists and fdb/del can never remove (a port's bound MAC, a
// router interface's, one the switch holds), is not-found, saying what
// it is and what removes it.
func (d *Daemon) notStatic(bridge, mac string, vlan uint16) error {
	page, err := d.sw.FDBPage(vswitch.FDBQuery{Bridge: bridge, MAC: mac, VLAN: &vlan})
	if err != nil || len(page.Entries) == 0 {
		return nil
	}
	e := page.Entries[0]
	switch {
	case e.Bound:
		return ctl.Errorf(ctl.CodeNotFound, "no static MAC %s in VLAN %d: port security binds it to port %s (set-port %s macs=... or port_security=off)", mac, vlan, e.Port, e.Port)
	case strings.HasPrefix(e.Port, "rif:"):
		return ctl.Errorf(ctl.CodeNotFound, "no static MAC %s in VLAN %d: it is router interface %s's (rif/del removes it)", mac, vlan, e.Port[len("rif:"):])
	case e.Static:
		return ctl.Errorf(ctl.CodeNotFound, "no static MAC %s in VLAN %d: the switch holds it on %s", mac, vlan, e.Port)
	}
	return nil // learned: fdb/flush forgets it
}

// sameAddr reports whether two VTEP addresses are the same ("" for none).
func sameAddr(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	return err1 == nil && err2 == nil && x.Unmap() == y.Unmap()
}

// inBridge reports whether port, as fdb/show's port= names it, can be
// one of the bridge's: one of its ports, "rif:NAME" of a router
// interface in it, or a VXLAN tunnel ("vxlan:ADDR").
func (d *Daemon) inBridge(bridge, port string) bool {
	if strings.HasPrefix(port, "vxlan:") {
		return true
	}
	if rif, ok := strings.CutPrefix(port, "rif:"); ok {
		ic := d.state.rif(rif)
		return ic != nil && ic.Bridge == bridge
	}
	ps, _ := d.state.port(port)
	return ps != nil && ps.Bridge == bridge
}

// securedElsewhere refuses a static MAC on a port with port security
// that is not one of its bound MACs (those are static already): the port
// drops every frame from any other source (l2-input src-mac-not-allowed),
// so the entry could only mislead.
func securedElsewhere(st *State, port, mac string) error {
	_, bp := st.port(port)
	if bp == nil || bp.PortSecurity != nil && !*bp.PortSecurity || len(bp.MACs) == 0 {
		return nil
	}
	for _, m := range bp.MACs {
		if hw, err := net.ParseMAC(m); err == nil && hw.String() == mac {
			return nil // the switch says it is bound already
		}
	}
	return ctl.Errorf(ctl.CodeInvalid, "%s: port %s has port security and accepts only its bound MACs (%s): bind it with set-port %s macs=..., or set port_security=off", mac, port, strings.Join(bp.MACs, ","), port)
}
