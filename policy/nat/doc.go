// Package nat is the switch's network address translation (issue 20):
// masquerade (source NAT) of a network's containers behind an external
// address, Docker-style port mappings (destination NAT,
// host-addr:port/proto -> container-addr:port), hairpin (a container
// reaching a mapped port of its own network), load-balanced services
// (issue 21: VIP:port -> one of several backends, chosen by Maglev
// consistent hashing, package lb), and the packet rewriting they need,
// ICMP errors included. It knows packets, pipeline metadata
// and conntrack, not bridges: the switch wires it after conntrack (and
// the ACL) and routes what it translated.
//
// # Use
//
// Packets are slices starting at the IP header, as conntrack takes them.
// A worker holds a conntrack.Worker and a nat.Worker:
//
//	nt, _ := nat.NewTable(nat.Config{})        // control plane
//	nt.SetNetwork(nat.Network{Name: "br0", Sources: ..., External4: ..., Gateway4: ...})
//	nt.SetUplinks(uplinkAddrs)
//	nt.SetInternal(otherInterfaceAddrs)       // 10.1.0.1/24: subnet and gateway
//	nt.AddMap(nat.Map{Proto: 6, Host: netip.IPv4Unspecified(), HostPort: 8080, Target: c, TargetPort: 80})
//	nt.SetService(nat.Service{Proto: 6, VIP: vip, Port: 80, Backends: []nat.Backend{{Addr: c, Port: 8080, Weight: 1}, ...}})
//
//	w := nt.NewWorker(ctTable)                 // one per worker goroutine
//	for i, pkt := range vector {               // per vector
//		conntrack.Parse(&ps[i], pkt, zone)
//	}
//	cw.TrackBatch(ps, res, now)
//	for i, pkt := range vector {
//		if res[i].State == conntrack.StateNew && res[i].Conn == 0 /* && policy allows */ {
//			res[i], act, reason = w.Commit(cw, &ps[i], now, mark) // instead of cw.Commit
//			// reason != 0: drop, counted; act&ActDNAT: route after translating
//		}
//		act, reason = w.Translate(pkt, &ps[i], res[i], meta.Offload&pipeline.OffloadCsumPartial != 0)
//	}
//	w.Publish()
//
// Commit decides a new flow's translation from the published Rules and
// creates its conntrack entry with the translated reply key; Translate
// rewrites every packet of the flow, both directions, ICMP errors
// included, from that entry alone. The functions Rewrite and
// RewriteICMPError do the rewriting for callers that know the tuple.
//
// # What is translated
//
//   - Port maps: a new TCP or UDP flow to Host:HostPort (or, for a map
//     whose Host is 0.0.0.0 or ::, to any uplink address of that family)
//     goes to Target:TargetPort (ActDNAT). Maps are validated on their
//     own (protocol, ports, unicast addresses of one family) and against
//     the others (same protocol and host port on the same address, or
//     "any" on either side, overlap), with typed errors (*MapError
//     wrapping ErrProto, ErrPort, ErrAddr, ErrFamily, ErrOverlap); a
//     rejected change changes nothing, adding the same map twice or
//     deleting a missing one is not an error.
//   - Hairpin: when the flow's source is in the same network as the
//     map's target, its source is also translated, to the network's
//     gateway address, with a port allocated as for masquerade
//     (ActHairpin|ActDNAT|ActSNAT). The target's reply goes to the
//     gateway, through the switch, and is translated back to the mapped
//     address. (Docker does the same with MASQUERADE on the bridge.)
//     A network here is a masqueraded one (Network: its Gateway) or
//     any subnet SetInternal names, masqueraded or not (its router
//     interface's address): without the hairpin the target, on the
//     client's own link, answers the client directly from its own
//     address, which the client resets, so a network had to be
//     masqueraded for its containers to reach a map or a service
//     backed in it (until 2026-12-07; TestHairpinInternal).
//   - Masquerade: otherwise, a flow from a network's Sources to an
//     address in no network gets the network's External address as its
//     source (ActSNAT). Traffic between the switch's networks (the
//     masqueraded ones and those SetInternal names) is routed
//     untranslated. TCP, UDP, UDP-Lite and DCCP get a port, ICMP and
//     ICMPv6 queries an identifier, and other IPv4 protocols (GRE, ESP)
//     the address alone (one flow per peer, as Linux). SCTP and other
//     IPv6 protocols are refused (ReasonProto): a masqueraded packet
//     must not leave untranslated.
//   - Services: a new TCP or UDP flow to VIP:Port (an unspecified VIP:
//     any uplink address, as a map's "any") goes to the backend the
//     service's Maglev table gives for the flow's hash (ActLB|ActDNAT),
//     hairpinned as a port map's when the client is in the backend's
//     network (ActLB|ActDNAT|ActSNAT|ActHairpin). See Services below.
//
// Flows keep their translation until they end, as Linux's: removing a
// map stops new flows, and MapFlows is the conntrack.Table.Flush
// predicate that stops its existing ones (ServiceFlows for a service's
// backend).
//
// # Services
//
// A Service is {Proto, VIP, Port, Backends}, each Backend {Addr, Port,
// Weight, Drained}; SetService adds or replaces one (named by Proto,
// VIP and Port), DeleteService removes one. Validation is a port map's
// (protocol, ports, unicast addresses of the VIP's family) plus
// duplicate backends (ErrDuplicate) and more than 65536 (ErrTooMany),
// with typed errors (*ServiceError wrapping the sentinels); a service
// and a port map on the same protocol, port and address (or "any" on
// either side) overlap, whichever comes second is refused (ErrOverlap:
// a *ServiceError, or a *MapError with WithService set), and a rejected
// change changes nothing. A service with no backend, or none with a
// weight and not drained, is valid: its new flows are refused
// (ReasonNoBackend, counted per service; the caller answers them,
// below).
//
// SetService builds the service's Maglev table (package lb: M =
// Config.ServiceTableSize, default 65537 slots, 128 KiB; backends keyed
// by "addr:port", so a backend keeps its slots across changes of the
// others) before taking the table's lock; the compiled service is kept
// and shared by every Rules published until it changes, so a change to
// one service, map or network rebuilds no other Maglev table. Rules are
// published atomically like the rest.
//
// Commit picks the backend of a new flow to the VIP by Lookup of a
// 64-bit hash of its 5-tuple (addresses, ports, protocol, family; not
// the zone, which is local; three 64x64->128 multiplies, each input word
// through two of them, seeded by Config.ServiceSeed) and commits the
// flow with the reply key backend -> client, exactly as for a port map,
// so Translate rewrites the client's packets to the backend and the
// backend's replies (and ICMP errors) to come from VIP:Port, from
// conntrack alone. The hash is fixed (no per-process seed), so a flow
// picked up again after a restart (conntrack's TCPLoose) or on another
// host with the same backends and seed lands on the same backend. The
// pick is a function of the tuple and the table: a Maglev table spreads
// flows by weight (TestServiceSpread: 12,000 flows over weights 1:2:3 get
// 16.9%, 33.1% and 50.0%; TestFlowHashSpread: one client's consecutive
// source ports spread as a random pick would), and when a backend is
// removed, drained or weighted 0, the new flows that would have gone to
// it go elsewhere while nearly all others keep their pick
// (TestServiceRemoveBackend, 5 backends: 0 of the other backends' 4,821
// flows move here; Maglev is near-minimal, not minimal: see package lb).
//
// Established flows keep their backend whatever the backend set
// becomes: they are conntrack entries and Translate never looks at the
// service (TestServiceEstablished drains the flow's backend, then
// removes it and adds two others, and the flow still goes to it both
// ways). A drained backend therefore gets no new flow and keeps its
// connections until they end: the graceful way out. To end a removed
// backend's connections at once, the caller flushes them:
// ct.Flush(nat.ServiceFlows(svc, backend)). What the client sees next
// depends on conntrack's TCPLoose:
//
//   - With TCPLoose (the switch's setting), the client's next segment
//     finds no flow and starts one mid-stream; Commit sends it to a live
//     backend (the removed one has no slot), whose TCP stack answers a
//     segment of no connection with a RST, which is translated back
//     (source VIP:Port) and ends the client's connection within a round
//     trip (TestServiceEstablished, loose=true). UDP flows simply move
//     to another backend.
//   - Without TCPLoose, the segment is invalid (TCP without SYN and no
//     flow) and dropped; the client retransmits until its own timeout
//     (minutes). And with TCPLoose too, when no backend is left, the
//     segment is refused with ReasonNoBackend.
//
// The caller answers a ReasonNoBackend refusal (the switch's nat node
// does, since 2026-12-07: vswitch's node_nat_reject.go): TCP with a RST
// from VIP:Port (for a segment with ACK: sequence number = its
// acknowledgment number, which the client accepts as in window, RFC
// 9293 3.10.7.1; for a SYN: RST|ACK acknowledging SYN+1: "connection
// refused"), and UDP with an ICMP port unreachable (ICMPv6 destination
// unreachable, port unreachable) from the VIP quoting the packet, rate
// limited like Linux's icmp_ratelimit. So with TCPLoose and no backend
// left, a removed backend's connection ends within a round trip too.
// The RST is preferred for TCP: Linux treats an ICMP unreachable on an
// established connection as a soft error (tcp_v4_err reports it only
// with IP_RECVERR) and keeps retransmitting, so only a RST ends it
// promptly; the switch cannot send a RST when it flushes (conntrack
// keeps no sequence numbers), only in answer to the client's next
// segment, which carries the number the RST needs. (kube-proxy REJECTs
// a new connection to a service without endpoints with an ICMP port
// unreachable, which is enough for a SYN: a connecting socket takes it
// as a hard error, ECONNREFUSED; for a segment of an established
// connection only a RST works, so one rule for all TCP is simpler.) An
// invalid TCP segment to a VIP (a FIN or a RST with no flow, which Wants
// reports) is dropped unanswered.
//
// Counters: Counters.LB counts the flows services created (per worker,
// plain, published like the rest; port maps' stay in DNAT and
// Hairpin). Table.ServiceCounters gives, per service, the new flows per
// backend, the total (including backends since removed), the refusals
// (NoBackend) and each backend's share of slots. A backend's counter is
// an atomic add by whichever worker commits the flow, on a cache line of
// its own: one more shared write on a path that already makes several
// (conntrack's bucket CAS and free list), chosen over per-worker arrays
// that would have to be remapped whenever services change. It is not
// measurable in the new-flow benchmark (below).
//
// # Translation is conntrack's two keys
//
// As Linux's nf_nat (tuplehash[2]) and as conntrack's doc says, a
// translated flow is one entry under two independent keys: the original
// key as the first packet came, and a reply key as replies will come
// (for masquerade: server -> external:port). Translate reads the flow's
// keys (conntrack.Table.Keys: 10 loads from the entry's two cache lines,
// under its sequence word), checks the entry still holds the packet's
// key (else ReasonStale: it was deleted or reused), and rewrites a packet
// of direction d to the reverse of the key of the other direction
// (nf_nat_packet's rule); a flow whose two keys are each other's reverse
// is untranslated and left alone. No translation state exists outside
// conntrack, so nothing more is looked up per packet and nothing needs
// freeing when a flow goes.
//
// An ICMP error is matched by conntrack to the flow of the packet it
// quotes. The quote shows that packet as it was beyond the switch,
// translated, so conntrack now looks up the reverse of the quoted key
// (Linux's icmp_error_message does the same; this package's first
// commit changed conntrack so). RewriteICMPError then does what Linux's
// nf_nat_icmp_reply_translation does: the quoted packet is translated
// back (addresses, ports or identifier, its IPv4 header checksum, its
// L4 checksum when the quote holds it), the error's own addresses are
// translated where they are the flow's (an error from a router on the
// path keeps the router's source), and the error's IPv4 and ICMP
// checksums are fixed, so the error reaches the original sender quoting
// what it sent.
//
// # Checksums
//
// Every update is incremental (RFC 1624: HC' = ~(~HC + ~m + m') per
// changed 16-bit word), so the cost does not depend on the payload and a
// frame in pieces is rewritten through its first piece (headers only).
// An address change goes into the IPv4 header checksum and into the L4
// checksum of protocols with a pseudo header (TCP, UDP, UDP-Lite, DCCP,
// ICMPv6); a port or identifier change into the L4 checksum only. A UDP
// checksum of 0 (none) stays 0, and a computed 0 is sent as 0xffff. When
// the L4 checksum is partial (pipeline.Meta.Offload has
// OffloadCsumPartial: the field holds the pseudo-header sum, not
// complemented, and whoever completes it sums the rest, ports included)
// only the address change is added to it. A quote cut inside the quoted
// L4 checksum leaves that byte alone (its new value depends on the byte
// cut off), as Linux.
//
// # Port allocation: conntrack is the allocator
//
// A port is in use exactly when a live conntrack entry has the reply key
// it makes. Commit builds the reply key for a candidate port, skips it if
// a port map claims it on that address, asks conntrack.Worker.InUse
// (one lookup; an expired holder found there is deleted on the spot),
// and commits the flow with it. Two workers that pick the same key at
// the same moment are caught by conntrack's clash check (each committer
// checks after placing its keys, so at least one sees the other): the
// loser gets ReasonKeyInUse and tries the next candidate. Hence:
//
//   - no collision, ever, even under concurrency (TestConcurrentAllocation
//     fills a 600-port range with 600 flows from four goroutines under
//     -race, all wanting the same port, and checks every reply key in the
//     table is unique and no flow was refused);
//   - no free list to keep in step with conntrack, no expiry hook: a
//     port is free as soon as its flow is deleted, evicted, flushed or
//     expired (even if only found expired by the allocator), and the
//     table cannot leak ports;
//   - no lock and no shared write beyond conntrack's own on the new-flow
//     path, and none at all per established packet.
//
// Candidates: the flow's own source port (or ICMP identifier) if it is in
// the range (Linux keeps it when the tuple is unique), then, for a range
// of at most Config.MaxAttempts (128) ports, all of them from a random
// start, else 128 random ones; none free is ReasonPortsExhausted, a
// counted drop, never a shared port. Like Linux and VPP's nat44-ed the
// mapping is endpoint-dependent: a port is unique per (protocol,
// external address, remote address, remote port), so one external
// address carries up to 64k flows to each remote endpoint rather than
// 64k in all. A nearly full large range may refuse a flow while a port
// is free (the probability is load^128), as Linux's bounded search may.
//
// Compared with the others:
//
//   - Linux nf_nat: the same model (get_unique_tuple: keep the tuple if
//     nf_nat_used_tuple says it is free, else try ports from a hashed or
//     random offset, at most 128 tries, halving and retrying); the
//     conntrack insert under a bucket lock settles races, and a clash at
//     confirm time drops the packet. Here the clash makes Commit retry
//     instead.
//   - OVS ct(nat) (userspace lib/conntrack.c): nat_get_unique_tuple also
//     walks the range checking conn_lookup, but creates connections under
//     the conntrack-wide ct_lock mutex, so allocation is serialized.
//   - VPP nat44-ed: per-thread session tables; each worker owns a slice
//     of the port space so that out-to-in packets can be handed off to the
//     owning thread by port, and allocates by random probing of the
//     session hash. Per-thread slices avoid cross-thread collisions but
//     need the handoff and split the ports among workers. Our conntrack
//     is one shared lock-free table, so any worker translates any packet
//     and the whole range is every worker's.
//
// # Performance
//
// Translate has a fast path for what most translated packets are, TCP
// or UDP over IPv4 without options, not a fragment, with its headers in
// the buffer (translate4): it reads the other direction's addresses and
// ports from the entry in place, under its sequence word, after
// checking there that the entry still holds the packet's key
// (conntrack.Table.OtherIPv4), checks the packet's headers once, writes
// the addresses and ports and updates both checksums from the 16-bit
// halves of what changed. Anything else, errors included, goes to the
// general path (Table.Keys, locate, shapeOf, setTuple), which answers
// alike (TestTranslateFastAsSlow, on random packets, flows,
// translations, cut headers, stale entries and partial checksums). In
// the switch (vswitch BenchmarkNATEstablished1k, callgrind) the rewrite
// went from about 700 instructions per packet to about 370; the time
// figures below were measured before it.
//
// go test -run XXX -bench 'Established|NewFlows|DNAT|Rewrite|Translate'
// -count 3 ./policy/nat/ on the 2-core test VM (Go 1.26; other sessions
// loaded both cores, load average 3-6, so ranges over the runs; absolute
// figures run up to twice those of conntrack's doc, measured on a
// quieter machine). TCP/IPv4 ACKs of established masqueraded flows, both
// directions drawn uniformly, 256 per vector, every packet rewritten
// (the source going out, the destination coming back), per packet:
//
//	            plain      ct (Parse+TrackBatch)   ct+nat (+Translate)   NAT's share
//	1k flows    5.2-5.5 ns  99-107 ns              114-117 ns            +10-15 ns
//	1M flows    45-51 ns    215-235 ns             292-367 ns            +60-130 ns
//
// Alone, on a hot flow: Translate 36-41 ns (the keys read from the
// entry, 5 words compared, the packet located and rewritten); Rewrite of
// a TCP/IPv4 or TCP/IPv6 source 24-40 ns; RewriteICMPError 55-60 ns.
// Port-mapped (DNAT) flows, 1k, both directions: 64-69 ns with ct
// alone, 105-115 ns with Translate too. (An earlier version of this
// benchmark tracked ACKs on flows that never completed their
// handshake, which conntrack finds invalid, so Translate skipped them
// and the figures were ct's twice; it now completes the handshake.)
//
// Services (go test -run XXX -bench Service -count 3 ./policy/nat/):
// an established service flow is a port-mapped flow to conntrack and
// Translate, and costs the same: 1k flows, 64-65 ns with ct alone,
// 104-105 ns with Translate; Translate alone on a hot flow 39-76 ns to
// the VIP and 39-52 ns for the reply (the spread is the other
// sessions' load). New flows to a VIP on one core into a 1M table,
// against a port map on the same address and port:
//
//	map       one target                    0.85-1.13 M flows/s (886-1170 ns)
//	svc-10    10 backends, weights 1-3      0.94-1.09 M flows/s (921-1067 ns)
//	svc-1000  1000 backends                 1.00-1.10 M flows/s (907-1001 ns)
//
// The service's own work (hash, one slot read, one atomic add) is a few
// nanoseconds, inside the noise of a new flow's cache misses; a 128 KiB
// table per service stays in cache while its service is busy.
//
// At 1M flows Translate misses the cache on the entry's second line (the
// reply key, needed for every original-direction packet; TrackBatch
// touched only the line of the key it matched), about a third of the
// 315 ns a random load costs on this VM, as the 60-130 ns show. The
// issue's target, NAT within 30 ns/pkt of the plain path at 1M flows,
// is not met (conntrack alone is already 170-190 ns above plain there);
// NAT's own share meets it only while the flows' entries are in cache
// (1k flows: 10-15 ns). A TranslateBatch that read the keys of the whole
// vector in one tight pass first (TrackBatch's trick) was measured
// (342-361 ns at 1M against 286-317 ns per packet) and dropped: the
// 20 KiB of copied keys cost more than the overlap saved.
//
// New flows on one core (Track of the SYN, a miss, then Commit) into a
// table of 1M entries refilled outside the timer:
//
//	ct        conntrack's Commit, no translation   0.86-1.31 M flows/s (765-1168 ns)
//	nat       masquerade, own port kept            0.68-0.82 M flows/s (1216-1471 ns)
//	nat-taken half the flows' own port taken       1.05-1.10 M flows/s (913-953 ns)
//
// The masquerade's extra cost is InUse's lookup of the reply key, which
// misses the cache on its bucket (a missing key reads both of its
// buckets); Commit then finds them warm. Committing first and letting
// the clash check refuse a taken port was tried and saved nothing (the
// miss moves into Commit) while counting every taken port as a
// conntrack clash. nat-taken beats nat only because of how its flows
// come: the second flow of each pair asks for the reply key the first
// just took, whose buckets are still in cache (InUse on an empty 1M
// table: 248 ns a lookup for nat's keys, 136 ns for nat-taken's order),
// so take nat's figure as the cost. The 1M new flows/s per core
// is met by conntrack alone in most runs and with NAT in none of nat's:
// NAT adds one cold lookup per new flow.
//
// A vector's new flows (2026-12-07). The switch's nat node calls
// PrepareCommits between TrackBatch and the commits: for each new flow it
// computes the reply key Commit will try first (Rules.plan, Commit's own
// decision: a masqueraded flow's own port, a map's or service's target)
// and has conntrack touch that key's two buckets, all the vector's in one
// loop (conntrack.Worker.PrepareKeys), so InUse's cold lookup overlaps
// with the vector's others instead of coming alone. dnat and service look
// in their Go maps only for a port that some map or service uses
// (Rules.ports, a 64k-bit set), and conntrack fills an entry with plain
// stores. Three rounds alternating the code before (1c7823c) and after
// (`go test ./policy/nat -run '^$' -bench NewFlows -benchtime 2s`, load
// 1.2-1.4), ns per flow:
//
//	ct          985, 814, 828      -> 802, 810, 822
//	nat         1238, 1190, 1204   -> 1072, 1104, 1135
//	nat-vector  (new)                 802, 885, 806   (1.13-1.25 M flows/s)
//
// so NAT now meets the 1M new flows/s a core the vector way. The switch's
// figures (BenchmarkNATNewFlows1M: 1.15-1.22 -> 1.58-1.69 M flows/s) are
// in docs/policy.md.
//
// # Not done
//
// Wiring into the switch's graph (a node per direction, hairpin routing
// back into the network), the vsctl nat/ commands and the Docker
// driver's ProgramExternalConnectivity; for services: the vsctl svc/
// commands, answering VIPs' ARP and ND (or keeping VIPs off the
// networks' subnets), health checks (a backend is drained or removed by the
// control plane, not detected here), session affinity by client
// address alone, services of other protocols or port ranges, and
// per-service table sizes (Config.ServiceTableSize is per table); SCTP (its CRC32c needs the whole
// packet) and IPv6 protocols other than TCP, UDP, UDP-Lite, DCCP and
// ICMPv6; NAT64/NAT46; port ranges per network or per external address
// (the Config ranges are per table); address pools (one external address
// per family per network); Linux's source-port classes (below 512,
// 512-1023) and --random-fully; a map from a range of host ports; FTP
// and SIP helpers; a later fragment whose first fragment conntrack did not
// see (it arrived first, or its slot was reused: conntrack's "Fragments")
// stays untracked, and the switch drops it for a translated flow
// (nat-fragment) rather than let it out untranslated; one that conntrack
// matched to its flow gets the flow's addresses (it has no ports: the
// first fragment's were translated, and its L4 checksum, updated by a
// difference, is right for the whole datagram). Translate does not
// prefetch the entries of a vector; at 1M flows the entry lines
// TrackBatch touched are mostly still in cache.
package nat
