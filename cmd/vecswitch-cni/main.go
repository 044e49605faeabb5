//go:build linux

package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/vecswitch/vecswitch/ctl"
)

// pluginVersion is reported by VERSION's "about" text.
const pluginVersion = "0.1.0"

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{Add: cmdAdd, Del: cmdDel, Check: cmdCheck, GC: cmdGC, Status: cmdStatus},
		version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"),
		"vecswitch-cni "+pluginVersion+": attaches containers to a Vecswitch bridge through vswitchd")
}

// call sends one request to vswitchd with arg as its one (JSON) argument.
func call(c *NetConf, cmd string, arg any, out any) error {
	b, err := jsonArg(arg)
	if err != nil {
		return err
	}
	return callArgs(c, cmd, []string{b}, out)
}

// callArgs sends one request to vswitchd. A failure after the request went
// out, with no answer back (the timeout passed, the connection dropped),
// is an *unanswered error: vswitchd may have done it, or may still.
func callArgs(c *NetConf, cmd string, args []string, out any) error {
	timeout := 60 * time.Second
	if c.Timeout > 0 {
		timeout = time.Duration(c.Timeout) * time.Second
	}
	cl, err := ctl.Dial(c.Socket, timeout)
	if err != nil {
		return err // not sent
	}
	defer cl.Close()
	err = cl.Call(cmd, args, out)
	var ce *ctl.Error
	if err != nil && (!errors.As(err, &ce) || ce.Code == ctl.CodeUnavail || ce.Code == ctl.CodeNoAnswer) {
		// Unavailable after connecting is the client's "no answer" (or
		// a store vswitchd needs: a refusal, but taken as unknown, which
		// is safe); an error that is not vswitchd's is an answer this
		// plugin could not read.
		return &unanswered{err}
	}
	return err
}

// unanswered is the error of a request that vswitchd may have carried out.
type unanswered struct{ err error }

func (u *unanswered) Error() string { return u.err.Error() }
func (u *unanswered) Unwrap() error { return u.err }

// existing is the endpoint of the call's attachment, or nil.
func existing(c *NetConf, req *ctl.EndpointRequest) (*ctl.EndpointView, error) {
	var eps []ctl.EndpointView
	if err := callArgs(c, "endpoint/show", []string{"network=" + req.Network, "container=" + req.ContainerID}, &eps); err != nil {
		return nil, err
	}
	for i := range eps {
		if eps[i].IfName == req.IfName {
			return &eps[i], nil
		}
	}
	return nil, nil
}

func cmdAdd(args *skel.CmdArgs) error {
	c, ic, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	req, err := request(c, args)
	if err != nil {
		return err
	}
	if args.Netns == "" {
		return types.NewError(types.ErrInvalidNetNS, "vecswitch-cni: no network namespace (CNI_NETNS)", "")
	}
	if _, err := os.Stat(args.Netns); err != nil {
		return types.NewError(types.ErrInvalidNetNS, "vecswitch-cni: network namespace "+args.Netns+" does not exist", err.Error())
	}
	ips, mac, err := c.fixed(args.Args)
	if err != nil {
		return types.NewError(types.ErrInvalidNetworkConfig, "vecswitch-cni: "+err.Error(), "")
	}
	req.MAC = mac
	var delegated *types100.Result
	switch {
	case ic != nil: // vswitchd's pools
		req.Pool, req.WantIPs = ic.Pool, ips
		if req.PoolDef, err = ic.poolDef(); err != nil {
			return types.NewError(types.ErrInvalidNetworkConfig, "vecswitch-cni: ipam: "+err.Error(), "")
		}
		for _, r := range ic.Routes {
			req.Routes = append(req.Routes, routeSpec(r))
		}
	case c.IPAM.Type != "": // another IPAM plugin, run by delegation
		// ADD again answers what was made without running the IPAM
		// plugin again (host-local refuses a second allocation to one
		// attachment): the request carries the endpoint's addresses,
		// which the plugin still holds for it, so that vswitchd, if the
		// endpoint's container end is gone, makes it again with them.
		ep, err := existing(c, req)
		if err != nil {
			return cniError(err)
		}
		if ep != nil && ep.Pool == "" {
			req.Addrs, req.Routes = ep.Addrs, ep.Routes
			if !c.routed() { // routed: the link-local gateways
				req.Gateways = ep.Gateways
			}
			break
		}
		r, err := delegateAdd(context.TODO(), c.IPAM.Type, args.StdinData)
		if err != nil {
			return err
		}
		if delegated, err = types100.NewResultFromResult(r); err != nil {
			delegateVerb(context.TODO(), c.IPAM.Type, "DEL", args.StdinData)
			return types.NewError(types.ErrDecodingFailure, "vecswitch-cni: the IPAM plugin's result", err.Error())
		}
		for _, ip := range delegated.IPs {
			req.Addrs = append(req.Addrs, ip.Address.String())
			if ip.Gateway != nil && !c.routed() { // routed: the link-local gateways
				req.Gateways = append(req.Gateways, ip.Gateway.String())
			}
		}
		for _, r := range delegated.Routes {
			rs := routeSpec(r)
			if c.routed() {
				rs.Gw = "" // via the link-local gateway
			}
			req.Routes = append(req.Routes, rs)
		}
	}
	var ep ctl.EndpointView
	if err := call(c, "endpoint/add", req, &ep); err != nil {
		var u *unanswered
		var te *types.Error
		if errors.As(err, &u) && errors.As(cniError(err), &te) {
			// vswitchd may still make the endpoint with the delegated
			// addresses: they stay leased. The runtime's DEL, which
			// must follow a failed ADD, removes both.
			te.Msg += " (vswitchd may still make the endpoint: DEL removes it and releases its addresses)"
			return te
		}
		if delegated != nil { // refused: nothing uses the addresses
			delegateVerb(context.TODO(), c.IPAM.Type, "DEL", args.StdinData)
		}
		return cniError(err)
	}
	res, err := result(c, &ep)
	if err != nil {
		return types.NewError(types.ErrInternal, "vecswitch-cni: vswitchd's answer", err.Error())
	}
	if delegated != nil && len(delegated.DNS.Nameservers) > 0 && len(c.DNS.Nameservers) == 0 {
		res.DNS = delegated.DNS
	}
	return types.PrintResult(res, c.CNIVersion)
}

