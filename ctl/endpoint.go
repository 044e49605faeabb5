package ctl

// EndpointRequest is the one argument of endpoint/add, endpoint/check and
// endpoint/del, as vecswitch-cni builds it from the runtime's call. An
// endpoint is named by Network, ContainerID and IfName (the CNI
// attachment key); DEL needs only those.
type EndpointRequest struct {
	Network     string `json:"network"`
	ContainerID string `json:"container_id"`
	IfName      string `json:"ifname"`
	// Netns is the container's network namespace path (ADD, CHECK).
	Netns string `json:"netns,omitempty"`
	// PeerHere, instead of Netns, leaves the container end of the veth in
	// vswitchd's namespace, named IfName, for the runtime to move into the
	// container: Docker's libnetwork moves and renames the interface a
	// driver names in Join, and configures its addresses itself. Addrs are
	// then recorded, not configured; Routes are not allowed.
	PeerHere bool `json:"peer_here,omitempty"`
	// Bridge is the Vecswitch bridge the port joins; it must exist...
	Bridge string `json:"bridge,omitempty"`
	// ...or Routed attaches the container Calico style, to no bridge: its
	// port is a routed port with a proxy-ARP router interface in VRF
	// (default "default"), the container gets its addresses as /32 and
	// /128 with default routes via 169.254.1.1 and fe80::1 (on-link), and
	// the switch routes to it by a host route. With BGP running, the
	// address block of each routed endpoint is announced (bgp/show).
	Routed bool   `json:"routed,omitempty"`
	VRF    string `json:"vrf,omitempty"`
	// VLAN makes the port an access port of that VLAN (0: untagged).
	VLAN int `json:"vlan,omitempty"`
	// MTU of the container interface (0: the bridge's overlay MTU or 1500).
	MTU int `json:"mtu,omitempty"`
	// MAC of the container interface ("": the kernel picks one). In
	// endpoint/check: the MAC the runtime's previous result gives it.
	MAC string `json:"mac,omitempty"`
	// Pool names the address pool the daemon allocates from ("" with
	// Addrs: addresses come from elsewhere, e.g. a delegated IPAM plugin).
	Pool string `json:"pool,omitempty"`
	// PoolDef, if set, defines Pool inline: it is created if missing and
	// must match if present (the CNI netconf's ipam section).
	PoolDef *PoolDef `json:"pool_def,omitempty"`
	// WantIPs asks for these addresses from Pool (runtimeConfig "ips",
	// CNI_ARGS IP=), at most one per family.
	WantIPs []string `json:"want_ips,omitempty"`
	// Addrs are given addresses (ADDRESS/PREFIX) when Pool is "". In
	// endpoint/check: addresses the container interface must also have
	// (the previous result's).
	Addrs []string `json:"addrs,omitempty"`
	// Gateways of the given addresses (one per family, may be empty).
	Gateways []string `json:"gateways,omitempty"`
	// Routes for the container; a route without Gw uses the pool's
	// gateway of its family. In endpoint/check: routes the container
	// must also have (a route without Gw: via any gateway).
	Routes []RouteSpec `json:"routes,omitempty"`
	// PortSecurity "off" lets the container send from any MAC.
	PortSecurity string `json:"port_security,omitempty"`
	// IO is how the switch reads the veth's host end: "afpacket" (the
	// default: the container keeps TSO, TCP in 64 KiB frames) or "afxdp"
	// (packet rate of small frames, the XDP fast path).
	IO string `json:"io,omitempty"`
	// Name, if set, is the endpoint's DNS name (a pod's or container's
	// name): see dns/enable. endpoint/set changes it.
	Name string `json:"name,omitempty"`
}

// PoolDef is an address pool's definition in the ipam/pool-add option form
// (subnet=, range=, gateway=, exclude=, block=), as a map.
type PoolDef map[string]string

// RouteSpec is a route in a container (Gw "": via the pool's gateway).
type RouteSpec struct {
	Dst string `json:"dst"`
	Gw  string `json:"gw,omitempty"`
}

// EndpointView is an endpoint as stored and shown, and endpoint/add's
// answer: everything a CNI result reports.
type EndpointView struct {
	Network     string `json:"network"`
	ContainerID string `json:"container_id"`
	IfName      string `json:"ifname"`
	Netns       string `json:"netns"`
	// PeerHere: the container end was left for the runtime to move
	// (EndpointRequest.PeerHere); Netns is then empty.
	PeerHere bool   `json:"peer_here,omitempty"`
	Bridge   string `json:"bridge"`
	// Routed: a routed endpoint (EndpointRequest.Routed) in VRF; Bridge
	// is then empty, and Port is also the name of its router interface.
	Routed bool   `json:"routed,omitempty"`
	VRF    string `json:"vrf,omitempty"`
	// Blocks (routed) are the address blocks of its addresses, which the
	// host announces over BGP and blackholes for addresses no container
	// has.
	Blocks []string `json:"blocks,omitempty"`
	// Port is the switch port, also the host end's interface name.
	Port string `json:"port"`
	// MAC is the container interface's.
	MAC  string `json:"mac"`
	VLAN int    `json:"vlan,omitempty"`
	MTU  int    `json:"mtu"`
	Pool string `json:"pool,omitempty"`
	// Addrs are ADDRESS/PREFIX, Gateways one per family that has one.
	Addrs    []string    `json:"addrs"`
	Gateways []string    `json:"gateways,omitempty"`
	Routes   []RouteSpec `json:"routes,omitempty"`
	// Name is the endpoint's DNS name, if it has one.
	Name string `json:"name,omitempty"`
	// State is "up", or "down: why" (endpoint/show only).
	State string `json:"state,omitempty"`
}

// EndpointGC is endpoint/gc's argument: every endpoint of Network not
// named in Valid is removed.
type EndpointGC struct {
	Network string           `json:"network"`
	Valid   []AttachmentName `json:"valid"`
}

// AttachmentName names one endpoint of a network.
type AttachmentName struct {
	ContainerID string `json:"container_id"`
	IfName      string `json:"ifname"`
}

// GCResult says what endpoint/gc removed.
type GCResult struct {
	Endpoints []AttachmentName `json:"endpoints"`
	// Leases are pool leases with no endpoint that were freed.
	Leases []string `json:"leases"`
	// Veths are host interfaces of endpoints that were never stored (the
	// daemon died between making and storing them).
	Veths []string `json:"veths"`
}

// EndpointStatus is endpoint/status's argument.
type EndpointStatus struct {
	Network string `json:"network"`
	Bridge  string `json:"bridge"`
	// Routed and VRF: a routed network (EndpointRequest.Routed).
	Routed bool   `json:"routed,omitempty"`
	VRF    string `json:"vrf,omitempty"`
	Pool   string `json:"pool,omitempty"`
}

// PoolView is one pool in ipam/show.
type PoolView struct {
	Name   string      `json:"name"`
	Ranges []RangeView `json:"ranges"`
	Leases []LeaseView `json:"leases,omitempty"`
}

// RangeView is one range of a pool, with its use.
type RangeView struct {
	Subnet    string   `json:"subnet"`
	Start     string   `json:"start"`
	End       string   `json:"end"`
	Gateway   string   `json:"gateway,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	BlockBits int      `json:"block_bits,omitempty"`
	Size      string   `json:"size"` // decimal: an IPv6 range may hold 2^64
	Used      int      `json:"used"`
	// Blocks this host holds (multi-host mode only).
	Blocks []string `json:"blocks,omitempty"`
}

// LeaseView is one lease.
type LeaseView struct {
	Owner string   `json:"owner"`
	Addrs []string `json:"addrs"`
}
