package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/vecswitch/vecswitch/ctl"
)

func jsonArg(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// result is the CNI result of an endpoint: the host end and the container
// interface, the addresses (on the container interface) with their
// gateways, the routes and the netconf's DNS.
func result(c *NetConf, ep *ctl.EndpointView) (*types100.Result, error) {
	res := &types100.Result{CNIVersion: types100.ImplementedSpecVersion, DNS: c.DNS}
	res.Interfaces = []*types100.Interface{
		{Name: ep.Port},
		{Name: ep.IfName, Mac: ep.MAC, Mtu: ep.MTU, Sandbox: ep.Netns},
	}
	container := 1
	for _, s := range ep.Addrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("address %q: %w", s, err)
		}
		ip := &types100.IPConfig{Interface: &container, Address: net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		for _, g := range ep.Gateways {
			if ga, err := netip.ParseAddr(g); err == nil && ga.Is4() == p.Addr().Is4() {
				ip.Gateway = ga.AsSlice()
			}
		}
		res.IPs = append(res.IPs, ip)
	}
	for _, r := range ep.Routes {
		dst, err := netip.ParsePrefix(r.Dst)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Dst, err)
		}
		rt := &types.Route{Dst: net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), dst.Addr().BitLen())}}
		if g, err := netip.ParseAddr(r.Gw); err == nil {
			rt.GW = g.AsSlice()
		}
		res.Routes = append(res.Routes, rt)
	}
	return res, nil
}
