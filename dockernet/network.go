package dockernet

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/afxdp"
)

// Docker's option keys.
const (
	optGeneric  = "com.docker.network.generic"
	optInternal = "com.docker.network.internal"
	optMTU      = "com.docker.network.driver.mtu"
	optPortMap  = "com.docker.network.portmap"
)

// networkOptions parses a network's driver options (-o key=value).
func networkOptions(opts map[string]any) (n network, err error) {
	if v, ok := opts[optInternal].(bool); ok {
		n.Internal = v
	}
	generic, _ := opts[optGeneric].(map[string]any)
	for k, v := range generic {
		s := fmt.Sprint(v)
		var p *int
		lo, hi := 0, 0
		switch k {
		case "io":
			if s != "afpacket" && s != "afxdp" {
				return n, fmt.Errorf("option io=%s: want afpacket (the default: TCP with the container's TSO) or afxdp (packet rate)", s)
			}
			n.IO = s
			continue
		case "vlan":
			p, lo, hi = &n.VLAN, 1, 4094
		case "vni":
			p, lo, hi = &n.VNI, 1, 1<<24-1
		case "mtu", optMTU:
			// A container's port is a veth read by AF_XDP or AF_PACKET:
			// vswitchd takes at most afxdp.MaxMTU on it (set-port,
			// add-port type=veth), so a larger MTU would fail every
			// docker run on the network.
			x, err := strconv.Atoi(s)
			if err != nil || x < 68 || x > afxdp.MaxMTU {
				return n, fmt.Errorf("option %s=%s: want 68 to %d (the largest a container port takes: a frame fits one of vswitchd's packet buffers)", k, s, afxdp.MaxMTU)
			}
			n.MTU = x
			continue
		case "mode":
			switch s {
			case "bridge":
			case "routed":
				n.Routed = true
			default:
				return n, fmt.Errorf("option mode=%s: want bridge (the default) or routed", s)
			}
			continue
		case "masquerade":
			if s == "" {
				return n, fmt.Errorf("option masquerade=: want a vswitchd router interface with the host's uplink")
			}
			n.Masquerade = s
			continue
		default:
			return n, fmt.Errorf("unknown option %q (the vecswitch driver takes mode, vlan, vni, mtu, io and masquerade)", k)
		}
		x, err := strconv.Atoi(s)
		if err != nil || x < lo || x > hi {
			return n, fmt.Errorf("option %s=%s: want %d to %d", k, s, lo, hi)
		}
		*p = x
	}
	if n.Routed && (n.VLAN != 0 || n.VNI != 0 || n.Masquerade != "") {
		return n, fmt.Errorf("option mode=routed: a routed network has no bridge, so no vlan, vni or masquerade")
	}
	if n.Internal && n.Masquerade != "" {
		return n, fmt.Errorf("option masquerade=%s: an --internal network has no way out to masquerade", n.Masquerade)
	}
	return n, nil
}

// gatewayOf is the address of an IPAM data's gateway ("A.B.C.D/NN").
func gatewayOf(data []ipamData) (string, error) {
	if len(data) == 0 || data[0].Gateway == "" {
		return "", nil
	}
	p, err := netip.ParsePrefix(data[0].Gateway)
	if err != nil {
		a, aerr := netip.ParseAddr(data[0].Gateway)
		if aerr != nil {
			return "", fmt.Errorf("gateway %q: not an address", data[0].Gateway)
		}
		return a.String(), nil
	}
	return p.Addr().String(), nil
}

