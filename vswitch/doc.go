// Package vswitch is Vecswitch's switch and router: it turns a desired
// configuration (bridges, ports, VLANs, static MACs; VRFs, router
// interfaces, routes, static neighbors) into compiled tables and runs the L2
// and L3 nodes of the pipeline graph over them.
//
// # Configuration
//
// Config is plain data. Reconfigure validates it (errors are *ConfigError,
// wrapping ErrInvalidConfig, with the path of the bad field), compiles it
// into immutable tables and publishes them with an atomic pointer. Workers
// load the pointer once per vector, so a change never stops traffic and the
// data path takes no lock. Port drivers are attached separately (AddPort,
// RemovePort); a configured port without a driver is down.
//
// Each (bridge, VLAN) pair is a learning domain with a stable 16-bit ID.
// Bridges never exchange frames, and neither do VLANs of one bridge.
//
// # Data path
//
//	l2-input  parse Ethernet, classify (port, VLAN tag) -> domain, pop the tag
//	l2-fwd    learn the source MAC, look up the destination
//	l2-flood  replicate to every port of the domain but the ingress one
//	l2-output check the port still carries the domain, push a tag on trunks, tx
//
// Routed frames (addressed to a router interface's MAC, a static MAC table
// entry on the reserved router port) continue from l2-fwd:
//
//	ip4-forward / ip6-forward  header checks, FIB lookup (per VRF), ECMP by
//	                           flow hash, TTL/hop limit, MTU, neighbor, TTL
//	                           decrement (RFC 1624), MAC rewrite, L2 lookup
//	                           in the outgoing domain -> l2-output
//	ip4-local / ip6-local      echo replies; ND (solicitations answered,
//	                           advertisements learned)
//	arp-input                  ARP replies for our addresses, learning
//	ip4-glean / ip6-glean      resolve an unknown next hop (ARP request /
//	                           neighbor solicitation), drop the packet
//	ip4-icmp-error /           ICMP errors built in place in the headroom,
//	ip6-icmp-error             rate-limited per worker
//
// The FIBs (internal/fib) are updated in place when routes change (only the
// difference between two configurations touches them) and map a
// destination to an adjacency: local, connected (resolve the destination),
// gateway, blackhole or ECMP group. The neighbor table (neighbor.go) is,
// like the MAC table, written by one goroutine fed by per-worker event
// rings and read lock-free. A routed port is a hidden single-port bridge
// with the interface in it, so it shares the L2 input path. An interface
// with ProxyARP on a routed port (a Calico-style container: a /32, a
// default route via 169.254.1.1 or fe80::1) answers ARP and ND for every
// address but the asker's own, takes fe80::1 as its own, learns every
// asker, and resolves from the link-local gateway when it has no address
// of the family.
//
// Every drop is counted under a named reason of the node that dropped it
// (Switch.Runtime), never logged per packet.
//
// # MAC learning
//
// The MAC table (mactable.go) has one writer, the learner, which drains
// bounded per-worker rings of learn events; a full ring drops the event and
// counts it. Readers never lock. A port's entries are flushed in O(1) by
// bumping the port's sequence number; the ager, run by the learner about once
// a second, reclaims entries that are stale or idle longer than their
// bridge's MAC age. A bridge stops learning new MACs at its MAC limit and
// counts what it refused (MACStats); so does each port at its own, much
// lower limit (Port.MACLimit, default DefaultPortMACLimit = 4096;
// PortInfo.MACs, MACLimitDrops), so one port flooding random sources
// fills neither its bridge nor the host's memory. The learner loop sleeps
// when idle; the first event a worker publishes wakes it (waker in
// ring.go).
//
// Memory per MAC: a table slot is 16 bytes (8 of key, 8 of value, in
// 64-byte buckets of 4). The table doubles when 3/4 full, so it is 3/8 to
// 3/4 full: 21 to 43 bytes per entry, 32 measured at 256 Ki entries
// (TestMACTableMemoryPerEntry: heap 32 bytes per entry too), and for a
// moment 1.5 times that while it doubles. 1 Mi MACs (a bridge's default
// limit) take 32 to 48 MiB. An entry offloaded to the kernel fast path
// also has a map entry on the Go side and a slot in the kernel's map. The
// table does not shrink when entries go.
//
// Sources that no station may have are never learned: multicast, the zero
// MAC, and a source equal to the frame's destination (another station's
// MAC: learning it would take that MAC from its port), each dropped with
// its counter in l2-input.
//
// # Port security
//
// A port's Port.MACs (the container interface the control plane made and
// knows) are bound to it unless Port.PortSecurity is false, as OVN/Neutron
// port security and Calico do: they are static entries on the port in
// each VLAN it carries (with a bound bit), the port may send only from
// them (l2-input: one compare with the compiled MAC), and a frame from
// another port with a bound source is dropped (l2-fwd, on the lookup it
// makes anyway), so a neighbour cannot move the MAC to itself.
//
// # Reading a large table
//
// FDBPage reads the table without the learner's lock and returns one page
// in (VLAN, MAC) order, filtered by bridge, port, VLAN and MAC, keeping at
// most Limit entries in memory, with the total and a cursor for the next
// page: one request never builds the whole table.
//
// # Kernel fast path
//
// With Options.FastPath (ports/afxdp's XDP fast path), the switch mirrors
// the MAC-table entries of its fast-path member ports into the kernel,
// which then switches known unicast between them without the pipeline:
// fastpath.go says what is mirrored, when, and how aging, flushes, port
// removal, VLAN changes and traces keep the kernel a subset of the table.
//
// # Security groups
//
// Config.SecurityGroups (config_sg.go) are named groups of ports with
// rules (direction, protocol, destination port range, remote CIDR or
// remote group, priority, allow/deny) and member addresses. Semantics are
// Neutron's: a port in no group is not filtered; a port in one or more
// groups is default-deny in both directions, and only what a rule of its
// groups allows passes; the replies of an allowed flow (and ICMP errors
// about it) pass through conntrack. Validation errors are *SGError,
// wrapping ErrInvalidConfig and policy/acl's sentinel (ErrBadCIDR,
// ErrPortRange, ErrUnknownGroup, ErrDuplicateRule...) or ErrBadProto, and
// change nothing. Reconfigure compiles the groups with the attached
// ports' indexes into one policy/acl Classifier and publishes it, with
// per-worker rule counters, behind an atomic pointer (sg.go); the
// connection tracker (policy/conntrack, Options.ConntrackCapacity flows)
// is made when a group first has a port.
//
// The filter is one node, sg-policy (node_sgpolicy.go), in front of
// l2-output: there both ends of a packet are known, for switched and
// routed traffic alike. l2-fwd (known unicast), l2-flood (each IP copy)
// and ip4-forward/ip6-forward (routedOut keeps the ingress port in
// Meta.Aux, since a routed packet's InPort becomes the router port) send
// a packet there only when its source or destination port is in a group:
// traffic between unfiltered ports pays a pointer load per vector and two
// byte loads per packet, and no conntrack. sg-policy parses and tracks
// the vector (Parse, TrackBatch), classifies packets that start a flow
// for egress of the source port and ingress of the destination port,
// commits allowed flows with the two ports in the conntrack mark, and
// drops the rest as sg-deny, sg-default-deny, ct-invalid (an ICMP error
// not addressed to the quoted packet's sender among them) or
// sg-related-mismatch (an ICMP error between other ports than its
// flow's), charging the
// deciding rule (per-rule counters: each new flow's first packet and
// every denied packet). A packet of a tracked flow whose mark does not
// fit its ports (a flooded copy to another port, a moved MAC) is
// classified again, not committed. The conntrack zone is the L2 domain
// for switched traffic and the VRF for routed traffic (conntrack's
// KeyRouted flag keeps the two kinds apart), so both
// directions of a flow meet the same entry. Traces name the rule
// (describe_sg.go). Packets the switch itself sends (flagLocal), non-IP
// frames and untracked ICMPv6 (neighbour solicitations and
// advertisements, router solicitations, MLD) are not filtered; router
// advertisements and redirects are new traffic for the rules (a
// container is not a router unless a rule says so);
// traffic to the switch's own addresses (ip4-local) never reaches
// sg-policy.
//
// A change applies to new flows at once. After publishing it and
// quiescing the workers, the switch revalidates the tracked flows (each
// flow's original key classified again for its ports) and deletes those
// the new policy denies: a removed rule stops the connections it allowed
// unless another rule allows them, and so does a new deny or a port
// leaving its group. A full flow table evicts (see policy/conntrack);
// a packet whose flow is gone is classified as new in its own direction,
// so a full table never lets a denied flow through. The tracker picks up
// TCP connections in the middle (conntrack.Config.TCPLoose, Linux's
// nf_conntrack_tcp_loose default): an ACK or SYN+ACK with no flow is
// classified as a new flow in its own direction and, if allowed,
// committed as established. So connections through a group survive a
// restart of the switch, an evicted entry and a group applied while they
// run, whenever the side that speaks next is allowed to start them; a
// RST, a FIN or a lone segment of a denied direction is still dropped
// (ct-invalid, sg-deny, sg-default-deny).
//
// Measured (docs/policy.md "Figures" has the commands and the time
// figures): 1188 instructions per packet through sg-policy with 1,000
// rules in 100 groups (each end in one group) against plain L2's 604 at
// 1k flows, callgrind inside the worker's poll (1242 before the second
// round of cuts); 0 allocations. The established path costs Parse +
// TrackBatch (about 475 instructions) + a mark check; the classifier is
// only on new flows, and an established packet that l2-output would only
// stage for tx is staged by sg-policy itself (plainOutput). The issue's
// target (+30 ns at 1M flows) is missed by about 27 ns (57 above plain
// L2): the memory floor is 16-27 ns (docs/policy.md, fifth round: the
// earlier 18-23 came from a floor benchmark the cache held), and the
// tracker's instructions alone take about 25 ns.
//
// Real-kernel tests (sg_kernel_linux_test.go, namespaces behind AF_XDP
// ports) check allowed and denied TCP per rule with the counters that
// name it, established connections continuing while new ones from the
// denied side fail, revalidation stopping them, ICMP port unreachable of
// an allowed UDP flow passing as related, ping, and the same over IPv6.
//
// Rules may name an ICMP type, or type and code (SGRule.ICMP, "8" or
// "3/4"), for icmp and icmpv6.
//
// A fragment after the first has no ports: conntrack gives it its first
// fragment's (policy/conntrack's "Fragments") and it passes with that
// flow; one whose first fragment conntrack did not see is classified
// without ports, as a new flow would be, and not committed.
//
// Not done: counts a worker made under an earlier configuration join at
// its next vector.
//
// # NAT
//
// Config.NAT (config_nat.go) names router interfaces: Masquerade hides
// an interface's networks (its connected prefixes) behind the first
// address of each family of an uplink interface; PortMaps send new TCP
// or UDP flows to host-addr:port (no address: every uplink address of
// the target's family, Docker's default) to a container's address and
// port; Uplinks adds interfaces whose addresses mapped ports bind.
// Validation runs every check of policy/nat's Table on a scratch table,
// so errors are *NATError (wrapping ErrInvalidConfig and the nat
// sentinel: ErrOverlap, ErrAddr, ErrProto, ErrPort, ErrFamily) or name a
// missing interface (ErrNATInterface), and change nothing.
//
// Translation is one node, nat (node_nat.go), in front of ip4-forward
// and ip6-forward: while NAT is configured, l2-fwd and l2-input send IP
// packets for a router interface there first, so the route lookup sees
// the translated destination (a mapped port's container, a masqueraded
// reply's container, a hairpin's target); without NAT they go straight
// to the forward nodes and pay one atomic load per routed packet. The
// node tracks every routed packet in a connection tracker of its own
// (zone: the ingress interface's VRF) and lets policy/nat commit new
// flows (port map, hairpin, masquerade with a port allocated through
// conntrack, or none) and rewrite both directions and ICMP errors from
// the flow's two keys (see policy/nat's doc). Its tracker is not the
// security groups': a routed flow is one entry in each, keyed as each
// sees the packet (NAT before routing, untranslated on the way in; the
// groups at the output port, on the container's side: the translated
// destination, the untranslated source, as Linux's FORWARD chain sees
// it; nat leaves its flow in Meta.Conn and sg-policy turns the key back,
// natSide), so the groups' revalidation and flushes never touch NAT
// flows and a group's rules speak of the addresses the container really
// has (a masqueraded container's egress rules see its own address; a
// mapped port's group rule names the container's port, 80, not the
// host's 8080), and a NATed flow's two directions are one group flow
// (TestSGWithNAT; they were two, every reply ct-invalid). A packet conntrack
// finds invalid, or a non-first fragment, passes untranslated unless a
// new flow of its tuple would be translated; then it is dropped
// (ct-invalid, nat-fragment): a container's private address never
// leaves, a full table included. Removing a port map flushes its flows;
// other flows keep their translation until they end, as Linux's.
// Switch.NATStats has the counters, FlushNATFlows empties the table.
// The ICMP errors the router itself builds (ip4-icmp-error,
// ip6-icmp-error) go through nat too while NAT is configured: the packet
// an error is about was translated before it was routed, and nat
// translates the error back as one related to that flow (its quote to
// what the sender sent, its destination to the sender), as Linux's NAT
// does for its router's errors; without that, traceroute through a
// masquerade lost its first hop and path MTU discovery of a translated
// flow failed (TestNATKernelSwitchErrors: a stalled upload to a mapped
// port behind a smaller MTU).
//
// Services (NAT.Services, issue 21) are load-balanced virtual IPs on the
// same node: a new TCP or UDP flow to VIP:port goes to a backend picked
// by Maglev consistent hashing of its 5-tuple (policy/lb, policy/nat),
// the client's address kept, replies rewritten from the VIP. Flows stay
// on their backend while backends come and go (they are conntrack's); a
// drained backend gets no new flows; a removed backend's flows are
// flushed, so a TCP client's next segment is picked up as a new flow to
// another backend, whose kernel answers it with a RST: the connection
// ends at once rather than hanging. When no backend takes new flows (all
// drained or removed), the nat node answers a refused flow itself
// (node_nat_reject.go): TCP with a RST from VIP:port, UDP with a port
// unreachable, rate limited per worker as Linux's ICMP errors are. A
// client in the target's own network (a VIP's or a port map's, any
// router interface but an uplink, masqueraded or not) is hairpinned:
// its source becomes the interface's address, so that the reply comes
// back through the switch. Switch.ServiceStats counts new flows
// per service and backend. Real-kernel tests
// (service_kernel_linux_test.go): 3,000 connections from two namespaces
// spread 1:1:2 within 10% of each share; a backend added keeps
// established flows where they are; a removed backend's connections get
// ECONNRESET and only they move; a drained backend takes no new
// connection and keeps its own.
//
// Measured (go test -run '^$' -bench BenchmarkService -benchtime 2s
// ./vswitch/, one worker, memory ports, 256 UDP packets of established
// flows per vector from the outside, load 1.1): through a service VIP
// with two backends 180 ns/pkt at 1k flows and 261 at 1M, against 169
// and 251 for the same flows through a port map (the DNAT path with the
// same conntrack): the load balancer adds 10-11 ns/pkt to the conntrack
// path (the target: at most 20). Established flows never look at
// the Maglev table: the backend is in the flow's reply key.
//
// Real-kernel tests (nat_kernel_linux_test.go): masqueraded TCP, ping
// and iperf3 from containers to an outside namespace that has no route
// back and sees the uplink address; two containers on one source port
// get two ports; a port unreachable comes back translated; a mapped port
// from the outside (client address kept) and from a container of the
// same network (hairpin: the target sees the gateway); iperf3 through a
// port map.
//
// Measured (BenchmarkNAT*, one worker, memory ports, 256 masqueraded
// UDP packets per vector routed ra -> rb; docs/policy.md "Figures" has
// the commands and the time figures): 2231 instructions per packet
// through nat at 1k flows against plain L3's 1316, callgrind inside the
// worker's poll (2614 before the second round of cuts, which gave
// Translate its IPv4 TCP/UDP fast path: the rewrite went from about 700
// instructions to about 370); new masqueraded flows 1.50-1.56 M/s
// (measured before both rounds). The target, +30 ns at 1M
// flows, is not met: the memory part (a bucket and both key lines of an
// entry per packet, misses overlapped over the vector) is near its
// floor (policy/conntrack BenchmarkMemoryFloor); the rest is
// instructions, about 915 above plain L3: the tracker about 460, the
// rewrite about 370, the nat node's passes the rest (63 ns above plain
// L3 at 1M flows, 88 before).
//
// Not done: the Docker driver's -p and vsctl nat/ commands live in the
// control plane (ctl/daemon); NAT64; per-network external address pools.
//
// # DNS punt
//
// Config.DNS names router interfaces whose networks the switch answers
// DNS for. UDP queries to port 53 of any of the switch's addresses, from
// such an interface, leave the pipeline in dns-punt (copied onto a
// per-worker ring of preallocated slots; no allocation, lock or syscall
// on the worker); the learner loop hands them to the DNSHandler set with
// SetDNSHandler, naming the network by the interface; the handler's
// answers, immediate or later (a forwarded query), come back through a
// per-worker inject ring polled like an rx queue into dns-reply, which
// marks them the switch's own and routes them to the client from the
// address it asked and port 53. dnspunt.go has the details; the resolver
// itself is package dns. TCP segments to port 53 take the same way to a
// server-only TCP of the control plane's (dnstcp.go: DNS over TCP, RFC
// 7766, for the clients whose UDP answer came back truncated).
//
// # Safety of reconfiguration
//
// After publishing new tables and poll lists, the control plane waits until
// every worker has passed an iteration boundary (pipeline.Worker.Quiesce)
// before it flushes MACs, retires domain IDs or closes queues, so no worker
// ever uses a closed queue and no packet carries an ID that was reused.
package vswitch
