package ctl

// The NAT commands. Names are router interfaces (rif/add): a masquerade
// hides the networks of one interface behind the first address of each
// family of an uplink interface; a port map sends new flows to a host
// address and port on to a target (Docker's -p). Adding what exists and
// deleting what does not are no-ops, so scripts and drivers can retry.
var natSpecs = []Spec{
	{Name: "nat/masquerade-add", Batch: true, Usage: "INTERFACE external=UPLINK",
		Help: "masquerade the networks of a router interface behind the uplink router interface's address (flows to anything outside the switch's networks); the same masquerade again is a no-op", MinArgs: 2, MaxArgs: 2},
	{Name: "nat/masquerade-del", Batch: true, Usage: "INTERFACE", Help: "stop masquerading a router interface's networks (no-op if not masqueraded); its translated flows stop", MinArgs: 1, MaxArgs: 1},
	{Name: "nat/map-add", Batch: true, Usage: "proto=tcp|udp [host=ADDR] host-port=N target=ADDR [target-port=N]",
		Help: "map a host port to a target address and port (Docker's -p): no host= means every uplink address of the target's family; target-port defaults to host-port; a map overlapping another is refused (exists), the same map again is a no-op", MinArgs: 3, MaxArgs: 5},
	{Name: "nat/map-del", Batch: true, Usage: "proto=tcp|udp [host=ADDR] host-port=N [target=ADDR]", Help: "delete the port maps of a host address (none: the any-address maps) and port, only those to target= if given (no-op if none); their flows stop", MinArgs: 2, MaxArgs: 4},
	{Name: "nat/uplink-add", Batch: true, Usage: "INTERFACE", Help: "add an uplink: port maps with no host= bind its addresses too (every masquerade's uplink is one already)", MinArgs: 1, MaxArgs: 1},
	{Name: "nat/uplink-del", Batch: true, Usage: "INTERFACE", Help: "remove an uplink added with nat/uplink-add (no-op if not there)", MinArgs: 1, MaxArgs: 1},
	{Name: "nat/show", Help: "NAT configuration (masquerades, port maps, uplinks) and counters: flows, translated packets, refused packets by reason", Read: true},
	{Name: "nat/flush-flows", Help: "forget every NAT flow: translated connections must start again, with the configuration as it is now", MaxArgs: 0},
}

func init() { Specs = append(Specs, natSpecs...) }

// NATShowView is nat/show's answer.
type NATShowView struct {
	Masquerade []NATMasqueradeView `json:"masquerade"`
	PortMaps   []NATPortMapView    `json:"port_maps"`
	// Uplinks are the interfaces added with nat/uplink-add.
	Uplinks []string `json:"uplinks"`
	// Enabled: some masquerade or port map is in the switch.
	Enabled bool `json:"enabled"`
	// Flows is the number of tracked NAT flows.
	Flows int `json:"flows"`
	// SNAT, DNAT, Hairpin count flows created with each translation.
	SNAT    uint64 `json:"snat_flows"`
	DNAT    uint64 `json:"dnat_flows"`
	Hairpin uint64 `json:"hairpin_flows"`
	// Translated counts packets rewritten.
	Translated uint64 `json:"translated_packets"`
	// Refused counts packets dropped by reason (ports-exhausted, ...).
	Refused map[string]uint64 `json:"refused,omitempty"`
	// Conntrack are the NAT tracker's counters by name.
	Conntrack map[string]uint64 `json:"conntrack,omitempty"`
}

// NATMasqueradeView is one masquerade.
type NATMasqueradeView struct {
	Interface string `json:"interface"`
	External  string `json:"external"`
}

// NATPortMapView is one port map: Host:HostPort/Proto ->
// Target:TargetPort. An empty Host is every uplink address.
type NATPortMapView struct {
	Proto      string `json:"proto"`
	Host       string `json:"host,omitempty"`
	HostPort   uint16 `json:"host_port"`
	Target     string `json:"target"`
	TargetPort uint16 `json:"target_port"`
}
