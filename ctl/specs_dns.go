package ctl

// The DNS commands (issue 21): a router interface's network gets a
// resolver at the switch's addresses (UDP port 53), answering the names
// of the endpoints whose addresses are in the interface's subnets and
// the names of the services (their VIPs).
var dnsSpecs = []Spec{
	{Name: "dns/enable", Usage: "INTERFACE [domain=DOMAIN] [upstream=ADDR[:PORT],...]",
		Help: "answer DNS at the router interface's addresses for its network: endpoint and service names in domain (default INTERFACE.vecswitch.), other names sent to the upstreams (none: refused); enabling again replaces domain and upstreams", MinArgs: 1, MaxArgs: 3},
	{Name: "dns/disable", Usage: "INTERFACE", Help: "stop answering DNS on a router interface (no-op if not enabled)", MinArgs: 1, MaxArgs: 1},
	{Name: "dns/show", Help: "DNS networks (domain, upstreams, names and their addresses), the resolver's answers by outcome and the switch's punt counters", Read: true},
	{Name: "endpoint/set", Usage: "PORT|CONTAINER name=NAME", Help: "name an endpoint (its port) or every endpoint of a container (its ID): DNS answers the name with their addresses; name= clears it", MinArgs: 2, MaxArgs: 2},
}

func init() { Specs = append(Specs, dnsSpecs...) }

// DNSShowView is dns/show's answer.
type DNSShowView struct {
	Networks []DNSNetworkView `json:"networks"`
	// Resolver counts the queries answered by outcome (answered,
	// nxdomain, refused, forwarded...).
	Resolver map[string]uint64 `json:"resolver"`
	// Punt is the switch's punt path: queries taken off the workers,
	// replies sent back, drops.
	Punt DNSPuntView `json:"punt"`
}

// DNSPuntView are the switch's DNS punt counters.
type DNSPuntView struct {
	Punted     uint64 `json:"punted"`
	Replies    uint64 `json:"replies"`
	ReplyDrops uint64 `json:"reply_drops"`
	NoHandler  uint64 `json:"no_handler"`
	Malformed  uint64 `json:"malformed"`
	// DNS over TCP: connections open now, accepted, refused (table
	// full), resets sent, retransmission timeouts, queries read.
	TCPConnections uint64 `json:"tcp_connections"`
	TCPAccepted    uint64 `json:"tcp_accepted"`
	TCPRefused     uint64 `json:"tcp_refused"`
	TCPResets      uint64 `json:"tcp_resets"`
	TCPRetransmits uint64 `json:"tcp_retransmits"`
	TCPQueries     uint64 `json:"tcp_queries"`
}

// DNSNetworkView is one DNS-enabled router interface.
type DNSNetworkView struct {
	Interface string        `json:"interface"`
	Domain    string        `json:"domain"`
	Upstreams []string      `json:"upstreams,omitempty"`
	Names     []DNSNameView `json:"names"`
}

// DNSNameView is one name of a network.
type DNSNameView struct {
	Name string `json:"name"`
	// Kind is "endpoint" or "service".
	Kind  string   `json:"kind"`
	Addrs []string `json:"addrs"`
}
