// Package lb is the service load balancer's backend selection (issue
// 21): Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer", NSDI 2016, section 3.4). It
// knows backends and hashes, not packets: package nat builds a Table per
// service and looks a new flow's 5-tuple hash up in it; conntrack then
// keeps the flow on its backend.
//
// # Use
//
//	t, err := lb.New([]lb.Backend{{Key: "10.0.0.5:8080", Weight: 1}, ...}, 0) // control plane
//	i := t.Lookup(flowHash)                                                 // data plane: an index into the slice, or -1
//
// # The table
//
// A table is M slots (a prime, DefaultSize 65537), each holding the
// index of a backend; Lookup takes the slot h*M>>64 of a 64-bit hash h
// (Lemire's reduction: one multiply rather than a division, using the
// hash's high bits) and reads it: one bounds-checked load, no other
// branch than the empty table's, no allocation. Slots are uint16, so a table is 128 KiB at the
// default size and holds at most 65536 backends.
//
// Each backend has a permutation of the slots, offset + j*skip mod M for
// j = 0, 1, ..., from two hashes of its Key: offset = h1 mod M, skip =
// h2 mod (M-1) + 1 (M prime, so every skip visits every slot). Backends
// take turns; at its turn a backend takes the next slot of its
// permutation that is still free; the table is done when every slot is
// taken. Since a backend's preferences depend on its own key alone,
// removing one frees its slots and changes the others' turns only a
// little (a slot another backend took before can now go to one whose
// preference for it came earlier): the paper's "minimal disruption",
// which is near-minimal, not minimal. Measured here (TestRemoveOne,
// TestAddOne, weights 1-3): removing one of 3, 10, 50 or 200 backends
// moves all its slots and 0.02%, 0.2-0.25%, 0.4-0.5% and 0.7-0.8% of
// the others'; adding a 3rd, 10th, 50th or 200th moves 33.3%, 10.3%,
// 2.5% and 1.3% of all slots against an ideal 33.3%, 10%, 2% and 0.5%.
// A larger M disturbs less and costs memory and build time.
//
// Weights are turns, as the paper suggests: round 0 gives every active
// backend one turn (so each holds a slot if there are at most M), and
// round r gives a backend of weight w another whenever floor(r*w/W)
// grows, W being the largest weight: the heaviest backends take one
// every round and a backend's share of turns, which is its share of
// slots since a turn takes exactly one, is its weight's to within a slot
// (TestWeights: 1:2:3 gives 10923, 21846 and 32768 of 65537 slots).
// Within a round, backends go in Key order. When the weights are even
// (the mean at least W/8) New runs the rounds over every backend with a
// per-backend accumulator of r*w mod W; when they are not (one backend
// 1000 times heavier than the rest would mean up to M rounds over every
// backend), a heap ordered by (round, position) yields the same turns
// in the same order while visiting only the backends that have one (a
// backend's k-th extra turn is in round ceil(k*W/w)). Weight 0 and
// Drained take no turn, so no slot: no new flow.
//
// Determinism: backends are sorted by Key first, and the two hashes are
// fixed functions of the key (wyhash-style multiply-mix with murmur3's
// finalizer, two fixed seeds, no per-process seed), so the same set of
// backends gives the same table in any order (TestDeterministic), on
// every host, and after a restart. That is what lets a flow that lost
// its conntrack entry (a restart with TCPLoose picking it up mid-stream,
// or another host behind the same VIP) land on the same backend. The
// package is checked against a slow reference (TestAgainstReference:
// the paper's listing 1 with whole permutation arrays, mod computed
// afresh, turns by floor divisions over every backend each round) on
// random backend sets, weights (tiny, huge, zero), drained backends and
// more backends than slots; FuzzNew checks New never panics and that
// every active backend holds a slot when there are at most M, no
// inactive one does, and every slot is owned.
//
// # Compared with Katran and Cilium
//
//   - Katran (lib/MaglevBase.cpp, MaglevHashV2.cpp): the same offset and
//     skip from two seeded MurmurHash3 hashes of an endpoint's 64-bit
//     hash, ring size 65537 by default, and weights by the same
//     accumulator (each round an endpoint adds its weight and takes a
//     turn when it reaches the largest weight; we add round 0's turn for
//     everyone). Katran visits every endpoint every round whatever the
//     weights, fills in the order the endpoints are given, and writes the
//     ring of endpoint numbers into a BPF array per VIP; we sort by key,
//     switch to the heap for skewed weights, and keep 16-bit indices.
//   - Cilium (pkg/maglev): backends named by strings and sorted, offset
//     and skip from a MurmurHash3-128 with a cluster-wide configurable
//     seed (so every node builds the same table), M 16381 by default
//     (configurable primes from 251 to 131071), weights by per-backend
//     counters (after Envoy's). It materializes every backend's whole
//     permutation (M x N uint64s, computed in goroutines per CPU and
//     kept in a package-level buffer); we keep two words per backend and
//     step through the permutation as it is consumed, so a build needs
//     O(M/8 + N) bytes beside the table and no goroutine.
//
// # Performance
//
// go test -run XXX -bench . -count 3 ./policy/lb/ on the 2-core test VM
// (Go 1.26, other sessions loading it): Lookup 1.2-1.8 ns; New with M
// 65537: 0.68-0.72 ms for 3 backends, 1.9-2.0 ms for 100, 2.0-2.2 ms for
// 1000 (weights 1-3), 0.80-0.81 ms for 100 with one 1000 times heavier
// (the heap path); with M 4093: 26-30 us, 57 us and 145-157 us. A
// build allocates the table, the per-backend arrays and an M-bit map
// (5-7 allocations); it runs on the control plane, once per change of a
// service's backends.
package lb
