package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/vecswitch/vecswitch/ctl"
)

// NetConf is the network configuration this plugin reads (the CNI
// "netconf", one entry of a conflist's "plugins").
type NetConf struct {
	types.PluginConf
	// Bridge is the Vecswitch bridge the containers join (required in
	// bridge mode; it must exist: vsctl add-br).
	Bridge string `json:"bridge,omitempty"`
	// Mode is "bridge" (the default: containers share the bridge's
	// broadcast domain) or "routed" (Calico style: each container on a
	// routed port of its own, with /32 and /128 addresses and default
	// routes via 169.254.1.1 and fe80::1; vswitchd routes to it and, with
	// BGP configured, announces its address block).
	Mode string `json:"mode,omitempty"`
	// VRF is the routing table of a routed network's containers (default
	// "default"; it must exist: vsctl vrf/add).
	VRF string `json:"vrf,omitempty"`
	// VLAN makes each container's port an access port of that VLAN.
	VLAN int `json:"vlan,omitempty"`
	// MTU of the container interface (default: the bridge's overlay MTU,
	// or 1500).
	MTU int `json:"mtu,omitempty"`
	// MAC of the container interface (rarely wanted in a netconf shared
	// by many containers; runtimes pass one per container in
	// runtimeConfig or CNI_ARGS).
	MAC string `json:"mac,omitempty"`
	// PortSecurity "off" lets containers send from any MAC (a router or
	// a nested bridge in the container); default on.
	PortSecurity string `json:"portSecurity,omitempty"`
	// IO is how vswitchd reads the container's veth: "afpacket" (the
	// default: the container keeps TSO, TCP at the Linux bridge's speed)
	// or "afxdp" (packet rate of small frames, the XDP fast path).
	IO string `json:"io,omitempty"`
	// Socket is vswitchd's control socket (default ctl.DefaultSocket).
	Socket string `json:"socket,omitempty"`
	// Timeout of one call to vswitchd, in seconds (default 60).
	Timeout int `json:"timeout,omitempty"`
	// Args is the CNI "args" convention: args.cni.ips, args.cni.mac.
	Args *struct {
		CNI *fixedArgs `json:"cni,omitempty"`
	} `json:"args,omitempty"`
	// RuntimeConfig carries the "ips" and "mac" capabilities.
	RuntimeConfig *fixedArgs `json:"runtimeConfig,omitempty"`
}

// fixedArgs asks for a fixed MAC or addresses.
type fixedArgs struct {
	IPs []string `json:"ips,omitempty"`
	MAC string   `json:"mac,omitempty"`
}

// IPAMConf is the "ipam" section when its type is "vecswitch": vswitchd
// allocates from the named pool, which the section may also define (it is
// created by the first ADD, and must match afterwards). The fields follow
// host-local's, so a host-local section becomes a vecswitch one by
// changing its type.
type IPAMConf struct {
	Type string `json:"type"`
	// Pool is the pool's name (default: the network's name).
	Pool string `json:"pool,omitempty"`
	// One range, host-local style...
	Subnet     string `json:"subnet,omitempty"`
	RangeStart string `json:"rangeStart,omitempty"`
	RangeEnd   string `json:"rangeEnd,omitempty"`
	Gateway    string `json:"gateway,omitempty"`
	// ...or host-local's range sets (one range per set: at most one IPv4
	// and one IPv6).
	Ranges [][]RangeConf `json:"ranges,omitempty"`
	// Exclude lists addresses or subnets never handed out.
	Exclude []string `json:"exclude,omitempty"`
	// BlockSize is the prefix length of the blocks each host claims with
	// vswitchd --etcd, per range (default 26 for IPv4, 122 for IPv6).
	BlockSize []int `json:"blockSize,omitempty"`
	// Routes in the container; a route without gw goes via the gateway.
	Routes []*types.Route `json:"routes,omitempty"`
}

// RangeConf is one host-local range.
type RangeConf struct {
	Subnet     string `json:"subnet"`
	RangeStart string `json:"rangeStart,omitempty"`
	RangeEnd   string `json:"rangeEnd,omitempty"`
	Gateway    string `json:"gateway,omitempty"`
}

// ipamVecswitch is the IPAM type vswitchd serves itself.
const ipamVecswitch = "vecswitch"

