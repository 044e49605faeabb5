package daemon

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ipam"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Endpoints: containers attached by a container platform (vecswitch-cni).
// An endpoint is named by its CNI attachment (network, container ID,
// interface name) and owns three things: a veth port in a bridge, named
// after the attachment (endpointPort: the same name on every retry, so a
// half-made attempt is found and removed), the lease of its addresses
// (owner endpointOwner), and its record in the configuration. All three
// are committed in one store write. ADD of an existing endpoint answers
// what was made, unless its container end is gone (its namespace deleted,
// or made anew at the same path): then it is removed as DEL would and
// made again, with its addresses if they are still free. DEL of a missing
// one succeeds and still removes a veth of its name left by a crash
// between making and storing it.

// portPrefix begins every endpoint port's name ("vsc" and 12 hex digits of
// the attachment's hash: 15 bytes, the most an interface name takes).
const portPrefix = "vsc"

var endpointPortRE = regexp.MustCompile(`^vsc[0-9a-f]{12}$`)

// endpointPort is the port (and host interface) name of an attachment.
func endpointPort(network, containerID, ifname string) string {
	h := sha256.Sum256([]byte(network + "\x00" + containerID + "\x00" + ifname))
	return portPrefix + hex.EncodeToString(h[:6])
}

// endpointOwner is the lease owner of an attachment.
func endpointOwner(network, containerID, ifname string) string {
	return "cni/" + network + "/" + containerID + "/" + ifname
}

// The CNI spec's forms for network names and container IDs.
var (
	networkRE     = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)
	containerIDRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)
)

// decodeEndpointArg decodes one JSON argument strictly.
func decodeEndpointArg(arg string, v any) error {
	dec := json.NewDecoder(strings.NewReader(arg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "malformed request: %v", err)
	}
	if dec.More() {
		return ctl.Errorf(ctl.CodeInvalid, "malformed request: data after the JSON object")
	}
	return nil
}

// checkAttachment validates an attachment's name.
func checkAttachment(network, containerID, ifname string) error {
	switch {
	case len(network) > 128 || !networkRE.MatchString(network):
		return ctl.Errorf(ctl.CodeInvalid, "network name %q: want letters, digits, '_', '.', '-' (at most 128)", network)
	case len(containerID) > 256 || !containerIDRE.MatchString(containerID):
		return ctl.Errorf(ctl.CodeInvalid, "container ID %q: want letters, digits, '_', '.', '-' (at most 256)", containerID)
	}
	if err := netdev.ValidateName(ifname); err != nil || ifname == "." || ifname == ".." {
		return ctl.Errorf(ctl.CodeInvalid, "interface name %q: not a valid interface name", ifname)
	}
	return nil
}

func (s *State) endpoint(network, containerID, ifname string) *ctl.EndpointView {
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		if e.Network == network && e.ContainerID == containerID && e.IfName == ifname {
			return e
		}
	}
	return nil
}

func (d *Daemon) endpointHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"endpoint/add": d.endpointAdd, "endpoint/del": d.endpointDel, "endpoint/check": d.endpointCheck,
		"endpoint/gc": d.endpointGC, "endpoint/status": d.endpointStatus, "endpoint/show": d.endpointShow,
		"endpoint/set": d.endpointSet,
	}
}