func cmdDel(args *skel.CmdArgs) error {
	c, _, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	req, err := request(c, args)
	if err != nil {
		return err
	}
	if err := call(c, "endpoint/del", req, nil); err != nil {
		return cniError(err)
	}
	if c.IPAM.Type != "" && c.IPAM.Type != ipamVecswitch {
		return delegateVerb(context.TODO(), c.IPAM.Type, "DEL", args.StdinData)
	}
	return nil
}

func cmdCheck(args *skel.CmdArgs) error {
	c, _, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	req, err := request(c, args)
	if err != nil {
		return err
	}
	if err := expectPrevResult(c, req); err != nil {
		return err
	}
	if c.IPAM.Type != "" && c.IPAM.Type != ipamVecswitch {
		if err := delegateVerb(context.TODO(), c.IPAM.Type, "CHECK", args.StdinData); err != nil {
			return err
		}
	}
	return checkError(call(c, "endpoint/check", req, nil))
}

// expectPrevResult puts what the runtime's previous result (CHECK's
// prevResult) says of the container interface into req, for vswitchd to
// find in the container as well as what it made: the interface's MAC,
// its addresses, and the routes.
func expectPrevResult(c *NetConf, req *ctl.EndpointRequest) error {
	if err := version.ParsePrevResult(&c.PluginConf); err != nil {
		return types.NewError(types.ErrDecodingFailure, "vecswitch-cni: prevResult", err.Error())
	}
	if c.PrevResult == nil {
		return nil // a runtime older than CHECK's rules: what was made is checked
	}
	prev, err := types100.NewResultFromResult(c.PrevResult)
	if err != nil {
		return types.NewError(types.ErrDecodingFailure, "vecswitch-cni: prevResult", err.Error())
	}
	ifc := -1
	for i, x := range prev.Interfaces {
		if x.Name == req.IfName && x.Sandbox != "" {
			ifc = i
			req.MAC = x.Mac
			break
		}
	}
	if ifc < 0 {
		return types.NewError(errCheckFailed, "vecswitch-cni: the previous result has no interface "+req.IfName+" in a container", "")
	}
	for _, ip := range prev.IPs {
		if ip.Interface == nil || *ip.Interface == ifc {
			req.Addrs = append(req.Addrs, ip.Address.String())
		}
	}
	for _, r := range prev.Routes {
		req.Routes = append(req.Routes, routeSpec(r))
	}
	return nil
}

func cmdGC(args *skel.CmdArgs) error {
	c, _, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	gc := ctl.EndpointGC{Network: c.Name, Valid: []ctl.AttachmentName{}}
	for _, a := range c.ValidAttachments {
		gc.Valid = append(gc.Valid, ctl.AttachmentName{ContainerID: a.ContainerID, IfName: a.IfName})
	}
	if err := call(c, "endpoint/gc", gc, nil); err != nil {
		return cniError(err)
	}
	if c.IPAM.Type != "" && c.IPAM.Type != ipamVecswitch {
		return delegateVerb(context.TODO(), c.IPAM.Type, "GC", args.StdinData)
	}
	return nil
}

func cmdStatus(args *skel.CmdArgs) error {
	c, ic, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	st := ctl.EndpointStatus{Network: c.Name, Bridge: c.Bridge, Routed: c.routed(), VRF: c.VRF}
	if ic != nil {
		st.Pool = ic.Pool
	}
	err = call(c, "endpoint/status", st, nil)
	var ce *ctl.Error
	if errors.As(err, &ce) && (ce.Code == ctl.CodeUnavail || ce.Code == ctl.CodeNoAnswer) {
		return types.NewError(types.ErrPluginNotAvailable, "vecswitch-cni: vswitchd is not reachable", ce.Message)
	}
	if err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "vecswitch-cni: network "+c.Name+" is not ready", err.Error())
	}
	if c.IPAM.Type != "" && c.IPAM.Type != ipamVecswitch {
		return delegateVerb(context.TODO(), c.IPAM.Type, "STATUS", args.StdinData)
	}
	return nil
}

// request is the endpoint request of a call, without its addresses.
func request(c *NetConf, args *skel.CmdArgs) (*ctl.EndpointRequest, error) {
	if args.ContainerID == "" || args.IfName == "" {
		return nil, types.NewError(types.ErrInvalidEnvironmentVariables, "vecswitch-cni: CNI_CONTAINERID and CNI_IFNAME are required", "")
	}
	return &ctl.EndpointRequest{Network: c.Name, ContainerID: args.ContainerID, IfName: args.IfName, Netns: args.Netns,
		Bridge: c.Bridge, Routed: c.routed(), VRF: c.VRF, VLAN: c.VLAN, MTU: c.MTU, PortSecurity: c.PortSecurity, IO: c.IO, Name: podName(args.Args)}, nil
}

func routeSpec(r *types.Route) ctl.RouteSpec {
	s := ctl.RouteSpec{Dst: r.Dst.String()}
	if r.GW != nil {
		s.Gw = r.GW.String()
	}
	return s
}
