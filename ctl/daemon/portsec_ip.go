package daemon

import (
	"slices"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The IP source guard and RA guard of ports with port security
// (vswitch.Port.IPs, AllowedIPs, RAGuard): the daemon knows a container
// port's addresses — its ip= option, which endpoint/add sets too, and an
// endpoint's addresses when the runtime configures the container end
// (peer=here) — and hands them to the switch, which then drops what the
// port sends from any other source. They are derived each time the
// configuration is made, never stored in the bridge ports: an address
// changed with the port changes the guard with no bookkeeping.
//
// allowed_ips=ADDR|CIDR,... (more sources the port may use, as
// OpenStack's allowed address pairs) and ra_guard=on|off (off: the port
// may send IPv6 router advertisements and redirects) are add-port
// options stored with the port's options, next to the ip= they extend.

// guardOptions are the add-port options of the port guards.
var guardOptions = []string{"allowed_ips", "ra_guard"}

// checkGuardOptions checks the values of the guard options in opts (the
// addresses are checked with the configuration, which names the port).
func checkGuardOptions(opts map[string]string) error {
	switch v, ok := opts["ra_guard"]; {
	case !ok, v == "on", v == "off":
	default:
		return ctl.Errorf(ctl.CodeInvalid, "ra_guard=%s: want on or off", v)
	}
	return nil
}

// setGuardOptions applies allowed_ips= and ra_guard= of a set-port to the
// port's stored options: allowed_ips= with no address clears the list,
// ra_guard=on (the default) is stored as no option.
func setGuardOptions(spec *PortSpec, opts map[string]string) error {
	if err := checkGuardOptions(opts); err != nil {
		return err
	}
	for _, k := range guardOptions {
		v, ok := opts[k]
		if !ok {
			continue
		}
		if spec.Options == nil {
			spec.Options = map[string]string{}
		}
		if len(splitList(v)) == 0 || k == "ra_guard" && v == "on" {
			delete(spec.Options, k)
		} else {
			spec.Options[k] = v
		}
	}
	return nil
}

// switchBridges are the bridges as the switch gets them: each port with
// the addresses the daemon knows for it and its guard options. The
// state's own bridges are not changed.
func (s *State) switchBridges() []vswitch.Bridge {
	specs := make(map[string]*PortSpec, len(s.Ports))
	for i := range s.Ports {
		specs[s.Ports[i].Name] = &s.Ports[i]
	}
	var epAddrs map[string][]string
	for _, ep := range s.Endpoints {
		if !ep.Routed && ep.Port != "" && len(ep.Addrs) > 0 {
			if epAddrs == nil {
				epAddrs = map[string][]string{}
			}
			epAddrs[ep.Port] = append(epAddrs[ep.Port], ep.Addrs...)
		}
	}
	out := slices.Clone(s.Bridges)
	for bi := range out {
		b := &out[bi]
		b.Ports = slices.Clone(b.Ports)
		for pi := range b.Ports {
			p := &b.Ports[pi]
			spec := specs[p.Name]
			if spec == nil {
				continue
			}
			// An endpoint's port (CNI, Docker, endpoint/add: a
			// container) is held to its addresses. A port made by
			// add-port is not: what its ip= configures may be a router
			// (an uplink, the outside world) that forwards other
			// sources; allowed_ips= holds it to that list and its own
			// ip= addresses (without them it could not even claim its
			// address in ARP).
			allowed := splitList(spec.Options["allowed_ips"])
			var ips []string
			if eps, ok := epAddrs[p.Name]; ok || len(allowed) > 0 {
				for _, a := range append(splitList(spec.Options["ip"]), eps...) {
					if !slices.Contains(ips, a) {
						ips = append(ips, a)
					}
				}
			}
			p.IPs = ips
			p.AllowedIPs = allowed
			if spec.Options["ra_guard"] == "off" {
				off := false
				p.RAGuard = &off
			}
		}
	}
	return out
}