func (d *Daemon) endpointAdd(args []string) (any, error) {
	sw := newStopwatch()
	var req ctl.EndpointRequest
	if err := decodeEndpointArg(args[0], &req); err != nil {
		return nil, err
	}
	if err := checkAttachment(req.Network, req.ContainerID, req.IfName); err != nil {
		return nil, err
	}
	name, err := dnsName("name", req.Name)
	if err != nil {
		return nil, err
	}
	var stale *ctl.EndpointView // one whose container end is gone: made again
	if ep := d.state.endpoint(req.Network, req.ContainerID, req.IfName); ep != nil {
		why := d.endpointGone(*ep)
		switch {
		case why != "":
			old := *ep
			stale = &old
			d.log.Info("endpoint is stale: ADD makes it again", "network", ep.Network, "container", ep.ContainerID, "ifname", ep.IfName, "why", why)
		case ep.Netns != req.Netns:
			return nil, ctl.Errorf(ctl.CodeExists, "%s/%s/%s is attached already, in namespace %s", req.Network, req.ContainerID, req.IfName, ep.Netns)
		default:
			return *ep, nil // ADD again: what was made
		}
	}
	switch {
	case req.PeerHere && req.Netns != "":
		return nil, ctl.Errorf(ctl.CodeInvalid, "give a network namespace or peer_here, not both")
	case req.PeerHere && len(req.Routes) > 0:
		return nil, ctl.Errorf(ctl.CodeInvalid, "routes: the runtime that moves a container end left here configures it")
	case req.PeerHere:
	case req.Netns == "":
		return nil, ctl.Errorf(ctl.CodeInvalid, "no network namespace given")
	default:
		if _, err := os.Stat(req.Netns); err != nil {
			return nil, ctl.Errorf(ctl.CodeNotFound, "network namespace %s: %v", req.Netns, errors.Unwrap(err))
		}
	}
	if err := d.checkEndpointDomain(req.Bridge, req.Routed, req.VRF); err != nil {
		return nil, err
	}
	if req.Routed {
		switch {
		case req.VLAN != 0:
			return nil, ctl.Errorf(ctl.CodeInvalid, "vlan: a routed endpoint carries no VLAN")
		case len(req.Gateways) > 0:
			return nil, ctl.Errorf(ctl.CodeInvalid, "gateways: a routed endpoint's gateways are the link-local %s and %s", vswitch.ProxyGateway4, vswitch.ProxyGateway6)
		}
	}
	ep := ctl.EndpointView{Network: req.Network, ContainerID: req.ContainerID, IfName: req.IfName, Netns: req.Netns,
		PeerHere: req.PeerHere, Bridge: req.Bridge, Port: endpointPort(req.Network, req.ContainerID, req.IfName), VLAN: req.VLAN, Pool: req.Pool,
		Name: name, Routed: req.Routed}
	if req.Routed {
		ep.VRF = orDefault(req.VRF, vswitch.DefaultVRF)
	}
	opts, err := endpointPortOptions(&req, &ep)
	if err != nil {
		return nil, err
	}
	var again []netip.Addr // a stale endpoint's addresses, asked for again
	if stale != nil {
		// As DEL would: its port, veth, lease and record go.
		if err := d.removeEndpoint(*stale); err != nil {
			return nil, err
		}
		if stale.Pool == req.Pool {
			for _, a := range stale.Addrs {
				if p, err := netip.ParsePrefix(a); err == nil {
					again = append(again, p.Addr())
				}
			}
		}
	}
	d.removeStrayVeth(ep.Port)
	sw.lap("check")

	next := d.state.clone()
	owner := endpointOwner(req.Network, req.ContainerID, req.IfName)
	newPool := false
	var lease ipam.Lease
	undo := func() {}
	// Until the commit, a failure — an error or a panic — gives back the
	// lease and drops a pool this ADD defined (its allocator, and its
	// registration and blocks in etcd).
	committed := false
	defer func() {
		if !committed {
			undo()
			d.undoPool(newPool, req.Pool)
		}
	}()
	if req.Pool != "" {
		if req.PoolDef != nil {
			p, err := ipam.ParsePool(req.Pool, map[string]string(*req.PoolDef))
			if err != nil {
				return nil, ipamErr(err)
			}
			if newPool, err = d.definePool(&next, p); err != nil {
				return nil, err
			}
		}
		want, err := parseAddrs("want_ips", req.WantIPs)
		if err != nil {
			return nil, err
		}
		held := false
		if a := d.ipam.allocs[req.Pool]; a != nil {
			_, held = a.Lease(owner)
		}
		if len(want) == 0 && len(again) > 0 {
			// Made again: the addresses it had, if they are still free.
			if lease, err = d.allocate(req.Pool, owner, again); err != nil {
				d.log.Info("stale endpoint's addresses not given again", "owner", owner, "err", err)
				lease, err = d.allocate(req.Pool, owner, nil)
			}
		} else {
			lease, err = d.allocate(req.Pool, owner, want)
		}
		if err != nil {
			return nil, err
		}
		if !held {
			undo = func() {
				d.ipam.allocs[req.Pool].Release(owner)
				d.releaseEmptyBlocks(req.Pool) // a block claimed for it
			}
		}
		d.syncLeases(&next, req.Pool)
		ps := next.pool(req.Pool)
		for i, a := range lease.Addrs {
			ep.Addrs = append(ep.Addrs, a.String())
			if gw := ps.Ranges[i].Gateway; gw.IsValid() {
				ep.Gateways = append(ep.Gateways, gw.String())
			}
		}
	} else {
		addrs, err := parsePrefixes("addrs", req.Addrs)
		if err != nil {
			return nil, err
		}
		gws, err := parseAddrs("gateways", req.Gateways)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			ep.Addrs = append(ep.Addrs, a.String())
		}
		for _, g := range gws {
			ep.Gateways = append(ep.Gateways, g.String())
		}
	}
	// fail returns err; the deferred undo gives back what was taken.
	fail := func(err error) (any, error) { return nil, err }
	var onLink []string // routed: the link-local gateways' on-link routes
	if req.Routed {
		onLink = routedAddrs(&ep, &req)
	}
	routes, err := resolveRoutes(req.Routes, ep.Gateways)
	if err != nil {
		return fail(err)
	}
	ep.Routes = routes
	if !req.PeerHere { // else the runtime configures the container end
		opts["ip"] = strings.Join(ep.Addrs, ",")
		rs := onLink
		for _, r := range routes {
			rs = append(rs, r.Dst+"@"+r.Gw)
		}
		opts["routes"] = strings.Join(rs, ",")
	}
	sw.lap("ipam")
	if req.Routed {
		for _, a := range ep.Addrs {
			if p, err := netip.ParsePrefix(a); err == nil {
				ep.Blocks = append(ep.Blocks, d.blockOf(&next, req.Pool, p.Addr()).String())
			}
		}
		next.addRoutedEndpoint(ep, req.MTU)
	}
	if err := d.stagePort(&next, req.Bridge, ep.Port, opts); err != nil {
		return fail(err)
	}
	sw.lap("port")
	spec, _ := next.port(ep.Port)
	ep.MTU, _ = strconv.Atoi(orDefault(spec.Options["mtu"], "1500"))
	next.Endpoints = append(next.Endpoints, ep)
	if err := d.commit(next); err != nil {
		d.detach(ep.Port, true)
		return fail(err)
	}
	committed = true
	sw.lap("commit")
	d.log.Info("endpoint added", sw.log("network", ep.Network, "container", ep.ContainerID, "ifname", ep.IfName, "port", ep.Port, "addrs", ep.Addrs)...)
	return ep, nil
}

