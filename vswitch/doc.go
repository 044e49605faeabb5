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
// counts what it refused (MACStats). The learner loop sleeps when idle;
// the first event a worker publishes wakes it (waker in ring.go).
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
