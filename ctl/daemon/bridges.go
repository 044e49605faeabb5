package daemon

import (
	"slices"
	"sort"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The bridge commands: add-br, del-br, list-br, set-bridge.

// addBridge is add-br NAME [mac_age=] [mac_limit=]. The same bridge again
// is a no-op: the options given are compared with the stored bridge's
// (a default counts as its value; options not given are not compared),
// and one that differs is refused (exists), naming the stored setting
// (set-bridge changes it).
func (d *Daemon) addBridge(args []string) (any, error) {
	name := args[0]
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
	if old := d.state.bridge(name); old != nil {
		return nil, sameBridge(old, b, opts)
	}
	next := d.state.clone()
	next.Bridges = append(next.Bridges, b)
	return nil, d.commit(next)
}

// sameBridge is nil if add-br's options (opts, parsed into b) ask for
// nothing the stored bridge old does not have, else the exists error
// naming what differs.
func sameBridge(old *vswitch.Bridge, b vswitch.Bridge, opts map[string]string) error {
	for _, o := range []struct {
		key                 string
		stored, given, dflt int
	}{
		{"mac_age", old.MACAgeSeconds, b.MACAgeSeconds, vswitch.DefaultMACAge},
		{"mac_limit", old.MACLimit, b.MACLimit, vswitch.DefaultMACLimit},
	} {
		if _, ok := opts[o.key]; !ok || orDefaultInt(o.given, o.dflt) == orDefaultInt(o.stored, o.dflt) {
			continue
		}
		return ctl.Errorf(ctl.CodeExists, "bridge %s exists with %s=%d, not %s (set-bridge %s %s=%s changes it)",
			old.Name, o.key, orDefaultInt(o.stored, o.dflt), opts[o.key], old.Name, o.key, opts[o.key])
	}
	return nil
}

func orDefaultInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
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

// delBridge is del-br NAME: a bridge that is not there is a no-op (as
// svc/del, nat/map-del...), so that a teardown can be run again.
func (d *Daemon) delBridge(args []string) (any, error) {
	b := d.state.bridge(args[0])
	if b == nil {
		return nil, nil
	}
	next := d.state.clone()
	var gone []string
	for _, p := range b.Ports {
		if err := d.state.endpointPort(p.Name); err != nil {
			return nil, err
		}
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
