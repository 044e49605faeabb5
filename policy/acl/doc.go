// Package acl is the security-group classifier (issue 20): named groups
// of ports and member addresses whose rules (direction, protocol, port
// ranges, remote CIDR or remote group, priority, allow or deny) are
// compiled into an immutable Classifier that answers, per packet, allow or
// deny and which rule decided, with a cost that does not grow with the
// number of rules. It knows packets' fields and port indexes, not bridges:
// the switch fills a Key from the headers, wires the lookup into its graph
// as a node, and asks conntrack first.
//
// # Semantics
//
//   - A port in no group is unfiltered: Lookup answers VerdictUnfiltered
//     and the packet passes.
//   - A port in one or more groups is filtered by the union of its groups'
//     rules of the packet's direction. Ingress is traffic to the endpoint
//     behind the port (the switch sends it out of the port), egress
//     traffic from it. The remote end is the packet's source for ingress
//     and its destination for egress; Rule.Remote and Rule.RemoteGroup
//     match it. Rule.Ports is the destination port range in both
//     directions (as in OpenStack), Rule.SrcPorts the source port range.
//   - A remote group matches the member addresses (Group.Addrs) of the
//     named group, IPv4 and IPv6, exactly (each is a /32 or /128).
//   - Of the rules that match, the one with the largest Priority wins;
//     at equal priority a Deny beats an Allow; then the rule that comes
//     first in the model (groups in order, rules in order) wins. With all
//     priorities 0 this reads "any matching deny denies, else any
//     matching allow allows".
//   - When no rule matches, the packet is denied (VerdictDefaultDeny) and
//     charged to the default-deny counter of the port's set of groups and
//     direction.
//   - Letting the replies of allowed flows through (established/related)
//     is conntrack's job, not the classifier's: the switch asks conntrack
//     first and the classifier only for packets that start a flow. A new
//     Classifier therefore applies to new flows as soon as the control
//     plane publishes it; flows conntrack already admitted keep going
//     until conntrack drops or revalidates them.
//   - A remote CIDR restricts a rule to its family, icmp (1) to IPv4 and
//     icmpv6 (58) to IPv6; Rule.Family restricts it explicitly. ICMP type
//     and code travel in Key.DstPort and Key.SrcPort (Key.SetICMP). The
//     caller fills ports only for tcp, udp, sctp and udplite (the
//     classifier ignores them for other protocols) and should fill a
//     non-first fragment's ports with zero or, better, classify it by its
//     flow's conntrack entry.
//
// # Model, validation, compilation
//
// Model, Group and Rule are plain values (the control plane's desired
// configuration). Validate and Compile check every field and return a
// *RuleError naming the group and rule and wrapping a sentinel error
// (ErrBadCIDR, ErrPortRange, ErrUnknownGroup, ErrDuplicateRule...). Compile
// runs off the packet path and builds a new Classifier from scratch; the
// caller publishes it with an atomic.Pointer and workers load it once per
// vector. Nothing is shared with the previous one, so a Lookup that
// started on the old classifier finishes on it.
//
// # Design: per-set bit vectors over elementary intervals
//
// Ports with the same groups share one set; each set has one table per
// direction holding only its groups' rules. A port's set is one array
// load, so rules of groups the port is not in cost nothing: 1,000 rules in
// 100 groups of 10 give each port a table of 10 rules.
//
// A table is a Lakshman-Stiliadis bit-vector classifier (SIGCOMM '98).
// The rules are sorted by precedence and numbered by rank. Each dimension
// of the packet (remote address, IPv4 and IPv6 apart; destination port or
// ICMP type; source port or ICMP code; protocol) is cut into elementary
// intervals, the pieces between consecutive rule boundaries, inside which
// every value matches the same rules; each interval points to a bitmap of
// those rules (bit r for rank r). A lookup finds the packet's interval in
// each dimension (binary search over sorted interval starts: log2 of the
// number of intervals; the protocol is a byte-indexed class), ANDs the
// four bitmaps and takes the lowest set bit: the winning rule. Each bitmap
// starts with a summary word per 64 words (Baboescu and Varghese's
// aggregated bit vector) so the AND visits only words where every
// dimension has a candidate: with up to 4,096 rules in one table the scan
// is one summary word and, usually, one rule word. A remote group is just
// a rule with many address intervals, so it costs the lookup nothing more
// (no per-member expansion into rules). Equal bitmaps are stored once, and
// a whole table lives in one []uint64 (an interval start and its bitmap's
// offset packed in one word) so a small table is a few contiguous cache
// lines.
//
// Cost per packet: three binary searches over at most 2n+1 intervals each
// (n rules in the port's groups), a protocol byte, and four words ANDed
// (with more than 64 rules: a summary word, then usually one word); it
// grows with log n, and with n/4096 for the summary words, not with n.
// Memory is the price: up to (2n+1) bitmaps of n bits per dimension, so
// O(n^2) bits in the worst case of one port in every group. Deduplication
// keeps it well below that (10,000 rules at one port: 19 MiB), and
// MaxTableBytes bounds it (ErrTooLarge).
//
// Alternatives considered:
//
//   - A linear scan in precedence order (VPP acl-plugin's non-hash mode) is
//     what the randomized test's reference model does: fine at 10 rules,
//     14 us per packet at 10,000 (BenchmarkLinear).
//   - Tuple space search (OVS lib/classifier.c; VPP's hash ACL matching,
//     hash_lookup.c, with TupleMerge to merge tuples) costs one hash probe
//     per distinct mask "shape". Security groups have many shapes:
//     remotes of every length from /16 to /32 (and /32-/128 for IPv6)
//     times exact ports times port ranges, which a hash cannot hold and
//     must be expanded into up to 30 prefixes each (or merged into
//     coarser tuples with collision lists). Realistic rule sets give tens
//     to hundreds of tuples, every one of which a default-deny packet
//     probes, plus a hand-written hash table (no Go map on the packet
//     path). Priority-sorted tuples stop early only for packets that hit.
//   - Cilium's per-identity policy maps resolve the remote address to a
//     security identity by LPM (ipcache) and then probe one hash of
//     (identity, protocol, port): constant time, but for allow rules
//     without ordering (deny came later, with fixed precedence) and with
//     identities allocated for every CIDR. The address intervals here are
//     that ipcache step, and the bitmap AND replaces the per-identity map
//     while keeping priorities, denies and port ranges exact.
//   - Decision trees (HiCuts, HyperCuts, EffiCuts) cut faster but build by
//     heuristics, replicate rules, and have worst cases that are hard to
//     bound; the bit vectors' build is a sort and a sweep, with cost and
//     memory that follow from n.
//
// # Counters
//
// Lookup returns a counter index with the verdict: the winning rule's
// (indexes below ModelRules, in model order), the default deny's of the
// port's set and direction, or NoRule for an unfiltered port. Each worker
// owns a Counters (NewCounters), adds to plain words with Count and
// publishes them to atomics every few vectors (Publish), as pipeline node
// counters do; Snapshot sums the workers' published counts with each
// index's group and rule name, so denied packets are reported under the
// deny rule's name. Counters made for a new classifier with
// NewCounters(prev) carry the worker's totals over by group and rule name
// when the worker calls Adopt.
//
// # Measurements
//
// go test -run '^$' -bench . -count 5 -benchtime 0.5s ./policy/acl/ on
// the 2-core test VM (AMD Turin-class), which other jobs were loading at
// the time: the lowest of 15 runs. 256 packets per iteration, each on its
// own port and direction, half built to hit a random rule of the port's
// groups, half random (BenchmarkLookup; BenchmarkLinear for the scan):
//
//	                                      classifier   linear scan   tables
//	10 rules, 1 group                        36 ns         38 ns     1.5 KiB
//	1,000 rules, 100 groups                  61 ns         68 ns     0.17 MiB
//	  same, every packet on one port         34 ns         44 ns
//	10,000 rules, 1,000 groups               87 ns         99 ns     1.7 MiB
//	1,000 rules, all 100 groups on a port   142 ns        509 ns     0.38 MiB
//	10,000 rules, all on one port           467 ns     13,557 ns     19 MiB
//
// 1,000 rules cost what 10 cost when the packets stay on one port (the
// "hot-port" control); spread over 100 ports, the difference is cache
// misses on 100 tables, and the linear scan, whose work per packet is
// also 10 rules there, takes the same step. With 10 rules per port the
// scan is nearly as fast; the classifier pays off when a port's groups
// hold many rules. With every rule on one port the cost follows log n:
// binary searches over about 2,000 (1,000 rules) and 16,000 (10,000
// rules) intervals and bitmaps that no longer fit in the L1 cache,
// against a linear scan 3.6 and 29 times slower. Compile takes 6 ms for
// 1,000 rules in 100 groups, 43 ms for 10,000 in 1,000 groups, 12 ms and
// 192 ms for 1,000 and 10,000 rules at one port (BenchmarkCompile).
//
// The figures above were taken with a binary search whose step was an
// if, meant to become a conditional move; the compiler emitted a jump,
// taken at random, so about half the levels of every search were
// mispredicted. search now adds its step under a mask from the compare's
// borrow (no branch on the data). The same benchmark, the old and new
// code alternated three times at 1 s on a quiet VM (2026-12-07):
//
//	                                      before          after
//	10 rules, 1 group                     34.4-34.6 ns    30.9-31.2 ns
//	1,000 rules, 100 groups               61.1-61.5       39.6-40.0
//	  same, every packet on one port      30.1-30.4       32.6-35.0
//	10,000 rules, 1,000 groups            82.5-82.8       55.0-58.9
//	1,000 rules, all 100 groups on a port 130-131         86.6-87.5
//	10,000 rules, all on one port         365-415         317-349
//
// Only the one-port control, whose searches take the same path every
// time (every jump predicted), loses: 2-5 ns of a longer dependency
// chain. It matters for new flows (an established one is not
// classified): two lookups each, egress and ingress.
package acl