// endpointGone says why an existing endpoint is no longer what its ADD
// made — its namespace is gone, or its interface is not in it (the path
// names a new namespace) — or "" if it is, or may be. ADD removes such an
// endpoint and makes it again; DEL of the old container may never come
// (its namespace went with a crash of the daemon or the runtime). Caller
// holds mu.
func (d *Daemon) endpointGone(ep ctl.EndpointView) string {
	if ep.PeerHere {
		return "" // the runtime moved the container end: where to, only it knows
	}
	if _, err := os.Stat(ep.Netns); err != nil {
		return "namespace " + ep.Netns + " is gone"
	}
	if d.memPorts != nil {
		return "" // a test daemon's memory port has no container interface
	}
	l, err := netdev.LinkByName(ep.Netns, ep.IfName)
	switch {
	case errors.Is(err, netdev.ErrNotFound), errors.Is(err, netdev.ErrNetns):
		return "no interface " + ep.IfName + " in " + ep.Netns + ": " + err.Error()
	case err != nil:
		return "" // cannot tell: keep it
	case l.MAC.String() != ep.MAC:
		return "interface " + ep.IfName + " in " + ep.Netns + " has MAC " + l.MAC.String() + ", not the endpoint's " + ep.MAC
	}
	return ""
}

// undoPool drops a pool that the failed command had defined: its
// allocator and, with block claims, its registration and blocks in etcd.
func (d *Daemon) undoPool(added bool, name string) {
	if added {
		d.dropNewPool(name)
	}
}

