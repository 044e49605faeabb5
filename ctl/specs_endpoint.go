package ctl

// The container-platform commands: endpoints (what the CNI plugin asks
// for, one JSON argument each) and address pools.
var endpointSpecs = []Spec{
	{Name: "endpoint/add", Usage: "JSON", Help: "attach a container (an EndpointRequest, as vecswitch-cni sends it): a veth port in the bridge, addresses from a pool or given; idempotent", MinArgs: 1, MaxArgs: 1},
	{Name: "endpoint/del", Usage: "JSON", Help: "detach a container (network, container_id, ifname of an EndpointRequest): its port, veth and lease go; succeeds if it is already gone", MinArgs: 1, MaxArgs: 1},
	{Name: "endpoint/check", Usage: "JSON", Help: "check that a container's endpoint is as it was made: port up, interface, MAC, addresses and routes in its namespace, and the MAC, addresses and routes the request names (a CNI previous result)", MinArgs: 1, MaxArgs: 1, Read: true},
	{Name: "endpoint/gc", Usage: "JSON", Help: "remove every endpoint of a network that is not in the runtime's list of valid attachments (an EndpointGC), and leases and veths left by crashes", MinArgs: 1, MaxArgs: 1},
	{Name: "endpoint/status", Usage: "JSON", Help: "whether a network (an EndpointStatus: bridge, pool) can take containers now", MinArgs: 1, MaxArgs: 1, Read: true},
	{Name: "endpoint/show", Usage: "[network=NAME] [container=ID]", Help: "container endpoints: network, container, interface, port, addresses, state", MaxArgs: 2, Read: true},
	{Name: "ipam/pool-add", Usage: "POOL subnet=CIDR[,CIDR] [range=START-END,...] [gateway=ADDR,...] [exclude=ADDR|CIDR,...] [block=BITS,...]",
		Help: "add an address pool: one IPv4 and/or one IPv6 subnet (dual stack), the range handed out, the gateway (never handed out), excluded addresses, and (with --etcd) the size of the blocks each host claims; adding the same definition again is a no-op", MinArgs: 2, MaxArgs: 6},
	{Name: "ipam/pool-del", Usage: "POOL", Help: "remove an address pool that has no leases (and give back its blocks in etcd)", MinArgs: 1, MaxArgs: 1},
	{Name: "ipam/show", Usage: "[POOL]", Help: "address pools: ranges, gateway, size, used and free addresses, claimed blocks, and the leases of one pool", MaxArgs: 1, Read: true},
	{Name: "ipam/alloc", Usage: "POOL OWNER [ips=ADDR,...]", Help: "lease addresses of a pool (one per range) to OWNER, a name of the caller's choosing (not cni/..., which endpoints use); the same owner gets its lease again", MinArgs: 2, MaxArgs: 3},
	{Name: "ipam/release", Usage: "POOL ADDR|owner=OWNER", Help: "free a lease that is not an endpoint's (an endpoint's goes with endpoint/del); freeing what is not leased succeeds", MinArgs: 2, MaxArgs: 2},
}

func init() { Specs = append(Specs, endpointSpecs...) }
