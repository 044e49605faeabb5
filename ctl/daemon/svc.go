package daemon

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/policy/nat"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The service commands: svc/add, svc/del, svc/backend-add,
// svc/backend-del, svc/drain, svc/show. Services live in State.NAT
// (vswitch.NAT.Services, beside masquerades and port maps) and are
// committed as the NAT is (natCommit): the switch validates the whole
// configuration, a VIP:port another service or a port map holds is
// CodeExists, a bad one CodeInvalid, and nothing changes. They are kept
// normalized (canonical addresses, backend port and weight explicit), so
// that the same command again finds what it would add and writes
// nothing. A named service's VIP is a DNS name in every DNS network
// (dns.go).

func (d *Daemon) svcHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"svc/add": d.svcAdd, "svc/del": d.svcDel, "svc/backend-add": d.svcBackendAdd,
		"svc/backend-del": d.svcBackendDel, "svc/drain": d.svcDrain, "svc/show": d.svcShow,
	}
}

// service returns the index of the service called name in s, or -1.
func (s *State) service(name string) int {
	if s.NAT == nil {
		return -1
	}
	return slices.IndexFunc(s.NAT.Services, func(sv vswitch.Service) bool { return sv.Name == name })
}

func (d *Daemon) svcAdd(args []string) (any, error) {
	name, err := dnsName("service name", args[0])
	if err != nil {
		return nil, err
	}
	if name == "" || strings.Contains(args[0], "=") {
		return nil, ctl.Errorf(ctl.CodeUsage, "usage: svc/add NAME proto=tcp|udp vip=ADDR port=N")
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "proto", "vip", "port"); err != nil {
		return nil, err
	}
	sv := vswitch.Service{Name: name, Proto: strings.ToLower(opts["proto"])}
	if sv.Proto != "tcp" && sv.Proto != "udp" {
		return nil, ctl.Errorf(ctl.CodeInvalid, "proto=%s: want tcp or udp", opts["proto"])
	}
	vip, err := netip.ParseAddr(opts["vip"])
	if err != nil || vip.Zone() != "" {
		return nil, ctl.Errorf(ctl.CodeInvalid, "vip=%s: not an address", opts["vip"])
	}
	sv.VIP = vip.Unmap().String()
	if sv.Port, err = parseNATPort("port", opts["port"]); err != nil {
		return nil, err
	}
	if i := d.state.service(name); i >= 0 {
		o := d.state.NAT.Services[i]
		if o.Proto == sv.Proto && o.VIP == sv.VIP && o.Port == sv.Port {
			return nil, nil
		}
		return nil, ctl.Errorf(ctl.CodeExists, "service %s is %s %s port %d (svc/del it first)", name, o.Proto, o.VIP, o.Port)
	}
	if d.state.endpointNamed(name) {
		return nil, ctl.Errorf(ctl.CodeExists, "%s is an endpoint's DNS name", name)
	}
	if err := d.serviceClash(sv, vip); err != nil {
		return nil, err
	}
	next := d.state.clone()
	n := next.natOf()
	n.Services = append(n.Services, sv)
	return nil, d.natCommit(next)
}

func (d *Daemon) svcDel(args []string) (any, error) {
	i := d.state.service(args[0])
	if i < 0 {
		return nil, nil
	}
	next := d.state.clone()
	next.NAT.Services = slices.Delete(next.NAT.Services, i, i+1)
	return nil, d.natCommit(next)
}

