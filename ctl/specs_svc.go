package ctl

// The service commands: load-balanced virtual IPs (issue 21). A service
// is named, and is Proto to VIP:Port; its backends are addresses and
// ports, picked by Maglev consistent hashing of each new flow. Adding
// what is there and deleting what is not are no-ops, so scripts and
// drivers can retry.
var svcSpecs = []Spec{
	{Name: "svc/add", Batch: true, Usage: "NAME proto=tcp|udp vip=ADDR port=N",
		Help: "add a service: new flows of proto to vip:port go to its backends (none yet: refused until svc/backend-add); the same service again is a no-op, another with this name or this vip:port (or a port map's, or port 53 where the switch answers DNS) is refused (exists); vip=0.0.0.0 or :: is every uplink address", MinArgs: 4, MaxArgs: 4},
	{Name: "svc/del", Batch: true, Usage: "NAME", Help: "delete a service (no-op if there is none): its flows stop", MinArgs: 1, MaxArgs: 1},
	{Name: "svc/backend-add", Batch: true, Usage: "NAME addr=ADDR [port=N] [weight=N]",
		Help: "add a backend to a service (port: the service's; weight: its share of new flows, default 1); the backend again sets its weight; a backend is a host (not a subnet's network or broadcast address, nor a service's VIP)", MinArgs: 2, MaxArgs: 4},
	{Name: "svc/backend-del", Batch: true, Usage: "NAME addr=ADDR [port=N]", Help: "remove a service's backends at addr (only port= if given; no-op if none): their connections are reset, the others stay where they are", MinArgs: 2, MaxArgs: 3},
	{Name: "svc/drain", Batch: true, Usage: "NAME addr=ADDR [port=N] [on|off]", Help: "drain a service's backends at addr (only port= if given): no new flows, established ones go on; off takes new flows again", MinArgs: 2, MaxArgs: 4},
	{Name: "svc/show", Usage: "[NAME]", Help: "services: proto, vip:port, backends (weight, drained, share of the Maglev table) and new flows per backend", MaxArgs: 1, Read: true},
}

func init() { Specs = append(Specs, svcSpecs...) }

// SvcView is one service in svc/show.
type SvcView struct {
	Name     string           `json:"name"`
	Proto    string           `json:"proto"`
	VIP      string           `json:"vip"`
	Port     uint16           `json:"port"`
	Backends []SvcBackendView `json:"backends"`
	// NewFlows: flows the service made, over its current and former
	// backends; NoBackend: new flows refused for want of a backend.
	NewFlows  uint64 `json:"new_flows"`
	NoBackend uint64 `json:"no_backend"`
}

// SvcBackendView is one backend of a service, with its counters.
type SvcBackendView struct {
	Addr    string `json:"addr"`
	Port    uint16 `json:"port"`
	Weight  uint32 `json:"weight"`
	Drained bool   `json:"drained,omitempty"`
	// NewFlows since the backend joined the service.
	NewFlows uint64 `json:"new_flows"`
	// Share is the backend's share of the Maglev table (expected share
	// of new flows), 0 to 1.
	Share float64 `json:"share"`
}