// endpointPortOptions makes the add-port options of an endpoint's veth.
func endpointPortOptions(req *ctl.EndpointRequest, ep *ctl.EndpointView) (map[string]string, error) {
	opts := map[string]string{"type": TypeVeth, "netns": req.Netns, "ifname": req.IfName}
	if req.PeerHere {
		opts = map[string]string{"type": TypeVeth, "peer": "here", "ifname": req.IfName}
	}
	if req.VLAN < 0 || req.VLAN > 4094 {
		return nil, ctl.Errorf(ctl.CodeInvalid, "vlan %d: want 0 (untagged) to 4094", req.VLAN)
	}
	if req.VLAN > 0 {
		opts["vlan"] = strconv.Itoa(req.VLAN)
	}
	if req.MTU != 0 {
		opts["mtu"] = strconv.Itoa(req.MTU)
	}
	switch req.IO {
	case "": // add-port's default, DefaultVethIO
	case "afxdp", "afpacket":
		opts["io"] = req.IO
	default:
		return nil, ctl.Errorf(ctl.CodeInvalid, "io %q: want afpacket or afxdp", req.IO)
	}
	switch req.PortSecurity {
	case "", "on":
	case "off":
		opts["port_security"] = "off"
	default:
		return nil, ctl.Errorf(ctl.CodeInvalid, "port_security %q: want on or off", req.PortSecurity)
	}
	mac := req.MAC
	if mac == "" {
		// Chosen here, not by the kernel, so that it is stored: a veth
		// made again (its namespace came back) keeps the MAC its port
		// security binds.
		b := make([]byte, 6)
		rand.Read(b)
		b[0] = b[0]&0xfe | 0x02 // unicast, locally administered
		mac = net.HardwareAddr(b).String()
	}
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 || hw[0]&1 != 0 || slices.Equal(hw, make(net.HardwareAddr, 6)) {
		return nil, ctl.Errorf(ctl.CodeInvalid, "mac %q: want a unicast Ethernet address", req.MAC)
	}
	opts["mac"] = hw.String()
	ep.MAC = hw.String()
	return opts, nil
}

func parseAddrs(field string, ss []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ss {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			// Runtimes pass "ips" with or without a prefix length.
			p, perr := netip.ParsePrefix(strings.TrimSpace(s))
			if perr != nil {
				return nil, ctl.Errorf(ctl.CodeInvalid, "%s: %q is not an address", field, s)
			}
			a = p.Addr()
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

func parsePrefixes(field string, ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%s: %q is not ADDRESS/PREFIX", field, s)
		}
		out = append(out, p)
	}
	return out, nil
}