// The network modes.
const (
	modeBridge = "bridge"
	modeRouted = "routed"
)

func (c *NetConf) routed() bool { return c.Mode == modeRouted }

// parseConf decodes and checks a netconf.
func parseConf(stdin []byte) (*NetConf, *IPAMConf, error) {
	var c NetConf
	if err := json.Unmarshal(stdin, &c); err != nil {
		return nil, nil, types.NewError(types.ErrDecodingFailure, "vecswitch-cni: malformed network configuration", err.Error())
	}
	bad := func(format string, a ...any) error {
		return types.NewError(types.ErrInvalidNetworkConfig, "vecswitch-cni: "+fmt.Sprintf(format, a...), "")
	}
	if c.Name == "" {
		return nil, nil, bad("the network has no name")
	}
	switch c.Mode {
	case "", modeBridge:
		if c.Bridge == "" {
			return nil, nil, bad("network %s: no \"bridge\" (the Vecswitch bridge its containers join)", c.Name)
		}
		if c.VRF != "" {
			return nil, nil, bad("network %s: \"vrf\" is for routed networks (mode \"routed\"); a bridge's containers are in its VRF", c.Name)
		}
	case modeRouted:
		if c.Bridge != "" {
			return nil, nil, bad("network %s: a routed network's containers join no bridge (\"bridge\" %q given)", c.Name, c.Bridge)
		}
		if c.VLAN != 0 {
			return nil, nil, bad("network %s: a routed network carries no VLAN", c.Name)
		}
	default:
		return nil, nil, bad("network %s: mode %q: want \"bridge\" or \"routed\"", c.Name, c.Mode)
	}
	if c.VLAN < 0 || c.VLAN > 4094 {
		return nil, nil, bad("network %s: vlan %d: want 0 (untagged) to 4094", c.Name, c.VLAN)
	}
	if c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535) {
		return nil, nil, bad("network %s: mtu %d: want 68 to 65535", c.Name, c.MTU)
	}
	if c.Timeout < 0 || c.Timeout > 3600 {
		return nil, nil, bad("network %s: timeout %d: want 1 to 3600 seconds", c.Name, c.Timeout)
	}
	switch c.PortSecurity {
	case "", "on", "off":
	default:
		return nil, nil, bad("network %s: portSecurity %q: want \"on\" or \"off\"", c.Name, c.PortSecurity)
	}
	switch c.IO {
	case "", "afxdp", "afpacket":
	default:
		return nil, nil, bad("network %s: io %q: want \"afpacket\" or \"afxdp\"", c.Name, c.IO)
	}
	if c.Socket == "" {
		c.Socket = ctl.DefaultSocket
	}
	if c.IPAM.Type != ipamVecswitch {
		return &c, nil, nil
	}
	var ic struct {
		IPAM IPAMConf `json:"ipam"`
	}
	dec := json.NewDecoder(strings.NewReader(string(stdin)))
	if err := dec.Decode(&ic); err != nil {
		return nil, nil, types.NewError(types.ErrDecodingFailure, "vecswitch-cni: malformed ipam section", err.Error())
	}
	if ic.IPAM.Pool == "" {
		ic.IPAM.Pool = c.Name
	}
	return &c, &ic.IPAM, nil
}

