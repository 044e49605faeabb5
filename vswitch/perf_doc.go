package vswitch

// # Per-packet cost (issue 24)
//
// Where the time of the hot paths goes, how it was measured, what was cut
// and what is left. Figures with their commands: docs/benchmarks.md.
//
// How it was measured. This VM exposes no hardware counters to guests:
// perf stat reports cycles, instructions, cache-misses and
// dTLB-load-misses as "<not supported>", and perf record samples the
// cpu-clock only. So instruction counts come from callgrind on the
// benchmark binary (go test -c ./perf; GOMAXPROCS=1
// GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind BIN -test.bench
// X$ -test.benchtime Nx, once with N=1 and once with N=1001 polls of 256
// frames, the difference divided by 256,000: setup and warm-up cancel
// out; valgrind 3.19 dies now and then on the runtime's rdtscp, the run
// is then repeated), the time split from perf record (cpu-clock) and the
// memory behaviour from microbenchmarks (floor_bench_test.go,
// mactable_bench_test.go). The VM was shared with other builds during
// this work (load 6-11 on 2 vCPUs), so times varied 2-3x between runs;
// instruction counts do not.
//
// Instructions per packet, whole worker loop (rx copy from the memory
// port, graph, tx), before -> after:
//
//	L2, 1 flow              631 -> 594-604 -> 575-576 -> 501
//	L2, 1k MACs             631 -> 601-616 -> 588-590 -> 513
//	IPv4, 10 routes         984 -> 900-901 -> 921-922 -> 624
//	IPv6, 100k routes       (not counted)    909-915 -> 642
//	VXLAN encap + L2       1585 -> 1133-1147 -> 1129 -> 1060
//	VXLAN decap + L2       1740 -> 1385 -> 1329-1332 -> 1081
//
// (The third column is after the fusion of l2-fwd into l2-input and
// vxlan-decap, 2026-12-06, measured with GOGC=off so that a collection
// in one of the two runs does not skew the difference; the old binary
// counted 604-612 for L2 and 910-911 for IPv4 the same way. IPv4 pays
// about 11 for l2-input's longer loop and gains nothing from the fusion:
// its routed port never reaches l2-fwd. The fourth is after the routing
// fast paths, TxFast, the cheaper memory-port rx, the fused loop's
// spills and the shared routedRewrite and sum5OK, 2026-12-07,
// counted inside the worker's Poll only (valgrind
// --toggle-collect='github.com/vecswitch/vecswitch/pipeline.(*Worker).Poll'),
// which repeats to within 3 between runs where the whole-process count
// moved by up to 70: the third column's code counts 579, 592, 921,
// 909, 1132 and 1332 that way.)
//
// Where they went before (L2, 1k MACs): port rx (memport copy, buffer
// allocation) ~135; l2-input ~100; l2-fwd ~245 (keys, the two lookups,
// learning checks); l2-output ~80; dispatch between nodes ~30; tx staging
// and flush ~50. VXLAN encap added ~950 to that: vxlan-encap ~130 of its
// own (three table indirections per packet to find the template), Encap
// ~145, InnerFlowHash ~90, and then a whole ip4-forward pass over the
// header it had just built (~450: header check and checksum, FIB lookup,
// neighbor lookup, MAC rewrite, routedOut). Decap added ~1100: l2-input's
// routed branch ~85, ip4-forward ~350 (a needed header check of an outside
// packet), ip4-local ~90 (only to see UDP to port 4789), vxlan-decap
// ~200 of its own (binary search of the VNI, linear search of the source
// VTEP, per packet) plus ParseOuter ~250 (a 64-byte result cleared and
// filled, 16-byte address copies, the IPv4 checksum summed a second time).
//
// What was cut, biggest first:
//
//   - vxlan-encap finishes the plain case itself (vxlan_fast.go): the
//     underlay route, neighbor and port are resolved once per vector and
//     tunnel, and each packet gets the MAC rewrite and tx staging that
//     ip4-forward and routedOut would have given it; the template is
//     found once per (port, domain) run. Everything unusual still goes
//     through ip4-forward/ip6-forward (see vxlan_fast.go for the list).
//     -450 instructions.
//   - Decap: ip4-forward hands UDP to the local VTEP port straight to
//     vxlan-decap (ip4-local's only work for it is that check);
//     vxlan-decap parses the usual IPv4 packet with encap.ParseOuter4
//     (falls back to ParseOuter, which names the reason, for anything
//     else) and resolves (VNI, source VTEP) once per run. -355.
//   - L2: l2-fwd stages known unicast for tx itself when l2-output would
//     do nothing but stage it (access or native VLAN, an up port that is
//     not a tunnel, the frame fits, no offload work); l2-output now only
//     sees tags, tunnels, GSO, drops and traced frames. -30 to -37.
//   - IPv4: ip4-forward checks the usual 20-byte header with five 32-bit
//     adds (check4, falling back to proto.Check4Avail) and remembers the
//     last neighbor lookup (nbrMemo; ip6-forward too). -70 to -83.
//   - l2-fwd is fused into l2-input and vxlan-decap (fusedFwd,
//     node_l2input_fused.go): the node that has a frame's Ethernet header
//     in hand takes its two MACs, and one more pass over the vector
//     computes the buckets (touching them in a large table), learns and
//     forwards; frames l2-fwd would drop, and traced ones, go to l2-fwd
//     untouched. The node hop and l2-fwd's second read of every frame's
//     metadata and header are gone. vxlan-decap no longer sums the outer
//     IPv4 header's checksum a second time (ip4-forward verified it:
//     encap.DecapConfig.IPv4HeaderChecked), and l2-output's plain case is
//     one compare (portEntry.plain). -15 to -30 on L2, -60 on decap.
//     (Staging the fused tx in runs per port, one copy instead of a
//     stageTx per frame, was tried and counted 10 more, not fewer.)
//   - l2-input reads metadata and bytes through Arrays (no per-call
//     bounds-checked Pool.Meta/Packet pair), and its routed branch gets
//     them passed in and the NAT pointer loaded once per vector. -10.
//   - Routing (2026-12-07): ip4-forward and ip6-forward route the usual
//     packet in one straight run of checks (node_ip4fwd_fast.go,
//     node_ip6fwd_fast.go) and hand every other packet, before changing
//     anything in it, to the general loop, now a method (forward); the
//     routed port's tx is written out there instead of routedOut's
//     eleven-argument call; l2-input sends a routed port's plain IPv4 or
//     IPv6 frame to L3 inline instead of through routedIn
//     (portEntry.rifPlain). TestIP4FastMatchesNodes and
//     TestIP6FastMatchesNodes compare the fast and general loops on
//     random packets and configurations (bad checksums, options, padding,
//     TTL 0 and 1, martian, local, blackholed, unrouted and ECMP
//     destinations, unresolved and stale neighbors, over-MTU packets).
//     IPv4 -270, IPv6 -240, VXLAN decap (its outer packet is routed to
//     the local VTEP) -200.
//   - Tx staging (pipeline.Frame.TxFast): the common case, an open batch
//     with room, is one compare and has no call in it, so it inlines into
//     the nodes' loops (Tx was a call per packet). -12.
//   - The memory port's rx copy is written out in its fill loop (no
//     copyFrame call), and rx and tx count bytes with the metadata slice
//     loaded once. -45.
//   - The fused l2-fwd's loop reads its per-frame arrays through one
//     pointer with a byte index and loads the MAC table's buckets and
//     its next indices once per vector: the compiler had spilled and
//     reloaded them around every store of the loop. -23.
//
// Counters, traces, drops. Every drop keeps its node and reason: a packet
// that any skipped node could drop is never finished early. Traced
// packets (pipeline.FlagTraced) always take the node-by-node path, so a
// trace still shows every node. What changes is the per-node vector and
// packet counts of the skipped nodes (ip4-forward no longer counts
// encapsulated packets it did not see, l2-output no longer counts fused
// unicast, l2-fwd no longer counts what l2-input and vxlan-decap
// finished, ip4-local no longer counts VXLAN packets); port counters are
// unchanged. TestL2FusedMatchesNodes runs random configurations and
// traffic through a fused and a node-by-node switch (learner.unfused)
// and requires the same frames out of the same ports and the same drop
// counters (with port security and a router interface among the random
// configurations); TestVXLANFastMatchesNodes does the same for the VXLAN
// paths; the L3 tests cover the others.
//
// What is left, and why the targets are missed where they are (figures
// and commands: docs/benchmarks.md, "Routing fast paths, inlined tx
// staging, cheaper rx"; times are medians of three 2 s runs on the
// quiet VM, 2026-12-07):
//
//   - L2 at 1k MACs: 28.2 ns for the whole loop, 22.4 for the graph
//     alone, against 25; 513 instructions (the last 23 of them, the
//     fused loop's spills, moved the time by less than the noise). The memory port's rx copy,
//     buffer allocation and byte counting (~80, which zero-copy AF_XDP
//     does not pay), l2-input's checks (~110: runt, port, VLAN, source
//     MAC sanity, port security, routed port), the fused pass's two
//     lookups with their lock-free re-checks, learning and output checks
//     (~240), tx staging, flush and dispatch (~60). Spread thin, no item
//     above a quarter of the total. The floor of the same work in one
//     bare loop (BenchmarkFloorL2MACs1k) is 15-16 ns here, so this
//     target is the pipeline's to meet, not the machine's: about 3 ns
//     short. (Caching the ingress port's entry across a vector and
//     finding next-index runs four at a time were tried: no gain.) On a
//     freshly booted VM (2026-12-07, fourth session): 25.9-27.0 ns, graph
//     20.4-21.3, floor 14.2-14.4: 1-2 ns short.
//   - IPv4 at 1M routes: 61.3 ns against 40. The floor of the same work
//     in one bare loop (BenchmarkFloorIP4Routes1M: receive, one batch of
//     FIB lookups in 1M routes drawn as perf draws them, header check,
//     TTL and MAC rewrite, free) is 40-50 ns here: one random line of
//     the 64 MiB tbl24 per packet (and a tbl8 line for long prefixes) is
//     most of it, so 40 ns is at or below this machine's floor. The
//     pipeline's share above it is 12-20 ns (650 instructions a packet when timed).
//     On a freshly booted VM (2026-12-07, fourth session), with the FIB's
//     tbl8 entries loaded from a list (internal/fib's doc): 50.7-52.0 ns,
//     floor 32.9-33.5. Of the 51 ns, 30 are the routed path itself (IPv4
//     at 10 routes), about 5 the memory port reading the 16 MiB source of
//     2^18 distinct frames, and 15-17 the FIB's misses, which the floor
//     pays too; 40 would need the routed path at about 20 ns.
//   - L2 at 1M MACs (54 ns), VXLAN encap (52) and decap (59): met. Each
//     1M-MAC packet needs two random lines of a 32-48 MiB table; l2-fwd
//     and ip4-forward issue all of a vector's loads in one tight pass
//     before using them, so the misses overlap; the cost of independent
//     random loads on this VM is BenchmarkFloorIndependent (9.7-10.2 ns
//     per load on a quiet VM, 2026-12-07, against 170-234 ns for a
//     dependent chain, BenchmarkFloorDependent; until then the
//     independent draws were 64k lines, which the last-level cache held,
//     so the 10-70 ns measured before are not comparable; the 1.3 µs of
//     the dependent chain then was a shared VM's). Huge pages
//     (internal/hugemem) for the same 64 MiB: 9.0-9.7 and 150-166 ns,
//     within a tenth for independent loads, 12-29 % less for the chain
//     (BenchmarkFloorIndependentHuge, BenchmarkFloorDependentHuge),
//     which the nodes' touch-ahead passes do not run; the FIB had
//     already measured no gain from them (internal/fib's doc), and the
//     MAC table stays on the Go heap: backing it with mmapped memory
//     would make every reader (including the control plane's) keep the
//     table alive explicitly until its last load, for no measured gain.
