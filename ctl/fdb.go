package ctl

import (
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/vswitch"
)

func (d *Daemon) fdbShow(args []string) (any, error) {
	if d.state.bridge(args[0]) == nil {
		return nil, Errorf(CodeNotFound, "no bridge %s", args[0])
	}
	out := []vswitch.FDBEntry{}
	for _, e := range d.sw.FDB() {
		if e.Bridge == args[0] {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].VLAN != out[j].VLAN {
			return out[i].VLAN < out[j].VLAN
		}
		return out[i].MAC < out[j].MAC
	})
	return out, nil
}

func (d *Daemon) fdbFlush(args []string) (any, error) {
	bridge := ""
	if len(args) == 1 {
		bridge = args[0]
		if d.state.bridge(bridge) == nil {
			return nil, Errorf(CodeNotFound, "no bridge %s", bridge)
		}
	}
	return nil, d.sw.FlushFDB(bridge)
}

func (d *Daemon) staticArgs(args []string) (*State, *vswitch.Bridge, string, uint16, error) {
	if d.state.bridge(args[0]) == nil {
		return nil, nil, "", 0, Errorf(CodeNotFound, "no bridge %s", args[0])
	}
	hw, err := net.ParseMAC(args[1])
	if err != nil || len(hw) != 6 {
		return nil, nil, "", 0, Errorf(CodeInvalid, "%q is not a MAC address", args[1])
	}
	var vlan uint16
	for _, a := range args[2:] {
		if s, ok := strings.CutPrefix(a, "vlan="); ok {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 || v > vswitch.MaxVLAN {
				return nil, nil, "", 0, Errorf(CodeInvalid, "vlan=%s: want 0 to %d", s, vswitch.MaxVLAN)
			}
			vlan = uint16(v)
		}
	}
	next := d.state.clone()
	return &next, next.bridge(args[0]), hw.String(), vlan, nil
}

func (d *Daemon) fdbAdd(args []string) (any, error) {
	if len(args) == 4 && !strings.HasPrefix(args[3], "vlan=") {
		return nil, Errorf(CodeUsage, "usage: fdb/add BRIDGE MAC PORT|vtep=ADDR [vlan=N]")
	}
	next, b, mac, vlan, err := d.staticArgs(append(args[:2:2], args[3:]...))
	if err != nil {
		return nil, err
	}
	if hw, _ := net.ParseMAC(mac); hw[0]&1 != 0 {
		return nil, Errorf(CodeInvalid, "%s is a multicast or broadcast address: a static MAC is one station's", mac)
	}
	if mac == "00:00:00:00:00:00" {
		return nil, Errorf(CodeInvalid, "%s is the zero address: no station has it", mac)
	}
	for _, m := range b.StaticMACs {
		if m.MAC == mac && m.VLAN == vlan {
			return nil, Errorf(CodeExists, "static MAC %s in VLAN %d exists (on %s%s)", mac, vlan, m.Port, m.VTEP)
		}
	}
	st := vswitch.StaticMAC{MAC: mac, VLAN: vlan, Port: args[2]}
	if v, ok := strings.CutPrefix(args[2], "vtep="); ok {
		st.Port, st.VTEP = "", v
	}
	b.StaticMACs = append(b.StaticMACs, st)
	return nil, d.commit(*next)
}

func (d *Daemon) fdbDel(args []string) (any, error) {
	next, b, mac, vlan, err := d.staticArgs(args)
	if err != nil {
		return nil, err
	}
	n := len(b.StaticMACs)
	b.StaticMACs = slices.DeleteFunc(b.StaticMACs, func(m vswitch.StaticMAC) bool { return m.MAC == mac && m.VLAN == vlan })
	if len(b.StaticMACs) == n {
		return nil, Errorf(CodeNotFound, "no static MAC %s in VLAN %d", mac, vlan)
	}
	return nil, d.commit(*next)
}