// backendArgs reads NAME addr=ADDR [port=N] and the extra options
// allowed: the service's index, the backend address and port (0: any),
// and the options.
func (d *Daemon) backendArgs(args []string, extra ...string) (int, netip.Addr, uint16, map[string]string, error) {
	i := d.state.service(args[0])
	if i < 0 {
		return 0, netip.Addr{}, 0, nil, ctl.Errorf(ctl.CodeNotFound, "no service %s", args[0])
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return 0, netip.Addr{}, 0, nil, err
	}
	if err := ctl.CheckOptions(opts, append([]string{"addr", "port"}, extra...)...); err != nil {
		return 0, netip.Addr{}, 0, nil, err
	}
	if opts["addr"] == "" {
		return 0, netip.Addr{}, 0, nil, ctl.Errorf(ctl.CodeUsage, "addr= is required")
	}
	a, err := netip.ParseAddr(opts["addr"])
	if err != nil || a.Zone() != "" || a.IsUnspecified() {
		return 0, netip.Addr{}, 0, nil, ctl.Errorf(ctl.CodeInvalid, "addr=%s: not a backend address", opts["addr"])
	}
	var port uint16
	if p := opts["port"]; p != "" {
		if port, err = parseNATPort("port", p); err != nil {
			return 0, netip.Addr{}, 0, nil, err
		}
	}
	return i, a.Unmap(), port, opts, nil
}

// matchBackend matches the backends at a (and port, unless 0).
func matchBackend(a netip.Addr, port uint16) func(vswitch.ServiceBackend) bool {
	return func(b vswitch.ServiceBackend) bool { return b.Addr == a.String() && (port == 0 || b.Port == port) }
}

func (d *Daemon) svcBackendAdd(args []string) (any, error) {
	i, a, port, opts, err := d.backendArgs(args, "weight")
	if err != nil {
		return nil, err
	}
	sv := d.state.NAT.Services[i]
	if port == 0 {
		port = sv.Port
	}
	b := vswitch.ServiceBackend{Addr: a.String(), Port: port, Weight: 1}
	if w := opts["weight"]; w != "" {
		n, err := strconv.ParseUint(w, 10, 32)
		if err != nil || n == 0 {
			return nil, ctl.Errorf(ctl.CodeInvalid, "weight=%s: want a positive integer (svc/drain takes a backend's new flows away)", w)
		}
		b.Weight = uint32(n)
	}
	next := d.state.clone()
	nsv := &next.NAT.Services[i]
	if j := slices.IndexFunc(nsv.Backends, matchBackend(a, port)); j >= 0 {
		if nsv.Backends[j].Weight == b.Weight {
			return nil, nil
		}
		nsv.Backends[j].Weight = b.Weight
	} else {
		if err := d.badBackend(a); err != nil {
			return nil, err
		}
		nsv.Backends = append(nsv.Backends, b)
	}
	return nil, d.natCommit(next)
}

// serviceClash refuses a service whose VIP, port and protocol another
// service holds (named, rather than by its index in the configuration),
// or that would take the switch's own DNS: port 53 at an address of a
// router interface that answers DNS.
func (d *Daemon) serviceClash(sv vswitch.Service, vip netip.Addr) error {
	if d.state.NAT != nil {
		for _, o := range d.state.NAT.Services {
			if o.Proto == sv.Proto && o.VIP == sv.VIP && o.Port == sv.Port {
				return ctl.Errorf(ctl.CodeExists, "service %s holds %s %s port %d", o.Name, o.Proto, o.VIP, o.Port)
			}
		}
	}
	if sv.Port != 53 {
		return nil
	}
	for _, n := range d.state.DNS {
		if ic := d.state.rif(n.Interface); ic != nil && hasAddr(ic, vip) {
			return ctl.Errorf(ctl.CodeExists, "vip=%s port=53: the switch answers DNS there (router interface %s; dns/disable it first)", sv.VIP, n.Interface)
		}
	}
	return nil
}

// hasAddr reports whether router interface ic has the address a.
func hasAddr(ic *vswitch.Interface, a netip.Addr) bool {
	return slices.ContainsFunc(ic.Addrs, func(s string) bool {
		p, err := netip.ParsePrefix(s)
		return err == nil && p.Addr() == a
	})
}