func (d *Driver) createNetwork(req *createNetworkRequest) (any, error) {
	if err := checkID("network ID", req.NetworkID); err != nil {
		return nil, err
	}
	d.reconcile()
	if _, ok := d.st.Networks[req.NetworkID]; ok {
		return nil, fmt.Errorf("network %s exists", req.NetworkID)
	}
	n, err := networkOptions(req.Options)
	if err != nil {
		return nil, err
	}
	n.ID, n.Bridge = req.NetworkID, bridgeName(req.NetworkID)
	if n.Routed {
		n.Bridge = "" // its endpoints are routed ports
	}
	for _, other := range d.st.Networks {
		if n.Bridge != "" && other.Bridge == n.Bridge {
			return nil, fmt.Errorf("network %s: its bridge %s is network %s's (the IDs share 12 characters)", n.ID, n.Bridge, other.ID)
		}
	}
	if n.Gateway4, err = gatewayOf(req.IPv4Data); err != nil {
		return nil, err
	}
	if n.Gateway6, err = gatewayOf(req.IPv6Data); err != nil {
		return nil, err
	}
	for _, data := range [][]ipamData{req.IPv4Data, req.IPv6Data} {
		for _, x := range data {
			n.Subnets = append(n.Subnets, x.Pool)
			if id := d.poolOf(x.AddressSpace, x.Pool); id != "" {
				n.Pools = append(n.Pools, id)
			}
		}
	}
	undo := func() {}
	if !n.Routed {
		// A bridge of this name and no network: an earlier attempt made
		// it and died before storing; take it over.
		if err := d.cfg.Caller.Call("add-br", []string{n.Bridge}, nil); err != nil && !isCode(err, ctl.CodeExists) {
			return nil, err
		}
		undo = func() { d.cfg.Caller.Call("del-br", []string{n.Bridge}, nil) }
	}
	if n.VNI != 0 {
		if err := d.cfg.Caller.Call("vni/add", []string{n.Bridge, strconv.Itoa(n.VNI)}, nil); err != nil && !isCode(err, ctl.CodeExists) {
			undo()
			return nil, err
		}
	}
	if n.Masquerade != "" {
		if err := d.makeRouter(&n, req); err != nil {
			undo()
			return nil, err
		}
	}
	d.st.Networks[n.ID] = &n
	if err := d.save(); err != nil {
		delete(d.st.Networks, n.ID)
		undo()
		return nil, err
	}
	d.log.Info("docker network created", "network", n.ID, "bridge", n.Bridge, "vlan", n.VLAN, "vni", n.VNI, "internal", n.Internal, "masquerade", n.Masquerade)
	return struct{}{}, nil
}

func (d *Driver) network(id string) (*network, error) {
	n, ok := d.st.Networks[id]
	if !ok {
		if lost := d.lostNetwork(id); lost != nil {
			return nil, lostError(lost) // lost.go
		}
		return nil, fmt.Errorf("no network %s", id)
	}
	return n, nil
}

func (d *Driver) deleteNetwork(req *networkRequest) (any, error) {
	n, err := d.teardownNetwork(req.NetworkID)
	if err != nil {
		return nil, err
	}
	// Docker deletes the endpoints first; any left go with the network.
	eps, err := d.endpoints(n.ID, "")
	if err != nil {
		return nil, err
	}
	for _, ep := range eps {
		if err := d.revoke(n, ep.ContainerID); err != nil {
			return nil, err
		}
		if err := d.cfg.Caller.Call("endpoint/del", []string{endpointArg(ep)}, nil); err != nil {
			return nil, err
		}
	}
	for id := range n.Published {
		if err := d.revoke(n, id); err != nil {
			return nil, err
		}
	}
	// The bridge takes its router interface and masquerade along.
	if n.Bridge != "" {
		if err := d.cfg.Caller.Call("del-br", []string{n.Bridge}, nil); err != nil && !isCode(err, ctl.CodeNotFound) {
			return nil, err
		}
	}
	delete(d.st.Networks, n.ID)
	if err := d.save(); err != nil {
		return nil, err
	}
	d.log.Info("docker network deleted", "network", n.ID, "bridge", n.Bridge)
	return struct{}{}, nil
}

// endpoints are vswitchd's endpoints of a network (of one Docker
// endpoint if endpointID is set).
func (d *Driver) endpoints(networkID, endpointID string) ([]ctl.EndpointView, error) {
	args := []string{"network=" + networkID}
	if endpointID != "" {
		args = append(args, "container="+endpointID)
	}
	var eps []ctl.EndpointView
	if err := d.cfg.Caller.Call("endpoint/show", args, &eps); err != nil {
		return nil, err
	}
	return eps, nil
}