// resolveRoutes checks the requested routes and gives each without a
// gateway the gateway of its family.
func resolveRoutes(in []ctl.RouteSpec, gateways []string) ([]ctl.RouteSpec, error) {
	var out []ctl.RouteSpec
	for _, r := range in {
		dst, err := netip.ParsePrefix(r.Dst)
		if err != nil || dst != dst.Masked() {
			return nil, ctl.Errorf(ctl.CodeInvalid, "route %q: want a network DST/PREFIX", r.Dst)
		}
		gw := r.Gw
		if gw == "" {
			for _, g := range gateways {
				if a, _ := netip.ParseAddr(g); a.Is4() == dst.Addr().Is4() {
					gw = g
					break
				}
			}
			if gw == "" {
				return nil, ctl.Errorf(ctl.CodeInvalid, "route to %s: no gateway given and the endpoint has no %s gateway", dst, family(dst.Addr()))
			}
		}
		g, err := netip.ParseAddr(gw)
		if err != nil || g.Is4() != dst.Addr().Is4() {
			return nil, ctl.Errorf(ctl.CodeInvalid, "route to %s: gateway %q is not an address of its family", dst, gw)
		}
		out = append(out, ctl.RouteSpec{Dst: dst.String(), Gw: g.String()})
	}
	return out, nil
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// removeStrayVeth deletes a host interface of an endpoint port's name that
// no configured port owns: the daemon made it and died before storing it.
func (d *Daemon) removeStrayVeth(name string) bool {
	if p, _ := d.state.port(name); p != nil {
		return false
	}
	return d.removeOwnVeth(name, "", "stray endpoint veth removed (made before a crash, never stored)")
}

// removeOwnVeth deletes the veth name (with its peer) if this daemon made
// it, its alias says so (vethAlias), and no configured port but port uses
// it as its host end (none drives it either): a pair left by a crash, or
// one that is not the port's any more. An interface without this
// daemon's alias (another daemon's, an older one's, the admin's) is never
// deleted. why is logged.
func (d *Daemon) removeOwnVeth(name, port, why string) bool {
	if d.memPorts != nil {
		// A test daemon with memory ports made no veth: the host's are
		// other daemons' (a GC of it deleted a concurrent test's ports).
		return false
	}
	for _, p := range d.state.Ports {
		if p.Name != port && p.Type == TypeVeth && orDefault(p.Options["host"], p.Name) == name {
			return false
		}
	}
	for pn, dr := range d.drivers {
		if pn != port && dr.dev == name {
			return false
		}
	}
	l, err := netdev.LinkByName("", name)
	if err != nil || l.Kind != "veth" || l.Alias != d.vethAlias() {
		return false // not a veth this daemon made (another daemon's, or older)
	}
	if err := netdev.DeleteLink("", name, l.Index); err != nil {
		d.log.Warn("veth of this vswitchd not removed", "veth", name, "why", why, "err", err)
		return false
	}
	d.log.Info(why, "veth", name)
	return true
}

func (d *Daemon) endpointDel(args []string) (any, error) {
	var req ctl.EndpointRequest
	if err := decodeEndpointArg(args[0], &req); err != nil {
		return nil, err
	}
	if err := checkAttachment(req.Network, req.ContainerID, req.IfName); err != nil {
		return nil, err
	}
	ep := d.state.endpoint(req.Network, req.ContainerID, req.IfName)
	if ep == nil {
		// Gone already; a veth of its name made before a crash goes too.
		d.removeStrayVeth(endpointPort(req.Network, req.ContainerID, req.IfName))
		return nil, nil
	}
	return nil, d.removeEndpoint(*ep)
}

// removeEndpoint removes an endpoint, its port and veth, and its lease, in
// one commit. Caller holds mu.
func (d *Daemon) removeEndpoint(ep ctl.EndpointView) error {
	sw := newStopwatch()
	next := d.state.clone()
	next.Endpoints = slices.DeleteFunc(next.Endpoints, func(e ctl.EndpointView) bool {
		return e.Network == ep.Network && e.ContainerID == ep.ContainerID && e.IfName == ep.IfName
	})
	next.removePort(ep.Port)
	if ep.Routed {
		next.removeRIF(ep.Port) // with its host routes and neighbors
	}
	owner := endpointOwner(ep.Network, ep.ContainerID, ep.IfName)
	var released *ipam.Lease
	if a := d.ipam.allocs[ep.Pool]; a != nil {
		if l, ok := a.Release(owner); ok {
			released = &l
			d.syncLeases(&next, ep.Pool)
		}
	}
	sw.lap("ipam")
	if err := d.commit(next); err != nil {
		if released != nil {
			d.ipam.allocs[ep.Pool].Allocate(owner, leaseAddrs(*released), nil)
		}
		return err
	}
	sw.lap("commit")
	if err := d.detach(ep.Port, true); err != nil {
		d.log.Info("endpoint's veth already gone", "port", ep.Port, "err", err)
	}
	sw.lap("port")
	d.removeStrayVeth(ep.Port) // a port that was down had no driver to delete it
	if released != nil {
		d.releaseEmptyBlocks(ep.Pool)
	}
	d.log.Info("endpoint removed", sw.log("network", ep.Network, "container", ep.ContainerID, "ifname", ep.IfName, "port", ep.Port)...)
	return nil
}

func (d *Daemon) endpointCheck(args []string) (any, error) {
	var req ctl.EndpointRequest
	if err := decodeEndpointArg(args[0], &req); err != nil {
		return nil, err
	}
	if err := checkAttachment(req.Network, req.ContainerID, req.IfName); err != nil {
		return nil, err
	}
	ep := d.state.endpoint(req.Network, req.ContainerID, req.IfName)
	if ep == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no endpoint %s/%s/%s", req.Network, req.ContainerID, req.IfName)
	}
	if req.Netns != "" && req.Netns != ep.Netns {
		return nil, ctl.Errorf(ctl.CodeInvalid, "endpoint %s/%s/%s is in namespace %s, not %s", ep.Network, ep.ContainerID, ep.IfName, ep.Netns, req.Netns)
	}
	if st := d.endpointState(*ep); st != "up" {
		return nil, ctl.Errorf(ctl.CodeInvalid, "endpoint %s/%s/%s: port %s is %s", ep.Network, ep.ContainerID, ep.IfName, ep.Port, st)
	}
	if ep.PeerHere {
		return nil, nil // the container end is the runtime's: where it went, only the runtime knows
	}
	l, err := netdev.LinkByName(ep.Netns, ep.IfName)
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "endpoint %s/%s/%s: interface %s in %s: %v", ep.Network, ep.ContainerID, ep.IfName, ep.IfName, ep.Netns, err)
	}
	if l.MAC.String() != ep.MAC {
		return nil, ctl.Errorf(ctl.CodeInvalid, "interface %s in %s has MAC %s, not %s", ep.IfName, ep.Netns, l.MAC, ep.MAC)
	}
	if !l.Up {
		return nil, ctl.Errorf(ctl.CodeInvalid, "interface %s in %s is down", ep.IfName, ep.Netns)
	}
	if req.MAC != "" && !strings.EqualFold(req.MAC, l.MAC.String()) {
		return nil, ctl.Errorf(ctl.CodeInvalid, "interface %s in %s has MAC %s, not %s of the previous result", ep.IfName, ep.Netns, l.MAC, req.MAC)
	}
	// What was made, then what the runtime's previous result says (CNI
	// CHECK's prevResult, in Addrs and Routes).
	expect := []struct {
		what   string
		addrs  []string
		routes []ctl.RouteSpec
	}{{"", ep.Addrs, ep.Routes}, {" of the previous result", req.Addrs, req.Routes}}
	for _, e := range expect {
		for _, s := range e.addrs {
			want, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return nil, ctl.Errorf(ctl.CodeInvalid, "address %q%s: not ADDRESS/PREFIX", s, e.what)
			}
			want = netip.PrefixFrom(want.Addr().Unmap(), want.Bits())
			if !slices.Contains(l.Addrs, want) {
				return nil, ctl.Errorf(ctl.CodeInvalid, "interface %s in %s lacks address %s%s (has %v)", ep.IfName, ep.Netns, want, e.what, l.Addrs)
			}
		}
		for _, r := range e.routes {
			if err := checkRoute(ep.Netns, r, e.what); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

// checkRoute fails unless the namespace has route r (via its gateway, or
// via anything when it names none).
func checkRoute(netns string, r ctl.RouteSpec, what string) error {
	dst, err := netip.ParsePrefix(r.Dst)
	if err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "route %q%s: want DST/PREFIX", r.Dst, what)
	}
	rt := netdev.Route{Dst: dst}
	if r.Gw != "" {
		if rt.Gw, err = netip.ParseAddr(r.Gw); err != nil {
			return ctl.Errorf(ctl.CodeInvalid, "route to %s%s: gateway %q is not an address", r.Dst, what, r.Gw)
		}
	}
	ok, err := netdev.HasRoute(netns, rt)
	if err != nil {
		return ctl.Errorf(ctl.CodeInternal, "routes in %s: %v", netns, err)
	}
	if !ok {
		return ctl.Errorf(ctl.CodeInvalid, "namespace %s lacks route %s%s", netns, rt, what)
	}
	return nil
}

