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
// with the interface in it, so it shares the L2 input path.
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
// # Safety of reconfiguration
//
// After publishing new tables and poll lists, the control plane waits until
// every worker has passed an iteration boundary (pipeline.Worker.Quiesce)
// before it flushes MACs, retires domain IDs or closes queues, so no worker
// ever uses a closed queue and no packet carries an ID that was reused.
package vswitch
