package dockernet

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
)

// Published ports (-p). ProgramExternalConnectivity brings the
// container's port bindings; each becomes a vswitchd port map
// (nat/map-add) from the host port on the uplinks (or -p's host address)
// to the endpoint's address of that family, through the same daemon
// commands as vsctl's. The maps made are kept in docker.json per
// endpoint, since RevokeExternalConnectivity and DeleteEndpoint bring
// only IDs; both delete them. A binding without a host port (-p 80, -P)
// or with a range (-p 8000-8010:80) gets the first host port of the range
// (49153-65535 when none is given) that no map uses; a retry that finds
// its own map of an earlier attempt in the range takes it.

// Docker's ephemeral host port range.
const (
	ephemeralFirst = 49153
	ephemeralLast  = 65535
)

// portBinding is libnetwork's types.PortBinding.
type portBinding struct {
	Proto       int
	IP          string
	Port        int
	HostIP      string
	HostPort    int
	HostPortEnd int
}

// portBindings reads the bindings from ProgramExternalConnectivity's
// options.
func portBindings(opts map[string]any) ([]portBinding, error) {
	raw, ok := opts[optPortMap]
	if !ok || raw == nil {
		return nil, nil
	}
	b, _ := json.Marshal(raw)
	var pbs []portBinding
	if err := json.Unmarshal(b, &pbs); err != nil {
		return nil, fmt.Errorf("%s: %v", optPortMap, err)
	}
	return pbs, nil
}

// protoName is a binding's protocol as nat/map-add takes it.
func protoName(p int) (string, error) {
	switch p {
	case 6:
		return "tcp", nil
	case 17:
		return "udp", nil
	}
	return "", fmt.Errorf("publishing protocol %d: the vecswitch driver maps tcp and udp", p)
}

// wantedMaps are the maps a binding asks for, host port 0 and the range
// still to pick: one per family of the endpoint's addresses (with -p's
// host address, its family only).
func wantedMaps(pb portBinding, ep *ctl.EndpointView) (maps []ctl.NATPortMapView, first, last int, err error) {
	proto, err := protoName(pb.Proto)
	if err != nil {
		return nil, 0, 0, err
	}
	if pb.Port < 1 || pb.Port > 65535 {
		return nil, 0, 0, fmt.Errorf("publishing container port %d: want 1 to 65535", pb.Port)
	}
	first, last = pb.HostPort, pb.HostPortEnd
	switch {
	case first == 0:
		first, last = ephemeralFirst, ephemeralLast
	case last < first:
		last = first
	}
	if first < 1 || last > 65535 {
		return nil, 0, 0, fmt.Errorf("publishing host port %d-%d: want 1 to 65535", first, last)
	}
	var host netip.Addr
	if pb.HostIP != "" {
		if host, err = netip.ParseAddr(pb.HostIP); err != nil {
			return nil, 0, 0, fmt.Errorf("publishing on host address %q: not an address", pb.HostIP)
		}
	}
	for _, a := range ep.Addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			continue
		}
		if host.IsValid() && host.Is4() != p.Addr().Is4() {
			continue // -p's host address (0.0.0.0 and :: too) is of one family
		}
		m := ctl.NATPortMapView{Proto: proto, Target: p.Addr().String(), TargetPort: uint16(pb.Port)}
		if host.IsValid() && !host.IsUnspecified() {
			m.Host = host.String()
		}
		maps = append(maps, m)
	}
	if len(maps) == 0 {
		return nil, 0, 0, fmt.Errorf("publishing on %q: the endpoint has no address of that family", pb.HostIP)
	}
	return maps, first, last, nil
}

// overlaps reports whether two maps take the same host port (their
// families or host addresses apart, a port is free for both).
func overlaps(a, b ctl.NATPortMapView) bool {
	if a.Proto != b.Proto || a.HostPort != b.HostPort {
		return false
	}
	fam := func(m ctl.NATPortMapView) bool {
		t, _ := netip.ParseAddr(m.Target)
		return t.Is4()
	}
	if fam(a) != fam(b) {
		return false
	}
	return a.Host == "" || b.Host == "" || a.Host == b.Host
}

// pickPort chooses the host port of a binding's maps: the first in
// [first, last] where every map is either there already (an earlier
// attempt's) or free.
func pickPort(maps []ctl.NATPortMapView, first, last int, have []ctl.NATPortMapView) (uint16, error) {
	for p := first; p <= last; p++ {
		free := true
		for _, m := range maps {
			m.HostPort = uint16(p)
			for _, h := range have {
				if h != m && overlaps(h, m) {
					free = false
				}
			}
		}
		if free {
			return uint16(p), nil
		}
	}
	if first == last {
		return 0, fmt.Errorf("host port %d/%s is published already", first, maps[0].Proto)
	}
	return 0, fmt.Errorf("no free host port in %d-%d/%s", first, last, maps[0].Proto)
}

// mapArgs are nat/map-add's (add) or nat/map-del's arguments for a map.
func mapArgs(m ctl.NATPortMapView, add bool) []string {
	args := []string{"proto=" + m.Proto, "host-port=" + strconv.Itoa(int(m.HostPort)), "target=" + m.Target}
	if m.Host != "" {
		args = append(args, "host="+m.Host)
	}
	if add {
		args = append(args, "target-port="+strconv.Itoa(int(m.TargetPort)))
	}
	return args
}

