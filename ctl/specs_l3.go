package ctl

// l3Specs are the L3 commands' specs, appended to Specs.
var l3Specs = []Spec{
	{Name: "vrf/add", Batch: true, Usage: "NAME", Help: "create a VRF (a routing table of its own; \"default\" always exists); the same again is a no-op", MinArgs: 1, MaxArgs: 1},
	{Name: "vrf/del", Batch: true, Usage: "NAME", Help: "delete a VRF without interfaces, with its static routes", MinArgs: 1, MaxArgs: 1},
	{Name: "rif/add", Batch: true, Usage: "NAME bridge=BRIDGE [vlan=N] [vrf=NAME] [mac=MAC] [mtu=N] [addr=CIDR,...]",
		Help: "add a router interface in one VLAN of a bridge: frames to its MAC are routed (for a routed port, give the port a bridge of its own)", MinArgs: 2, MaxArgs: 7},
	{Name: "rif/del", Batch: true, Usage: "NAME", Help: "delete a router interface, its static neighbors, the static routes through it and the NAT masquerades and uplink entry naming it", MinArgs: 1, MaxArgs: 1},
	{Name: "rif/show", Help: "router interfaces: domain, VRF, MAC, MTU, addresses", Read: true},
	{Name: "addr/add", Batch: true, Usage: "INTERFACE CIDR", Help: "add an address (10.0.0.1/24, fd00::1/64) to a router interface; its subnet becomes a connected route", MinArgs: 2, MaxArgs: 2},
	{Name: "addr/del", Batch: true, Usage: "INTERFACE ADDR[/LEN]", Help: "remove an address from a router interface", MinArgs: 2, MaxArgs: 2},
	{Name: "route/add", Batch: true, Usage: "PREFIX (via=GW[,GW...] [dev=IF] | dev=IF | blackhole) [vrf=NAME]",
		Help: "add a static route; several gateways make an ECMP route (one flow keeps one path); the same route again is a no-op, another to the prefix is refused", MinArgs: 2, MaxArgs: 4},
	{Name: "route/del", Batch: true, Usage: "PREFIX [vrf=NAME]", Help: "delete a static route", MinArgs: 1, MaxArgs: 2},
	{Name: "route/show", Usage: "[VRF]", Help: "routes: connected, local, static, blackhole, bgp (learned)", MaxArgs: 1, Read: true},
	{Name: "neigh/show", Usage: "[INTERFACE]", Help: "the ARP/ND table: address, MAC, static or learned, seconds since confirmed", MaxArgs: 1, Read: true},
	{Name: "neigh/add", Batch: true, Usage: "INTERFACE ADDR MAC", Help: "add a static ARP/ND entry", MinArgs: 3, MaxArgs: 3},
	{Name: "neigh/del", Batch: true, Usage: "INTERFACE ADDR", Help: "remove a static ARP/ND entry", MinArgs: 2, MaxArgs: 2},
	{Name: "neigh/flush", Usage: "[INTERFACE]", Help: "forget learned ARP/ND entries (static ones stay)", MaxArgs: 1},
}

func init() { Specs = append(Specs, l3Specs...) }