// endpointState is "up" or "down: why".
func (d *Daemon) endpointState(ep ctl.EndpointView) string {
	if _, ok := d.drivers[ep.Port]; ok {
		return "up"
	}
	if pd, ok := d.health.down[ep.Port]; ok {
		return "down: " + pd.Reason
	}
	return "down"
}

func (d *Daemon) endpointGC(args []string) (any, error) {
	var req ctl.EndpointGC
	if err := decodeEndpointArg(args[0], &req); err != nil {
		return nil, err
	}
	if len(req.Network) > 128 || !networkRE.MatchString(req.Network) {
		return nil, ctl.Errorf(ctl.CodeInvalid, "network name %q: want letters, digits, '_', '.', '-'", req.Network)
	}
	valid := map[ctl.AttachmentName]bool{}
	for _, a := range req.Valid {
		valid[a] = true
	}
	res := ctl.GCResult{Endpoints: []ctl.AttachmentName{}, Leases: []string{}, Veths: []string{}}
	for _, ep := range slices.Clone(d.state.Endpoints) {
		a := ctl.AttachmentName{ContainerID: ep.ContainerID, IfName: ep.IfName}
		if ep.Network != req.Network || valid[a] {
			continue
		}
		if err := d.removeEndpoint(ep); err != nil {
			return res, err
		}
		res.Endpoints = append(res.Endpoints, a)
	}
	// Leases of this network with no endpoint (an ADD that died after
	// allocating cannot leave one, but a stored configuration from an
	// older daemon or a hand edit may).
	prefix := "cni/" + req.Network + "/"
	for _, ps := range d.state.Pools {
		a := d.ipam.allocs[ps.Name]
		var freed []string
		for _, l := range a.Leases() {
			if !strings.HasPrefix(l.Owner, prefix) || d.ownerHasEndpoint(l.Owner) {
				continue
			}
			a.Release(l.Owner)
			freed = append(freed, l.Owner)
		}
		if len(freed) == 0 {
			continue
		}
		next := d.state.clone()
		d.syncLeases(&next, ps.Name)
		if err := d.commit(next); err != nil {
			return res, err
		}
		res.Leases = append(res.Leases, freed...)
		d.releaseEmptyBlocks(ps.Name)
	}
	// Veths of endpoint ports no configuration names.
	links, err := netdev.Links()
	if err != nil {
		return res, ctl.Errorf(ctl.CodeInternal, "list interfaces: %v", err)
	}
	for name := range links {
		if endpointPortRE.MatchString(name) && d.removeStrayVeth(name) {
			res.Veths = append(res.Veths, name)
		}
	}
	slices.Sort(res.Veths)
	return res, nil
}

