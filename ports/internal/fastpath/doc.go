// Package fastpath is the kernel half of Vecswitch's XDP fast path: an XDP
// program per port that switches the frames of known L2 unicast flows in
// the kernel — looked up in BPF maps the switch programs, redirected
// through a DEVMAP — and hands every other frame to the port's AF_XDP
// sockets, that is to the Go pipeline, which stays the slow path and the
// source of truth. The switch side (programming entries on learn, move,
// age and flush, counters in port/stats and fdb/show) drives this package
// through Maps; the AF_XDP port runs Program in place of the plain
// xsk.Program (both implement Steering).
//
// The program is assembled in Go with cilium/ebpf's asm package (no C
// compiler) and attached with a BPF link (auto: native, else generic), so
// closing it — or the process dying — leaves nothing on the interface.
//
// # The program
//
// For each frame received on a port:
//
//  1. Look up the ingress port in the ports map (by ingress ifindex). No
//     entry: the port is not in the fast path; go to step 6 uncounted.
//     The port's SlowPath flag (a security group, a trace, a capture):
//     miss "forced".
//  2. Parse Ethernet, bounds-checked: shorter than 14 bytes, a broadcast
//     or multicast destination, a group source address: misses
//     "malformed", "group-dst", "group-src". One 802.1Q tag (TPID 0x8100)
//     is understood: a tagged frame's domain is the vlans map's
//     {ingress, VID} (miss "vlan" if absent; VID 0 is "malformed"); an
//     untagged frame's is the port's own domain, unless the port takes
//     tagged frames only (miss "vlan"). An 802.1ad tag (TPID 0x88a8)
//     misses "vlan": the pipeline decides (it drops one on an access
//     port; switched as untagged, it crossed VLANs).
//  3. The source must be learned on this port: fdb{domain, src MAC} must
//     exist with the ingress ifindex, otherwise miss "src-unknown" — so
//     the pipeline sees every new or moved MAC and learns it.
//     On a port with the Secured flag (port security: the switch mirrors
//     only the port's bound MACs, so this is its MAC check too), the
//     program then runs the address guards of the switch's l2-input for
//     the common case: the IP header (after the tag, if any) is copied
//     to the stack with bpf_xdp_load_bytes. IPv4: its source must match the allow4 trie
//     for {ingress, address}, else miss "src-ip" (the pipeline drops it,
//     src-ip-not-allowed); any protocol then goes on, as in the
//     pipeline. IPv6: the source must match allow6 (miss "src-ip"), and
//     the next header must be TCP (6) or UDP (17): ICMPv6 (neighbor
//     discovery, router advertisements, redirects: the ND and RA guards)
//     and every extension header, which may hide ICMPv6, miss "guard".
//     Every other EtherType (ARP: the claim guard), and an IP header cut
//     short, misses "guard". The pipeline then decides, as without the
//     fast path.
//  4. The destination: fdb{domain, dst MAC} (miss "dst-unknown"); its
//     egress must not be the ingress port (miss "hairpin");
//     bpf_redirect_map(devmap, egress ifindex) must find the port in the
//     DEVMAP (miss "egress-off": removed, or in SlowPath); the frame, as
//     long as it will leave (a tag pushed: 4 bytes more, popped: 4 less),
//     must fit the egress port's PortConfig.MaxFrame from the port_max
//     array (miss "too-big": the pipeline drops and counts it, where the
//     kernel would drop it at the redirect uncounted).
//  5. Hit: push, pop or rewrite the 802.1Q tag as the entry's egress VID
//     and the arrival tag say (bpf_xdp_adjust_head; miss "headroom" if a
//     push finds no room), count the hit (per entry: source and
//     destination; per port: rx on the ingress, tx on the egress, packets
//     and bytes), return XDP_REDIRECT.
//  6. Miss: count it per ingress port and reason, then
//     bpf_redirect_map(xsks, rx queue, XDP_PASS): the queue's AF_XDP
//     socket, or the kernel stack when none is bound (counted as
//     SlowPass), exactly what the plain program does.
//
// Everything else — broadcast, unknown unicast, learning, VXLAN, routing,
// ICMP, policy, trace and capture, and from a secured port ARP, ICMPv6,
// IPv6 extension headers and spoofed sources — is the pipeline's.
//
// # Maps
//
// Created once per switch by NewMaps and shared by every port's program;
// integers in host order, MACs in wire order.
//
//	map        type            key (bytes)                 value (bytes)
//	fdb        HASH            {mac[6], domain u16} (8)    {egress ifindex u32, entry slot u32,
//	                                                        egress VID u16 (0: untagged),
//	                                                        egress port slot u16, flags u32 (0)} (16)
//	ports      HASH            ingress ifindex u32 (4)     {domain u16, flags u16 (1: slow path,
//	                                                        2: untagged frames allowed,
//	                                                        4: secured), port slot u32} (8)
//	vlans      HASH            {ifindex u32, VID u16,      {domain u16, pad u16} (4)
//	                            pad u16} (8)
//	devmap     DEVMAP_HASH     egress ifindex u32 (4)      ifindex u32 (4)
//	port_max   ARRAY           port slot u32               the port's MaxFrame u32 (0: unchecked)
//	allow4     LPM_TRIE        {prefixlen u32, ingress     u32 (0, unread: a match is the
//	                            ifindex u32, IPv4 [4]} (12) answer)
//	allow6     LPM_TRIE        {prefixlen u32, ingress     u32 (0, unread)
//	                            ifindex u32, IPv6 [16]} (24)
//	entry_ctr  PERCPU_ARRAY    entry slot u32              {src hits u64, dst hits u64}
//	port_ctr   PERCPU_ARRAY    port slot u32               {rx packets, rx bytes, tx packets,
//	                                                        tx bytes} (u64 each)
//	miss_ctr   PERCPU_ARRAY    port slot*15 + column u32   u64: columns 0-12 the miss reasons,
//	                                                        13 slow pass, 14 errors
//	xsks       XSKMAP          rx queue u32                AF_XDP socket fd (one map per Program)
//	barrier    ARRAY_OF_MAPS   0                           a 1-element array (see Consistency)
//
// The DEVMAP is keyed by ifindex, not by a port slot: the fdb value
// carries the egress ifindex anyway (for the hairpin and source checks),
// so the program needs no second translation, and removing a port from
// the DEVMAP is one delete by the key the switch knows. All ports live in
// the switch's network namespace.
//
// The allow tries hold the PortConfig.Sources of the Secured ports: a
// prefix of length n is the key {32 + n, ifindex, address}, and the
// program looks {64 or 160, ingress, source} up, so the ifindex always
// matches whole and the longest prefix of that port decides. One trie per
// family: an IPv6 ::/0 must not let IPv4 through.
//
// The miss counters are a row per port indexed by a computed key rather
// than fields of one value at a variable offset: the verifier allows such
// pointer arithmetic only with CAP_PERFMON, and the program loads with
// CAP_BPF and CAP_NET_ADMIN alone.
//
// Slots index the counter arrays. Maps hands them out: an entry keeps its
// slot across moves (so its counters survive), a port keeps its slot while
// it is configured, and a released slot is reused only after an RCU grace
// period (below), its counters zeroed first, so a frame that looked up the
// old owner never counts into the new one.
//
// # Consistency
//
// Each map update and delete is atomic for the program: a lookup finds the
// old element or the new one, never a mix. A program finishes a frame
// inside one RCU read-side critical section, redirect included (the
// DEVMAP's bulk queue is flushed before the driver's NAPI poll, or the
// generic XDP hook, returns). Hence:
//
//   - Every method takes effect for frames whose program starts after it
//     returns: after DelEntry, no new frame is redirected by the entry;
//     after SetEntry (a MAC move), every new frame goes to the new port.
//     A frame already past its lookup may still finish with the old
//     state.
//   - Sync waits one RCU grace period, after which no frame is still in
//     flight with older state. The kernel gives userspace no
//     synchronize_rcu, but an update of a map-in-map element waits for
//     one before returning (kernel/bpf/syscall.c, maybe_wait_bpf_programs)
//     — the barrier map is that. It takes milliseconds (8 ms here).
//   - DelPort deletes the port's configuration, its DEVMAP entry, its VLANs
//     and every fdb entry on it, then waits a grace period: when it
//     returns, no frame is being or will be redirected to the port, so the
//     port's sockets and device can go. A frame that found a removed
//     port's fdb entry before DelPort finds no DEVMAP entry and misses;
//     the DEVMAP's own entries are freed by the kernel after a grace
//     period, so a redirect in flight never touches a freed device. The
//     Flush methods also wait a grace period.
//   - A Secured port's sources change only by SetPort, in this order:
//     the prefixes it loses are deleted first and a grace period is
//     waited out, then the new ones are inserted, then the port's flags
//     change. So when SetPort returns, no frame is being switched, nor
//     will be, from a source the port lost (the switch calls it before
//     it publishes its own narrowed guard); a port that becomes Secured
//     finds its sources in place before its flag; and a frame never
//     passes on a mix it could not have met otherwise (a source missing
//     only makes a frame miss, which is always safe). DelPort deletes the
//     port from the ports map before its sources (its frames are no
//     longer looked up at all), and a source it fails to delete is
//     deleted before the ifindex is given to SetPort again.
//   - Hash maps recycle freed elements at once (preallocated ones from
//     per-CPU free lists, others from bpf_mem_alloc caches), while a
//     program that looked the old element up may still be reading it: it
//     would read another key's value — a frame redirected into another
//     domain. So Maps keeps a rule: between an operation that frees a hash
//     element (a delete, or an update of an existing key, which replaces
//     the element) and the next that takes one (an insert or update),
//     there is a grace period. Inserts in a row, or deletes in a row, wait
//     for nothing; a learn after an aging pass waits once. The allow
//     tries keep the rule too.
//
// The maps are the pipeline's state made visible to the kernel, not a
// second source of truth: the switch programs them after its own tables,
// and a frame that misses only costs a trip through the pipeline.
//
// # Integration (what the switch does)
//
// ports/afxdp wraps Maps as afxdp.FastPath (the ports.FastPath interface)
// and attaches Program for ports created with Config.FastPath; the switch
// side is vswitch/fastpath.go, the daemon's in ctl/daemon (veths made with GRO
// on, vsctl set bridge|port fast-path=). In order:
//
//   - Port add: Attach (owning the XSKMAP; register the AF_XDP sockets
//     with Register as with xsk.Program). For a veth the switch created
//     (netdev.CreateVeth already turns TX checksum offload off on the
//     container end), EnsureGRO on the container end. For a veth it did
//     not create, CheckPeer, and report the state; if !Ready, leave the
//     port out of the fast path. Then SetPort with the port's domains,
//     and for a port with port security Secured with the sources its
//     guard allows.
//   - Port security: a change of the port's allowed sources (addresses,
//     allowed prefixes), SetPort with the new Sources before the
//     pipeline's guard narrows (see Consistency).
//   - Learn (the pipeline learned MAC m on port P in domain D, P in the
//     fast path): SetEntry(D, m, {P, VID of D on P}) after the pipeline's
//     own table. Keep the slot with the pipeline's entry.
//   - Move: SetEntry with the new port, before the command returns.
//     Moves need no detection here: frames from m on the new port miss
//     "src-unknown" until then and reach the learner.
//   - Age: on each pass, read EntryHits(slot).Src; if it grew since the
//     last pass, the MAC is active (it talks through the fast path only);
//     otherwise age it out of the pipeline, then DelEntry.
//   - Flush (bridge, VLAN or port): FlushDomain, FlushPort or Flush(match)
//     along with the pipeline's sequence bump; the kernel has no sequence
//     number, entries must go.
//   - VLAN change on a port: SetPort with the new VLANs, then Flush the
//     port's entries in the domains it left.
//   - Port removal: DelPort, then unregister and close the sockets, then
//     Program.Close, then delete the device.
//   - Trace or capture on a port: SetPort with SlowPath while it runs, then
//     SetPort without. Both directions then pass the pipeline.
//   - Fast path off (bridge or port): DelPort for its ports; on again:
//     SetPort and replay the pipeline's entries. Nothing is lost: the
//     pipeline had everything.
//   - Daemon stop: Program.Close for each port, Maps.Close.
//   - Counters: PortCounters into port/stats (fast-path rx/tx, misses by
//     reason), EntryHits into fdb/show (offloaded, hits) and the metrics.
//
// # Veths
//
// A veth hands frames that native XDP redirects into it (ndo_xdp_xmit) to
// its peer's NAPI instance, which exists only while the peer has GRO on
// or an XDP program of its own; otherwise the kernel drops them, counting
// nothing the switch sees — and GRO is off by default on veths. EnsureGRO
// turns it on; CheckPeer reports it (and finds the peer's namespace) for
// interfaces the switch did not create. TestVethGROCaveat shows the drop.
// Measured on Linux 6.18: GRO switched on while the container end is
// still down (before its first up) leaves it reporting GRO on but not
// delivering redirected frames, even after a later off/on; netdev sets it
// after bringing the link up, which works.
// Generic XDP redirects skbs through the stack and is not affected.
//
// A peer with TX checksum offload on sends TCP and UDP frames with partial
// checksums: native XDP turns them into plain frames and the receiver
// drops them (TCP does not even connect), and with TSO, generic XDP gets
// frames larger than the MTU, which it cannot redirect. The switch's own
// veths have it off (netdev), as the AF_XDP slow path needs anyway;
// CheckPeer reports it for others.
//
// # Limits
//
//   - L2 unicast within a domain only; one 802.1Q tag (no QinQ, no
//     priority-tagged frames); no IPv4 routing yet.
//   - From a Secured port, only IPv4 and IPv6 TCP and UDP (no extension
//     header) are switched; the rest of its unicast (ICMPv6 ping, SCTP,
//     IPsec...) takes the pipeline, which is right but slower.
//   - VLAN tags that the sender's driver put out of band (a VLAN device
//     on a veth with tx-vlan-offload on) are invisible to XDP, here as in
//     the AF_XDP slow path: the frame looks untagged.
//   - The program is not frags-aware: the device MTU must fit a page
//     (about 3500 bytes on a veth in native mode).
//   - Loading needs CAP_BPF and CAP_NET_ADMIN (root has them), and Linux
//     5.18 or later (bpf_xdp_get_buff_len); Probe tells.
//   - A device takes one XDP program: Attach fails (EBUSY) while another
//     is attached.
//   - Programs and Maps are per network namespace of the switch.
//
// # Performance
//
// On the 2-vCPU CI VM (shared, so figures move by 10-20% between runs),
// 64-byte frames from namespace A to B over two veths, each pair in the
// same run (BenchmarkForward; packets per second at B's rx counter, no
// loss in any case):
//
//	injected on A's host end       fast path 1.40-1.50   bridge 0.67-0.69  (2.1-2.2x)
//	(BPF_PROG_RUN live frames)     Mpps                  Mpps
//	from a packet socket in A      fast path 0.24 (native), 0.29-0.33
//	(sendmmsg, one thread)         (generic) Mpps        bridge 0.24 Mpps
//
// The first is the switching alone. (An earlier version of the benchmark
// gave the bridge 0.35 Mpps and the fast path 4.5x: its XDP_PASS program
// for the bridge case was attached nowhere, and the kernel added it to
// its XDP dispatcher and removed it again on every run, tens of
// milliseconds each. It now stays attached to a spare veth.) The host
// this runs on has br_netfilter loaded (bridged IPv4 goes through
// iptables); perf's end-to-end benchmark has both kinds of figures. In the second the sender's own cost
// (about 3 µs a frame here) dominates, and native XDP on a veth copies
// every skb it receives into a page (skbs from a socket have less than
// 256 bytes of headroom), so the kernel fast path gains little over the
// bridge for traffic that starts as skbs; its gain over the AF_XDP slow
// path (no copy to userspace, no switch core) remains.
//
// One TCP stream (BenchmarkTCP, iperf3, TX checksum offload off on the
// namespace ends as the switch sets it): bridge 4.6-4.9 Gbit/s, fast path
// 2.9-3.5 (native) and 2.8-3.1 (generic) Gbit/s: each MTU-sized segment
// is turned into an XDP frame and back (copied, in native mode).
//
//	go test -run '^$' -bench . -benchtime 2s ./ports/internal/fastpath
package fastpath
