package dockernet

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
)

// A network created with -o masquerade=UPLINK is routed, as Docker's
// default bridge is: the driver gives its bridge a router interface
// (routerName) holding the IPAM gateways, and masquerades its subnets
// behind UPLINK, a router interface of vswitchd's the administrator made
// (rif/add on a bridge with the host's uplink port). Only a routed
// network can publish ports (-p, portmap.go): a port map sends flows from
// the uplink to the container through the router. Networks without the
// option stay isolated, with no router interface.

// routerName is the router interface of a routed network.
func routerName(networkID string) string { return "dr-" + shortID(networkID) }

// gatewayPrefix is an IPAM data's gateway with its prefix length
// ("A.B.C.D/NN"; a bare address takes the pool's length).
func gatewayPrefix(data []ipamData) (string, error) {
	if len(data) == 0 || data[0].Gateway == "" {
		return "", nil
	}
	if p, err := netip.ParsePrefix(data[0].Gateway); err == nil {
		return p.String(), nil
	}
	a, err := netip.ParseAddr(data[0].Gateway)
	if err != nil {
		return "", fmt.Errorf("gateway %q: not an address", data[0].Gateway)
	}
	pool, err := netip.ParsePrefix(data[0].Pool)
	if err != nil {
		return "", fmt.Errorf("gateway %q: no prefix length, and pool %q is not a prefix", data[0].Gateway, data[0].Pool)
	}
	return netip.PrefixFrom(a, pool.Bits()).String(), nil
}

// makeRouter gives a masquerading network its router interface and
// masquerade. Both commands take over what an earlier attempt made.
func (d *Driver) makeRouter(n *network, req *createNetworkRequest) error {
	var addrs []string
	for _, data := range [][]ipamData{req.IPv4Data, req.IPv6Data} {
		gw, err := gatewayPrefix(data)
		if err != nil {
			return err
		}
		if gw != "" {
			addrs = append(addrs, gw)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("option masquerade=%s: the network has no gateway address for its router interface", n.Masquerade)
	}
	n.Router = routerName(n.ID)
	args := []string{n.Router, "bridge=" + n.Bridge, "addr=" + strings.Join(addrs, ",")}
	if n.VLAN != 0 {
		args = append(args, "vlan="+strconv.Itoa(n.VLAN))
	}
	if n.MTU != 0 {
		args = append(args, "mtu="+strconv.Itoa(n.MTU))
	}
	if err := d.cfg.Caller.Call("rif/add", args, nil); err != nil && !isCode(err, ctl.CodeExists) {
		if strings.Contains(err.Error(), " overlaps ") {
			var hint string
			for _, a := range addrs {
				if hint == "" {
					hint = d.overlapHint(netip.MustParsePrefix(a).Masked())
				}
			}
			return fmt.Errorf("option masquerade=%s: router interface %s: %w%s", n.Masquerade, n.Router, err, hint)
		}
		return err
	}
	if err := d.cfg.Caller.Call("nat/masquerade-add", []string{n.Router, "external=" + n.Masquerade}, nil); err != nil {
		return fmt.Errorf("option masquerade=%s: %w", n.Masquerade, err)
	}
	return nil
}