// publish makes the port maps of an endpoint's bindings; on failure it
// deletes those it made.
func (d *Driver) publish(n *network, ep *ctl.EndpointView, pbs []portBinding) ([]ctl.NATPortMapView, error) {
	if n.Routed {
		return nil, fmt.Errorf("publishing ports (-p): a routed network (-o mode=routed) has no NAT; its containers are " +
			"reached at their own addresses, routed by the switch (announced over BGP, or routed to this host); " +
			"to publish ports, use a bridge network created with -o masquerade=UPLINK")
	}
	if n.Router == "" {
		return nil, fmt.Errorf("publishing ports (-p) needs NAT through a routed network: create the network with " +
			"-o masquerade=UPLINK (UPLINK: a vswitchd router interface with the host's uplink), or reach the container at its own address")
	}
	var have ctl.NATShowView
	if err := d.cfg.Caller.Call("nat/show", nil, &have); err != nil {
		return nil, err
	}
	uplinks, err := d.uplinkAddrs(have)
	if err != nil {
		return nil, err
	}
	var made []ctl.NATPortMapView
	for _, pb := range pbs {
		var maps []ctl.NATPortMapView
		var first, last int
		if a, perr := netip.ParseAddr(pb.HostIP); perr == nil && a.IsLoopback() {
			err = checkHost(a, uplinks) // before the family: the loopback is the news
		} else if maps, first, last, err = wantedMaps(pb, ep); err == nil && maps[0].Host != "" {
			err = checkHost(netip.MustParseAddr(maps[0].Host), uplinks)
		}
		if err == nil {
			var port uint16
			if port, err = pickPort(maps, first, last, have.PortMaps); err == nil {
				for _, m := range maps {
					m.HostPort = port
					if err = d.cfg.Caller.Call("nat/map-add", mapArgs(m, true), nil); err != nil {
						break
					}
					made = append(made, m)
					have.PortMaps = append(have.PortMaps, m)
				}
			}
		}
		if err != nil {
			d.unpublish(made)
			return nil, err
		}
	}
	return made, nil
}

// uplinkAddr is an address of an uplink: a router interface that port
// maps without a host address bind (a masquerade's uplink, or one of
// nat/uplink-add).
type uplinkAddr struct {
	name string
	addr netip.Addr
}

// uplinkAddrs are the addresses of the switch's uplinks.
func (d *Driver) uplinkAddrs(nat ctl.NATShowView) ([]uplinkAddr, error) {
	names := map[string]bool{}
	for _, m := range nat.Masquerade {
		names[m.External] = true
	}
	for _, u := range nat.Uplinks {
		names[u] = true
	}
	var ifs []ctl.Interface
	if err := d.cfg.Caller.Call("rif/show", nil, &ifs); err != nil {
		return nil, err
	}
	var out []uplinkAddr
	for _, i := range ifs {
		if !names[i.Name] {
			continue
		}
		for _, a := range i.Addrs {
			if p, err := netip.ParsePrefix(a); err == nil {
				out = append(out, uplinkAddr{i.Name, p.Addr()})
			}
		}
	}
	return out, nil
}

// checkHost refuses a binding's host address (-p ADDR:HOSTPORT:PORT)
// that no packet through the switch can reach: a loopback address (the host's own connections to it never
// leave the host's stack) or an address no uplink has. vswitchd's
// nat/map-add takes such an address (a map stays when its uplink loses
// the address, and matches again when it comes back), but a new -p on
// it is refused, as Docker refuses to publish on an address the host
// does not have.
func checkHost(a netip.Addr, uplinks []uplinkAddr) error {
	for _, u := range uplinks {
		if u.addr == a {
			return nil
		}
	}
	var have []string
	for _, u := range uplinks {
		have = append(have, u.name+" "+u.addr.String())
	}
	can := "no uplink has an address yet"
	if len(have) > 0 {
		can = "publish on an uplink's address (" + strings.Join(have, ", ") + ") or on all of them (-p HOSTPORT:PORT)"
	}
	if a.IsLoopback() {
		return fmt.Errorf("publishing on %s: a loopback address cannot be published through the switch (the host's own "+
			"connections to it never reach vswitchd); %s", a, can)
	}
	return fmt.Errorf("publishing on %s: no uplink of the switch has %s, so no packet would reach the port; %s", a, a, can)
}

// unpublish deletes port maps (deleting one not there is no error).
func (d *Driver) unpublish(maps []ctl.NATPortMapView) error {
	for _, m := range maps {
		if err := d.cfg.Caller.Call("nat/map-del", mapArgs(m, false), nil); err != nil {
			return err
		}
	}
	return nil
}

// republish makes maps again after a failed change (best effort: they
// were there before it).
func (d *Driver) republish(maps []ctl.NATPortMapView) {
	for _, m := range maps {
		if err := d.cfg.Caller.Call("nat/map-add", mapArgs(m, true), nil); err != nil {
			d.log.Error("docker port map not restored", "map", m, "err", err)
		}
	}
}

// revoke deletes an endpoint's published ports and forgets them.
func (d *Driver) revoke(n *network, endpointID string) error {
	maps, ok := n.Published[endpointID]
	if !ok {
		return nil
	}
	if err := d.unpublish(maps); err != nil {
		return err
	}
	delete(n.Published, endpointID)
	if err := d.save(); err != nil {
		n.Published[endpointID] = maps
		return err
	}
	d.log.Info("docker ports unpublished", "network", n.ID, "endpoint", endpointID, "maps", len(maps))
	return nil
}
