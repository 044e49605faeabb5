// Package dockernet makes Vecswitch a Docker network: a libnetwork remote
// network driver and IPAM driver (`docker network create -d vecswitch
// --ipam-driver vecswitch`), served by vswitchd on a unix socket.
//
// It is a translator with a small memory. Each Docker call becomes
// control commands of vswitchd (add-br, endpoint/add with peer_here,
// ipam/pool-add, ipam/alloc...), run in-process through the daemon's
// command registry (a Caller), so every rule, lock and durable write of
// the daemon applies, and the IPAM is the very allocator and store the
// CNI plugin uses. What Docker tells only once and asks for later (a
// network's gateways and options, an endpoint's interface name, pool
// reference counts) is kept in docker.json in the state directory,
// written atomically before a call is answered, so a restart of vswitchd
// while dockerd runs loses nothing. A damaged docker.json falls back to
// its previous copy and is kept aside (store.go); a network whose record
// is lost so is named and refused, never remade from a guess, and
// Docker's calls that take it down still work (lost.go).
//
// Names are derived, not invented: a network's bridge is "docker-" and
// the first 12 hex digits of its ID, an endpoint's container end
// "vdp" and 12 of the endpoint ID, a pool's ID "docker-" and a hash of
// (address space, pool, sub-pool). A call that failed half-way (vswitchd
// killed between its commands) is therefore repaired by Docker's retry,
// which finds what the first attempt made.
//
// Docker's flow: CreateNetwork makes the bridge (a VXLAN segment with
// -o vni=N, an access VLAN with -o vlan=N); CreateEndpoint makes the veth
// pair and its AF_XDP port, leaving the container end in vswitchd's
// namespace (netdev.VethOptions.PeerHere); Join names it, and libnetwork
// moves it into the sandbox, renames it ethN and configures the address
// the IPAM driver gave. DeleteEndpoint removes the pair. Networks get no
// router interface: like Docker's bridge networks they are isolated from
// each other. Join returns the gateway (unless --internal) and disables
// libnetwork's gateway service, which would otherwise attach every
// container to a docker_gwbridge Linux bridge with iptables rules.
//
// A network created with -o mode=routed has no bridge: each endpoint is a
// routed vswitchd endpoint (a routed port with a proxy-ARP interface), and
// Join gives the container 169.254.1.1 and fe80::1 as gateways, with an
// on-link route to 169.254.1.1, as Calico's Docker plugin does.
//
// A network created with -o masquerade=UPLINK is routed (router.go): a
// router interface "dr-" and 12 hex digits of its ID holds the gateways,
// and vswitchd masquerades its subnets behind UPLINK, a router interface
// the administrator made on the host's uplink. Only such a network
// publishes ports: ProgramExternalConnectivity turns -p's bindings into
// vswitchd port maps (nat/map-add, portmap.go), choosing the first free
// host port of a range or of 49153-65535 for -p PORT and -P, and keeps
// them per endpoint in docker.json; RevokeExternalConnectivity,
// DeleteEndpoint and DeleteNetwork delete them. On another network, -p
// is refused with a clear error.
//
// Calls dockerd gave up on while vswitchd did not answer (it retries
// each for about 15 s, then goes on as if it had been done) are repaired
// from the driver's side (reconcile.go): at start and before
// CreateEndpoint, CreateNetwork and RequestPool, an endpoint Join
// recorded whose container end came back to vswitchd's namespace is
// deleted with its port maps and lease; a network whose bridge the
// administrator removed is forgotten with its pool reference. A remote
// driver cannot list Docker's networks, so a network removed during an
// outage is named by the overlap error the next network of its subnet
// gets, with the command that removes it.
//
// Errors follow the plugin protocol: {"Err": "..."} with status 500 (400
// for a body that is not the request's JSON). 404 is reserved for
// unknown methods, as libnetwork treats it as "not implemented".
package dockernet