// badBackend refuses a new backend that cannot be one: the network or
// broadcast address of a router interface's IPv4 subnet, or a service's
// VIP (services do not chain: a flow is translated once).
func (d *Daemon) badBackend(a netip.Addr) error {
	if err := d.notSubnetEdge("addr", a.String()); err != nil {
		return err
	}
	for _, o := range d.state.NAT.Services {
		if o.VIP == a.String() {
			return ctl.Errorf(ctl.CodeInvalid, "addr=%s: the VIP of service %s; a backend is a host (services do not chain)", a, o.Name)
		}
	}
	return nil
}

func (d *Daemon) svcBackendDel(args []string) (any, error) {
	i, a, port, _, err := d.backendArgs(args)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(d.state.NAT.Services[i].Backends, matchBackend(a, port)) {
		return nil, nil
	}
	next := d.state.clone()
	nsv := &next.NAT.Services[i]
	nsv.Backends = slices.DeleteFunc(nsv.Backends, matchBackend(a, port))
	return nil, d.natCommit(next)
}

func (d *Daemon) svcDrain(args []string) (any, error) {
	on := true
	if n := len(args); n > 2 && !strings.Contains(args[n-1], "=") {
		switch args[n-1] {
		case "on":
		case "off":
			on = false
		default:
			return nil, ctl.Errorf(ctl.CodeUsage, "svc/drain: %q: want on or off", args[n-1])
		}
		args = args[:n-1]
	}
	i, a, port, _, err := d.backendArgs(args)
	if err != nil {
		return nil, err
	}
	next := d.state.clone()
	nsv := &next.NAT.Services[i]
	found, changed := false, false
	for j := range nsv.Backends {
		if b := &nsv.Backends[j]; matchBackend(a, port)(*b) {
			found, changed = true, changed || b.Drained != on
			b.Drained = on
		}
	}
	switch {
	case !found:
		return nil, ctl.Errorf(ctl.CodeNotFound, "service %s has no backend %s", args[0], backendString(a, port))
	case !changed:
		return nil, nil
	}
	return nil, d.natCommit(next)
}

func backendString(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

func (d *Daemon) svcShow(args []string) (any, error) {
	out := []ctl.SvcView{}
	if d.state.NAT == nil {
		return out, nil
	}
	stats := d.sw.ServiceStats()
	for _, sv := range d.state.NAT.Services {
		if len(args) > 0 && sv.Name != args[0] {
			continue
		}
		v := ctl.SvcView{Name: sv.Name, Proto: sv.Proto, VIP: sv.VIP, Port: sv.Port, Backends: []ctl.SvcBackendView{}}
		st := findServiceStats(stats, sv)
		if st != nil {
			v.NewFlows, v.NoBackend = st.NewFlows, st.NoBackend
		}
		for _, b := range sv.Backends {
			bv := ctl.SvcBackendView{Addr: b.Addr, Port: b.Port, Weight: b.Weight, Drained: b.Drained}
			if st != nil {
				for j, sb := range st.Service.Backends {
					if sb.Addr.String() == b.Addr && sb.Port == b.Port && j < len(st.Backends) {
						bv.NewFlows = st.Backends[j]
						if st.Size > 0 && j < len(st.Slots) {
							bv.Share = float64(st.Slots[j]) / float64(st.Size)
						}
					}
				}
			}
			v.Backends = append(v.Backends, bv)
		}
		out = append(out, v)
	}
	if len(args) > 0 && len(out) == 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no service %s", args[0])
	}
	return out, nil
}

// findServiceStats finds sv's counters by proto, VIP and port.
func findServiceStats(stats []nat.ServiceCounters, sv vswitch.Service) *nat.ServiceCounters {
	for i := range stats {
		s := &stats[i].Service
		if s.VIP.String() == sv.VIP && s.Port == sv.Port && map[uint8]string{6: "tcp", 17: "udp"}[s.Proto] == sv.Proto {
			return &stats[i]
		}
	}
	return nil
}