// endpointArg is endpoint/del's argument for an endpoint.
func endpointArg(ep ctl.EndpointView) string {
	b, _ := json.Marshal(ctl.EndpointRequest{Network: ep.Network, ContainerID: ep.ContainerID, IfName: ep.IfName})
	return string(b)
}

func (d *Driver) createEndpoint(req *createEndpointRequest) (any, error) {
	n, err := d.network(req.NetworkID)
	if err != nil {
		return nil, err
	}
	if err := checkID("endpoint ID", req.EndpointID); err != nil {
		return nil, err
	}
	d.reconcile()
	if eps, err := d.endpoints(n.ID, req.EndpointID); err != nil {
		return nil, err
	} else if len(eps) > 0 {
		return nil, fmt.Errorf("endpoint %s exists", req.EndpointID)
	}
	in := req.Interface
	if in == nil {
		in = &endpointInterface{}
	}
	er := ctl.EndpointRequest{Network: n.ID, ContainerID: req.EndpointID, IfName: peerName(req.EndpointID), PeerHere: true,
		Bridge: n.Bridge, Routed: n.Routed, VLAN: n.VLAN, MTU: n.MTU, MAC: in.MacAddress, IO: n.IO}
	for _, a := range []string{in.Address, in.AddressIPv6} {
		if a == "" {
			continue
		}
		if _, err := netip.ParsePrefix(a); err != nil {
			return nil, fmt.Errorf("address %q: want ADDRESS/PREFIX", a)
		}
		er.Addrs = append(er.Addrs, a)
	}
	b, _ := json.Marshal(er)
	var ep ctl.EndpointView
	if err := d.cfg.Caller.Call("endpoint/add", []string{string(b)}, &ep); err != nil {
		return nil, err
	}
	d.log.Info("docker endpoint created", "network", n.ID, "endpoint", ep.ContainerID, "port", ep.Port, "mac", ep.MAC, "addrs", ep.Addrs)
	// Docker takes the MAC from the driver only when it gave none.
	if in.MacAddress != "" {
		return createEndpointResponse{}, nil
	}
	return createEndpointResponse{Interface: &endpointInterface{MacAddress: ep.MAC}}, nil
}

// endpoint finds a Docker endpoint of a network.
func (d *Driver) endpoint(networkID, endpointID string) (*network, *ctl.EndpointView, error) {
	return d.endpointIn(d.network, networkID, endpointID)
}

// teardownEndpoint is endpoint, also in a network whose record is lost
// (lost.go), for the calls that take an endpoint down.
func (d *Driver) teardownEndpoint(networkID, endpointID string) (*network, *ctl.EndpointView, error) {
	return d.endpointIn(d.teardownNetwork, networkID, endpointID)
}

func (d *Driver) endpointIn(find func(string) (*network, error), networkID, endpointID string) (*network, *ctl.EndpointView, error) {
	n, err := find(networkID)
	if err != nil {
		return nil, nil, err
	}
	if err := checkID("endpoint ID", endpointID); err != nil {
		return nil, nil, err
	}
	eps, err := d.endpoints(networkID, endpointID)
	if err != nil {
		return nil, nil, err
	}
	if len(eps) != 1 {
		return nil, nil, fmt.Errorf("no endpoint %s in network %s", endpointID, networkID)
	}
	return n, &eps[0], nil
}

func (d *Driver) deleteEndpoint(req *endpointRequest) (any, error) {
	n, ep, err := d.teardownEndpoint(req.NetworkID, req.EndpointID)
	if err != nil {
		return nil, err
	}
	if err := d.revoke(n, ep.ContainerID); err != nil {
		return nil, err
	}
	if err := d.cfg.Caller.Call("endpoint/del", []string{endpointArg(*ep)}, nil); err != nil {
		return nil, err
	}
	d.forgetJoin(n, ep.ContainerID)
	d.log.Info("docker endpoint deleted", "network", ep.Network, "endpoint", ep.ContainerID, "port", ep.Port)
	return struct{}{}, nil
}

