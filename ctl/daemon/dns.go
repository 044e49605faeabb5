package daemon

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/dns"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The DNS commands: dns/enable, dns/disable, dns/show, endpoint/set.
// State.DNS lists the router interfaces whose networks have a resolver
// (vswitch.Config.DNS: the switch punts their UDP/53 queries to the
// daemon's handler, a dns.Resolver, naming the network by the interface).
// The records are not stored: they follow from the State. Each DNS
// network holds the named endpoints with an address in one of the
// interface's subnets (their addresses there) and every named service
// (its VIP, unless it is 0.0.0.0 or ::). After every commit, and at
// start, syncDNS rebuilds each network's records and republishes those
// that changed (dns.Registry.SetNetwork), so names follow endpoints and
// services as they come and go. A service's name wins over an endpoint
// of the same name (svc/add and endpoint/set refuse the clash; a
// platform's endpoint/add does not fail for it).

// DNSNetwork is one DNS-enabled router interface as stored.
type DNSNetwork struct {
	Interface string `json:"interface"`
	// Domain: "" is INTERFACE.vecswitch.
	Domain string `json:"domain,omitempty"`
	// Upstreams are ADDR:PORT; none: foreign names are refused.
	Upstreams []string `json:"upstreams,omitempty"`
}

// dnsNameRE is a host name: dotted labels of letters, digits, '-' and
// '_', in lower case.
var dnsNameRE = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$`)

// dnsName checks and lower-cases a DNS name ("" stays "").
func dnsName(field, s string) (string, error) {
	n := strings.ToLower(s)
	if n != "" && (len(n) > 200 || !dnsNameRE.MatchString(n)) {
		return "", ctl.Errorf(ctl.CodeInvalid, "%s %q: want a DNS name (letters, digits, '-', '_', dotted labels)", field, s)
	}
	return n, nil
}

func (d *Daemon) dnsHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"dns/enable": d.dnsEnable, "dns/disable": d.dnsDisable, "dns/show": d.dnsShow,
	}
}

// startDNS makes the registry and resolver, publishes the State's
// records and sets the switch's DNS handler.
func (d *Daemon) startDNS() {
	d.dnsReg = dns.NewRegistry()
	d.resolver = dns.New(d.dnsReg, dns.Config{})
	d.dnsBuilt = map[string]string{}
	d.syncDNS()
	res := d.resolver
	d.sw.SetDNSHandler(func(network string, q []byte, tcp bool, reply func([]byte)) {
		tr := dns.UDP
		if tcp {
			tr = dns.TCP
		}
		res.Handle(network, q, tr, reply)
	})
}

// stopDNS ends the forwards in flight; the switch is closed already.
func (d *Daemon) stopDNS() {
	if d.resolver != nil {
		d.resolver.Close()
	}
}

func (s *State) dnsConfig() *vswitch.DNS {
	if len(s.DNS) == 0 {
		return nil
	}
	c := &vswitch.DNS{}
	for _, n := range s.DNS {
		c.Interfaces = append(c.Interfaces, n.Interface)
	}
	return c
}

// dropDNS disables DNS on a router interface being removed.
func (s *State) dropDNS(iface string) {
	s.DNS = slices.DeleteFunc(s.DNS, func(n DNSNetwork) bool { return n.Interface == iface })
	if len(s.DNS) == 0 {
		s.DNS = nil // as stored and replayed
	}
}

// endpointNamed reports whether an endpoint has DNS name name.
func (s *State) endpointNamed(name string) bool {
	return slices.ContainsFunc(s.Endpoints, func(e ctl.EndpointView) bool { return e.Name == name })
}

// dnsNetworks builds every DNS network's records from s.
func (s *State) dnsNetworks() map[string]dns.Network {
	out := map[string]dns.Network{}
	svcs := map[string][]netip.Addr{}
	if s.NAT != nil {
		for _, sv := range s.NAT.Services {
			if a, err := netip.ParseAddr(sv.VIP); err == nil && sv.Name != "" && !a.IsUnspecified() {
				svcs[sv.Name] = append(svcs[sv.Name], a)
			}
		}
	}
	for _, dn := range s.DNS {
		n := dns.Network{Domain: dn.Domain, Endpoints: map[string][]netip.Addr{}, Services: svcs}
		for _, u := range dn.Upstreams {
			if ap, err := netip.ParseAddrPort(u); err == nil {
				n.Upstreams = append(n.Upstreams, ap)
			}
		}
		var subnets []netip.Prefix
		if ifc := s.rif(dn.Interface); ifc != nil {
			for _, a := range ifc.Addrs {
				if p, err := netip.ParsePrefix(a); err == nil {
					subnets = append(subnets, p.Masked())
				}
			}
		}
		for _, ep := range s.Endpoints {
			if ep.Name == "" || svcs[ep.Name] != nil {
				continue
			}
			for _, a := range ep.Addrs {
				p, err := netip.ParsePrefix(a)
				if err == nil && slices.ContainsFunc(subnets, func(sn netip.Prefix) bool { return sn.Contains(p.Addr()) }) {
					n.Endpoints[ep.Name] = append(n.Endpoints[ep.Name], p.Addr())
				}
			}
		}
		out[dn.Interface] = n
	}
	return out
}

// syncDNS publishes the records of the State's DNS networks that
// changed since the last call and deletes the networks no longer there.
// Caller holds mu (or is New).
func (d *Daemon) syncDNS() {
	if d.dnsReg == nil {
		return
	}
	want := d.state.dnsNetworks()
	for name := range d.dnsBuilt {
		if _, ok := want[name]; !ok {
			d.dnsReg.DeleteNetwork(name)
			delete(d.dnsBuilt, name)
		}
	}
	for name, n := range want {
		key := fmt.Sprintf("%v", n) // maps print sorted
		if d.dnsBuilt[name] == key {
			continue
		}
		if err := d.dnsReg.SetNetwork(name, n); err != nil {
			d.log.Error("DNS records not published", "interface", name, "err", err)
			continue
		}
		d.dnsBuilt[name] = key
	}
}

func (d *Daemon) dnsEnable(args []string) (any, error) {
	if err := d.needRIF(args[0]); err != nil {
		return nil, err
	}
	if err := d.dnsPortFree(args[0]); err != nil {
		return nil, err
	}
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "domain", "upstream"); err != nil {
		return nil, err
	}
	dn := DNSNetwork{Interface: args[0]}
	if dn.Domain, err = dnsName("domain", strings.TrimSuffix(opts["domain"], ".")); err != nil {
		return nil, err
	}
	if dn.Domain != "" {
		dn.Domain += "."
	}
	var ups []netip.AddrPort
	for _, u := range splitList(opts["upstream"]) {
		ap, err := parseUpstream(u)
		if err != nil {
			return nil, err
		}
		ups = append(ups, ap)
		dn.Upstreams = append(dn.Upstreams, ap.String())
	}
	if err := dns.NewRegistry().SetNetwork(dn.Interface, dns.Network{Domain: dn.Domain, Upstreams: ups}); err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	i := slices.IndexFunc(d.state.DNS, func(n DNSNetwork) bool { return n.Interface == dn.Interface })
	if i >= 0 && d.state.DNS[i].Domain == dn.Domain && slices.Equal(d.state.DNS[i].Upstreams, dn.Upstreams) {
		return nil, nil
	}
	next := d.state.clone()
	if i >= 0 {
		next.DNS[i] = dn
	} else {
		next.DNS = append(next.DNS, dn)
	}
	return nil, d.commit(next)
}

// parseUpstream reads ADDR, ADDR:PORT or [ADDR6]:PORT (port 53 if none).
func parseUpstream(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return ap, ctl.Errorf(ctl.CodeInvalid, "upstream=%s: want ADDR or ADDR:PORT", s)
		}
		ap = netip.AddrPortFrom(a, 53)
	}
	if ap.Port() == 0 || ap.Addr().IsUnspecified() || ap.Addr().Zone() != "" {
		return ap, ctl.Errorf(ctl.CodeInvalid, "upstream=%s: want an address and a port 1-65535", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func (d *Daemon) dnsDisable(args []string) (any, error) {
	if !slices.ContainsFunc(d.state.DNS, func(n DNSNetwork) bool { return n.Interface == args[0] }) {
		return nil, nil
	}
	next := d.state.clone()
	next.dropDNS(args[0])
	return nil, d.commit(next)
}

func (d *Daemon) dnsShow([]string) (any, error) {
	st := d.sw.DNSStats()
	v := ctl.DNSShowView{Networks: []ctl.DNSNetworkView{}, Resolver: d.resolver.Stats(),
		Punt: ctl.DNSPuntView{Punted: st.Punted, Replies: st.Replies, ReplyDrops: st.ReplyDrops, NoHandler: st.NoHandler, Malformed: st.Malformed,
			TCPConnections: st.TCPConnections, TCPAccepted: st.TCPAccepted, TCPRefused: st.TCPRefused, TCPResets: st.TCPResets,
			TCPRetransmits: st.TCPRetransmits, TCPQueries: st.TCPQueries}}
	for _, dn := range d.state.DNS {
		nv := ctl.DNSNetworkView{Interface: dn.Interface, Domain: dn.Domain, Upstreams: dn.Upstreams, Names: []ctl.DNSNameView{}}
		if nv.Domain == "" {
			nv.Domain = dn.Interface + "." + dns.DefaultDomainSuffix
		}
		n, _ := d.dnsReg.Network(dn.Interface)
		for kind, m := range map[string]map[string][]netip.Addr{"endpoint": n.Endpoints, "service": n.Services} {
			for name, addrs := range m {
				nm := ctl.DNSNameView{Name: name, Kind: kind}
				for _, a := range addrs {
					nm.Addrs = append(nm.Addrs, a.String())
				}
				nv.Names = append(nv.Names, nm)
			}
		}
		slices.SortFunc(nv.Names, func(a, b ctl.DNSNameView) int { return strings.Compare(a.Name, b.Name) })
		v.Networks = append(v.Networks, nv)
	}
	return v, nil
}

// endpointSet names an endpoint (by port) or a container's endpoints.
func (d *Daemon) endpointSet(args []string) (any, error) {
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "name"); err != nil {
		return nil, err
	}
	name, err := dnsName("name", opts["name"])
	if err != nil {
		return nil, err
	}
	if name != "" && d.state.service(name) >= 0 {
		return nil, ctl.Errorf(ctl.CodeExists, "%s is a service's name", name)
	}
	next := d.state.clone()
	found, changed := false, false
	for i := range next.Endpoints {
		if e := &next.Endpoints[i]; e.Port == args[0] || e.ContainerID == args[0] {
			found, changed = true, changed || e.Name != name
			e.Name = name
		}
	}
	switch {
	case !found:
		return nil, ctl.Errorf(ctl.CodeNotFound, "no endpoint with port or container %s", args[0])
	case !changed:
		return nil, nil
	}
	return nil, d.commit(next)
}

// dnsPortFree refuses to answer DNS on a router interface one of whose
// addresses a service holds at port 53 (svc/add refuses the other
// order): the service would take the queries.
func (d *Daemon) dnsPortFree(iface string) error {
	if d.state.NAT == nil {
		return nil
	}
	ic := d.state.rif(iface)
	for _, sv := range d.state.NAT.Services {
		if vip, err := netip.ParseAddr(sv.VIP); err == nil && sv.Port == 53 && hasAddr(ic, vip) {
			return ctl.Errorf(ctl.CodeExists, "service %s holds %s %s port 53 (svc/del it first)", sv.Name, sv.Proto, sv.VIP)
		}
	}
	return nil
}
