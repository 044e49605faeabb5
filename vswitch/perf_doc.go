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
//	L2, 1 flow              631 -> 594-604 -> 575-576
//	L2, 1k MACs             631 -> 601-616 -> 588-590
//	IPv4, 10 routes         984 -> 900-901 -> 921-922
//	VXLAN encap + L2       1585 -> 1133-1147 -> 1129
//	VXLAN decap + L2       1740 -> 1385 -> 1329-1332
//
// (The third column is after the fusion of l2-fwd into l2-input and
// vxlan-decap, 2026-12-06, measured with GOGC=off so that a collection
// in one of the two runs does not skew the difference; the old binary
// counted 604-612 for L2 and 910-911 for IPv4 the same way. IPv4 pays
// about 11 for l2-input's longer loop and gains nothing from the fusion:
// its routed port never reaches l2-fwd.)
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
// What is left, and why the targets are missed where they are (figures:
// docs/benchmarks.md):
//
//   - L2 at 1k MACs, ~590 instructions: the memory port's rx copy and
//     buffer allocation (~125, a benchmark artefact that zero-copy AF_XDP
//     does not pay), l2-input's checks (~130: runt, port, VLAN, source
//     MAC sanity, port security, routed port), the two hash lookups with
//     their lock-free key re-check (~70), the fused pass's learning and
//     output checks (~170), tx staging, flush and dispatch (~70). The
//     fusion (above) took the node hop; what is left is spread thin, no
//     item above 25 % of the total. The floor of the same work in
//     one bare loop (BenchmarkFloorL2MACs1k) is about 14 ns here, so the
//     25 ns target is the pipeline's to meet, not the machine's.
//   - L2 at 1M MACs and IPv4 at 1M routes: memory. Each L2 packet needs
//     two random lines of a 32-48 MiB table, each IPv4 packet one of the
//     64 MiB tbl24. l2-fwd and ip4-forward already issue all of a
//     vector's loads in one tight pass before using them (so the misses
//     overlap); the floor is the cost of independent random loads on
//     this VM, BenchmarkFloorIndependent (10-70 ns per load while the VM
//     was shared, against 1.3 µs for a dependent chain,
//     BenchmarkFloorDependent). Huge pages (internal/hugemem) for the same
//     64 MiB changed the independent-load figure by less than the noise
//     between runs (BenchmarkFloorIndependentHuge); the FIB had already
//     measured no gain from them (internal/fib's doc), and the MAC table
//     stays on the Go heap: backing it with mmapped memory would make
//     every reader (including the control plane's) keep the table alive
//     explicitly until its last load, for no measured gain.
//   - VXLAN encap: the L2 path (~600) plus Encap (~145), the inner flow
//     hash (~90) and the node's own loop (~150): about twice L2, where
//     the 60 ns target wants 1.5x at most.
//   - VXLAN decap: an outside packet needs its IPv4 header checked
//     (ip4-forward), its outer headers parsed and the inner frame
//     switched (l2-fwd with both lookups): ~2.3x L2. Its bare-loop floor
//     (BenchmarkFloorVXLANDecap) is about 26 ns: the node passes are
//     the rest.