func (d *Driver) endpointOperInfo(req *endpointRequest) (any, error) {
	n, ep, err := d.endpoint(req.NetworkID, req.EndpointID)
	if err != nil {
		return nil, err
	}
	return operInfoResponse{Value: map[string]any{"bridge": n.Bridge, "port": ep.Port, "mac": ep.MAC, "addrs": ep.Addrs, "state": ep.State}}, nil
}

func (d *Driver) join(req *joinRequest) (any, error) {
	n, ep, err := d.endpoint(req.NetworkID, req.EndpointID)
	if err != nil {
		return nil, err
	}
	r := joinResponse{InterfaceName: interfaceName{SrcName: ep.IfName, DstPrefix: "eth"}, DisableGatewayService: true}
	switch {
	case n.Routed:
		// The link-local gateways vswitchd answers by proxy ARP/ND
		// (ep.Gateways), 169.254.1.1 reached by an on-link route first,
		// as Calico's Docker plugin does. An --internal routed network
		// still gets them: they are how its containers reach each other.
		for _, g := range ep.Gateways {
			a, err := netip.ParseAddr(g)
			switch {
			case err != nil:
			case a.Is4():
				r.Gateway = g
				r.StaticRoutes = append(r.StaticRoutes, staticRoute{Destination: netip.PrefixFrom(a, 32).String(), RouteType: routeConnected})
			default:
				r.GatewayIPv6 = g
			}
		}
	case !n.Internal:
		r.Gateway, r.GatewayIPv6 = n.Gateway4, n.Gateway6
	}
	// Joined: should the container end come back to this namespace
	// without a Leave, Docker has lost it (reconcile.go).
	if n.Joined == nil {
		n.Joined = map[string]time.Time{}
	}
	at, had := n.Joined[ep.ContainerID]
	n.Joined[ep.ContainerID] = time.Now()
	if err := d.save(); err != nil {
		if had {
			n.Joined[ep.ContainerID] = at
		} else {
			delete(n.Joined, ep.ContainerID)
		}
		return nil, err
	}
	return r, nil
}

func (d *Driver) leave(req *endpointRequest) (any, error) {
	n, ep, err := d.teardownEndpoint(req.NetworkID, req.EndpointID)
	if err != nil {
		return nil, err
	}
	d.forgetJoin(n, ep.ContainerID) // Docker takes the container end out now
	return struct{}{}, nil
}

// programExternalConnectivity publishes the endpoint's ports (-p,
// portmap.go). Called again, it replaces what it published before; if it
// fails, what was published before stays.
func (d *Driver) programExternalConnectivity(req *connectivityRequest) (any, error) {
	n, ep, err := d.endpoint(req.NetworkID, req.EndpointID)
	if err != nil {
		return nil, err
	}
	pbs, err := portBindings(req.Options)
	if err != nil {
		return nil, err
	}
	old, had := n.Published[ep.ContainerID]
	if len(pbs) == 0 && !had {
		return struct{}{}, nil
	}
	if err := d.unpublish(old); err != nil {
		return nil, err
	}
	var maps []ctl.NATPortMapView
	if len(pbs) > 0 {
		if maps, err = d.publish(n, ep, pbs); err != nil {
			d.republish(old)
			return nil, err
		}
	}
	if n.Published == nil {
		n.Published = map[string][]ctl.NATPortMapView{}
	}
	n.Published[ep.ContainerID] = maps
	if len(maps) == 0 {
		delete(n.Published, ep.ContainerID)
	}
	if err := d.save(); err != nil {
		d.unpublish(maps)
		d.republish(old)
		if had {
			n.Published[ep.ContainerID] = old
		} else {
			delete(n.Published, ep.ContainerID)
		}
		return nil, err
	}
	d.log.Info("docker ports published", "network", n.ID, "endpoint", ep.ContainerID, "maps", maps)
	return struct{}{}, nil
}

func (d *Driver) revokeExternalConnectivity(req *endpointRequest) (any, error) {
	n, ep, err := d.teardownEndpoint(req.NetworkID, req.EndpointID)
	if err != nil {
		return nil, err
	}
	if err := d.revoke(n, ep.ContainerID); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
