// Package fib holds the longest-prefix-match tables of the switch's IP
// forwarding nodes, one Table4 and one Table6 per VRF. A lookup maps a
// destination address to a next-hop ID: a number from 1 to MaxNextHop
// (2^24-1) that the caller assigns, an index into its adjacency array; 0
// means "no route".
//
// # IPv4: DIR-24-8 (table4.go, table4_write.go)
//
// As DPDK's rte_lpm: tbl24, 2^24 entries indexed by the top 24 bits of the
// address, answers every prefix up to /24 in one load; a tbl24 entry can
// instead point to a tbl8 group of 256 entries, indexed by the last byte,
// for a /24 that holds longer prefixes. Each entry packs a next hop and the
// length of the prefix that wrote it, which lets Delete put the covering
// prefix back (DPDK's method). The default route is a field, not entries:
// an empty entry falls back to it, so a table with only a default route
// touches no table memory.
//
// Memory: tbl24 (dir24.go) is 64 MiB of reserved address space (anonymous
// mmap with MAP_NORESERVE on Linux, mmap_unsafe_linux.go; the heap
// elsewhere and under the race detector, which does not watch mmapped
// memory), committed one 4 KiB page per 1024 /24s as entries are written,
// so a VRF with a few routes costs a few pages, and Reclaim gives pages
// that became empty back. A tbl8 group costs 1 KiB, up to Limits.Groups.
// The control-side record of prefixes (a map, for Delete, Get and Walk)
// costs about 28 bytes per prefix. The worst case is 64 MiB + 1 KiB per
// prefix longer than /24 + 28 B per prefix; 1M routes of an Internet-like
// mix with 5% longer than /24 take 133 MiB (BenchmarkInsert4). Huge pages
// for tbl24 were tried (MADV_HUGEPAGE and MADV_COLLAPSE on each 2 MiB
// region as it filled) and bought nothing measurable at 1M routes on the
// test machine, so tbl24 stays on 4 KiB pages.
//
// # IPv6: 24-bit root, 8-bit strides, leaves (table6.go, table6_write.go)
//
// A root of 2^24 entries like tbl24 (same dir24), then nodes of 256
// entries, one per byte of the address, leaf-pushed as in DPDK's rte_lpm6:
// every slot holds the answer for its whole range or points further down.
// Unlike rte_lpm6, a slot whose subtree would hold a single prefix points
// to a 32-byte leaf instead of a chain of nodes: the leaf holds the prefix
// and the slot's answer for addresses outside it. With a realistic mix
// (/32-/64 mostly, some /128) a lookup is one root load and, for most
// addresses inside a prefix longer than /24, one leaf load; nodes appear
// only where prefixes share more than 24 bits.
//
// Why this design: rte_lpm6's plain 8-bit-stride trie spends (d-24)/8
// nodes of 1 KiB on every sparse /d (about 3 KiB per prefix for the random
// table below, 15 times what this one takes); binary search on prefix
// lengths with per-length hash tables (Waldvogel) is compact but pays 5
// or 6 dependent hash probes per lookup; a fully path-compressed trie
// needs a key compare at every level. Leaves keep memory close to the real
// branching of the table and lookups shallow, and every update stays
// incremental and safe for concurrent readers.
//
// Memory: root pages as for tbl24 (at most 8 MiB for a table confined to
// 2000::/3), 1 KiB per node plus 24 bytes of writer bookkeeping, 32 bytes
// per leaf, about 56 bytes per prefix of control record. A prefix needs at
// most one leaf; the worst case for one new /d is a root page (4 KiB) and
// (d-24)/8 nodes, rounded up: 3 KiB for a /48, 5 KiB for a /64, 13 KiB for
// a /128 that shares all but its last byte with another. Limits.Groups
// and Limits.Leaves bound the total. 100k random routes in 2000::/3 take
// 211 bytes per route, 20 MiB in all (BenchmarkLookup6).
//
// # Lookups
//
// Lookup answers one address, LookupBatch a vector of them. A forwarding
// node should use LookupBatch: it loads the first-level entries of the
// whole vector before resolving any of them, so that their cache misses
// overlap, and branches only on entries already loaded. Table4.Lookup is
// small enough to inline; Table6.Lookup is not, and a call per address
// costs it several times what LookupBatch takes per address (87-123 ns
// against 26-57 ns for addresses inside 100k random routes on the 2-core
// test VM, BenchmarkLookup6).
//
// Table4.LookupBatch lists the addresses whose tbl24 entry points to a
// tbl8 group and loads their tbl8 entries in a loop of their own, so that
// these second misses overlap too (table4.go, lookupBatch). With
// destinations inside 1M routes (BenchmarkLookup4Routed: about one in
// twenty needs tbl8, drawn over 16 MiB of tbl24 lines), 10.3-11.9 ns a
// lookup against 11.5-13.7 (once 18.2) for one pass with a branch per
// address, six alternations at 1 s; uniformly random destinations, which
// almost never need tbl8, 0.4 ns slower or the same; in the
// switch, perf's BenchmarkIP4Routes1M (8 % of its routes longer than /24)
// 52.4-54.4 ns/pkt against 55.4-56.2, IPv4 at 10 routes unchanged
// (2026-12-07, alternated three times at 2 s). The same list for
// Table6's leaves was slower (IP6Routes100k 57-60 against 52-55): most
// IPv6 addresses need their leaf, so the list saves no misses and costs
// a pass.
//
// Software prefetch was tried on this VM for the tbl24 lines (an amd64
// PREFETCHT0, a handful of lines per assembly call, some packets ahead of
// the work on each, as VPP's nodes do) and lost to the batch's plain
// loads: with 20-60 ns of other work per lookup, 34-93 ns against 22-68
// for the batch; the demand load after a prefetch still paid a
// translation miss there, and Go can issue a prefetch only through a
// call. The batch keeps every lookup's miss, translation included, in
// one burst.
//
// # Concurrency
//
// Each table has exactly one writer: Insert, Delete, Reclaim, Close and the
// other control methods (Get, Len, Walk, MemoryBytes, Groups, Nodes) must
// be serialized by the caller. Lookup and LookupBatch may run on any
// number of goroutines at the same time as the writer; they take no lock,
// allocate nothing and read every mutable word with an atomic load. A
// concurrent lookup returns, for its address, either the answer before or
// the answer after the write in progress, never anything else: entries are
// written one atomic store at a time, and a new tbl8 group, node or leaf is
// filled completely before the entry pointing to it is published. The
// arrays holding groups, nodes and leaves grow and shrink by copying and
// publishing the copy (pool.go); a lookup that started on the old array
// finishes on it.
//
// Memory that a lookup may still be reading is never reused at once: a
// tbl8 group folded back into tbl24, or a node or leaf cut out of the trie,
// goes on a pending list. Reclaim makes pending memory reusable. The caller
// must call it only after every lookup that was running when the memory was
// dropped has returned, and must make that ordering visible to the writer
// through a synchronization the race detector understands (the switch
// waits for an atomic epoch per worker; a channel or a mutex also do):
// the writer then refills reused memory with plain stores. Until
// Reclaim, dropped memory stays allocated and counted in MemoryBytes. Close
// frees everything: no lookup may run during or after it.
package fib