// poolDef turns an ipam section's ranges into vswitchd's pool options;
// nil if the section defines none (the pool must exist then).
func (ic *IPAMConf) poolDef() (*ctl.PoolDef, error) {
	ranges := ic.Ranges
	if ic.Subnet != "" {
		if len(ranges) > 0 {
			return nil, fmt.Errorf("give either subnet or ranges, not both")
		}
		ranges = [][]RangeConf{{{Subnet: ic.Subnet, RangeStart: ic.RangeStart, RangeEnd: ic.RangeEnd, Gateway: ic.Gateway}}}
	}
	if len(ranges) == 0 {
		if len(ic.Exclude) > 0 || len(ic.BlockSize) > 0 {
			return nil, fmt.Errorf("exclude and blockSize need the pool's subnet or ranges")
		}
		return nil, nil
	}
	var subnets, rs, gws []string
	withRange, withGw := 0, 0
	for _, set := range ranges {
		if len(set) != 1 {
			return nil, fmt.Errorf("each range set must hold one range (it holds %d)", len(set))
		}
		r := set[0]
		if r.Subnet == "" {
			return nil, fmt.Errorf("a range has no subnet")
		}
		subnets = append(subnets, r.Subnet)
		if r.RangeStart != "" || r.RangeEnd != "" {
			if r.RangeStart == "" || r.RangeEnd == "" {
				return nil, fmt.Errorf("range of %s: give both rangeStart and rangeEnd", r.Subnet)
			}
			withRange++
			rs = append(rs, r.RangeStart+"-"+r.RangeEnd)
		}
		if r.Gateway != "" {
			withGw++
			gws = append(gws, r.Gateway)
		}
	}
	// A range or gateway goes to the subnet that holds it (ipam.ParsePool),
	// so one range set may have a gateway and the other none.
	def := ctl.PoolDef{"subnet": strings.Join(subnets, ",")}
	if withRange > 0 {
		def["range"] = strings.Join(rs, ",")
	}
	if withGw > 0 {
		def["gateway"] = strings.Join(gws, ",")
	}
	if len(ic.Exclude) > 0 {
		def["exclude"] = strings.Join(ic.Exclude, ",")
	}
	if len(ic.BlockSize) > 0 {
		var bs []string
		for _, b := range ic.BlockSize {
			bs = append(bs, fmt.Sprint(b))
		}
		def["block"] = strings.Join(bs, ",")
	}
	return &def, nil
}

// cniArgs parses CNI_ARGS ("K=V;K=V"): IP (comma-separated addresses) and
// MAC are used, everything else (K8S_POD_NAME, IgnoreUnknown...) ignored.
func cniArgs(s string) (ips []string, mac string, err error) {
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, "", fmt.Errorf("CNI_ARGS: %q is not KEY=VALUE", kv)
		}
		switch k {
		case "IP":
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					ips = append(ips, a)
				}
			}
		case "MAC":
			mac = v
		}
	}
	return ips, mac, nil
}

// podName is the endpoint's DNS name from CNI_ARGS' K8S_POD_NAME (set by
// Kubernetes runtimes, and by Podman to the container's name), when it is
// one DNS label (letters, digits, hyphens, at most 63, not starting or
// ending with a hyphen); else none (the endpoint gets no name, as before).
func podName(s string) string {
	for _, kv := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "K8S_POD_NAME" {
			continue
		}
		if len(v) == 0 || len(v) > 63 || v[0] == '-' || v[len(v)-1] == '-' {
			return ""
		}
		for _, c := range v {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return ""
			}
		}
		return v
	}
	return ""
}

// fixed merges the ways a runtime asks for a fixed MAC and addresses:
// runtimeConfig wins over args.cni, which wins over CNI_ARGS, which wins
// over the netconf's mac.
func (c *NetConf) fixed(envArgs string) (ips []string, mac string, err error) {
	ips, mac, err = cniArgs(envArgs)
	if err != nil {
		return nil, "", err
	}
	if mac == "" {
		mac = c.MAC
	}
	if err := checkFixed(ips, mac); err != nil {
		return nil, "", err
	}
	for _, f := range []*fixedArgs{argsCNI(c), c.RuntimeConfig} {
		if f == nil {
			continue
		}
		if err := checkFixed(f.IPs, f.MAC); err != nil {
			return nil, "", err
		}
		if len(f.IPs) > 0 {
			ips = f.IPs
		}
		if f.MAC != "" {
			mac = f.MAC
		}
	}
	return ips, mac, nil
}

// checkFixed checks a fixed MAC ("" for none) and addresses.
func checkFixed(ips []string, mac string) error {
	if mac != "" {
		if hw, err := net.ParseMAC(mac); err != nil || len(hw) != 6 {
			return fmt.Errorf("mac %q is not an Ethernet address", mac)
		}
	}
	for _, a := range ips {
		if _, err := netip.ParseAddr(a); err != nil {
			if _, err := netip.ParsePrefix(a); err != nil {
				return fmt.Errorf("ip %q is not an address", a)
			}
		}
	}
	return nil
}

func argsCNI(c *NetConf) *fixedArgs {
	if c.Args == nil {
		return nil
	}
	return c.Args.CNI
}