func (d *Daemon) ownerHasEndpoint(owner string) bool {
	for _, ep := range d.state.Endpoints {
		if endpointOwner(ep.Network, ep.ContainerID, ep.IfName) == owner {
			return true
		}
	}
	return false
}

func (d *Daemon) endpointStatus(args []string) (any, error) {
	var req ctl.EndpointStatus
	if err := decodeEndpointArg(args[0], &req); err != nil {
		return nil, err
	}
	if err := d.checkEndpointDomain(req.Bridge, req.Routed, req.VRF); err != nil {
		return nil, ctl.Errorf(err.Code, "network %s: %s", req.Network, err.Message)
	}
	if req.Pool != "" {
		a := d.ipam.allocs[req.Pool]
		if a == nil {
			return nil, nil // defined by the first ADD's netconf
		}
		for i, st := range a.Stats() {
			if st.Free == 0 && d.ipam.claims == nil {
				return nil, ctl.Errorf(ctl.CodeExhausted, "network %s: pool %s has no free address in range %d", req.Network, req.Pool, i)
			}
		}
	}
	return nil, nil
}

func (d *Daemon) endpointShow(args []string) (any, error) {
	opts, err := ctl.ParseOptions(args)
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "network", "container"); err != nil {
		return nil, err
	}
	out := []ctl.EndpointView{}
	for _, ep := range d.state.Endpoints {
		if (opts["network"] != "" && ep.Network != opts["network"]) || (opts["container"] != "" && ep.ContainerID != opts["container"]) {
			continue
		}
		ep.State = d.endpointState(ep)
		out = append(out, ep)
	}
	return out, nil
}
