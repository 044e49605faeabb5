// Package fib holds the longest-prefix-match tables of the switch's IP
// forwarding nodes, one Table4 and one Table6 per VRF. A lookup maps a
// destination address to a next-hop ID: a number from 1 to MaxNextHop that
// the caller assigns (an index into its adjacency array), 0 meaning "no
// route".
//
// # IPv4: DIR-24-8 (table4.go, table4_write.go)
//
// As DPDK's rte_lpm: tbl24, 2^24 entries indexed by the top 24 bits of the
// address, answers every prefix up to /24 in one load; a tbl24 entry can
// instead point to a tbl8 group of 256 entries, indexed by the last byte,
// for the /24s that hold longer prefixes. Each entry packs a next hop and
// the length of the prefix that wrote it, which is what lets Delete put
// back the covering prefix. The default route is a field, not entries: an
// empty entry falls back to it, so a table with only a default route
// touches no table memory.
//
// Memory: tbl24 is 64 MiB of reserved address space (anonymous mmap,
// MAP_NORESERVE, on Linux; the heap elsewhere and under the race detector,
// which does not see mmapped memory), committed one 4 KiB page per 1024
// /24s as routes are written: a VRF with a few routes costs a few pages,
// and Reclaim gives pages that became empty back. A tbl8 group costs 1 KiB
// per /24 holding longer prefixes, up to Limits.Groups. The control-side
// record of prefixes (a map, for Delete, Get and Walk) costs about 40
// bytes per prefix. A full table of 1M routes takes about 145 MiB (see
// BenchmarkInsert4).
//
// # IPv6: multibit trie with leaves (table6.go, table6_write.go)
//
// A 16-bit root (65536 entries, 256 KiB) and 8-bit strides below it, as
// DPDK's rte_lpm6, with leaf pushing: every slot holds the answer for its
// whole range or points further down. Unlike rte_lpm6, a slot whose subtree
// would hold a single prefix points to a leaf instead of a chain of
// nodes: the leaf holds the prefix, its mask and the slot's answer for
// addresses outside it. A lookup of a typical table is one root load, one
// node load and one leaf load; it resolves the first two node levels and
// the leaf with masks, not branches, so that consecutive lookups overlap
// their cache misses.
//
// Why this and not the alternatives: a plain 8-bit-stride trie (rte_lpm6)
// costs up to (d-16)/8 nodes of 1 KiB for each sparse /d, 3-6 KiB per
// prefix for random /32-/64 tables; binary search on prefix lengths with
// hash tables (Waldvogel) is compact but pays 5-6 dependent hash probes per
// lookup; a fully path-compressed trie needs a key compare at every level.
// Leaves keep memory near the table's real branching and lookups shallow,
// and updates stay incremental and RCU-friendly.
//
// Memory: the root (256 KiB), 1 KiB per node (plus 16 bytes of writer
// bookkeeping), 40 bytes per leaf, about 72 bytes per prefix of control
// record. A prefix needs at most one leaf, and nodes only where two
// prefixes share more than a stride: the worst case for one new /d is
// (d-16)/8 new nodes (6 KiB for a /64, 14 KiB for a /128 sharing all but
// its last byte with another); Limits.Groups and Limits.Leaves bound the
// total. 100k random routes in 2000::/3 (/32-/64 mostly, 5% /128) take
// about 290 bytes per route (see BenchmarkLookup6).
//
// # Concurrency
//
// Each table has exactly one writer: Insert, Delete, Reclaim, Close and
// the other control methods (Get, Len, Walk, MemoryBytes) must be
// serialized by the caller. Lookup may run on any number of goroutines at
// the same time as the writer; it takes no lock, allocates nothing and
// reads every entry with an atomic load. A concurrent Lookup returns, for
// its address, either the answer before or after the write in progress,
// never anything else: entries are written one atomic store at a time, and
// a new tbl8 group, node or leaf is filled completely before the entry
// pointing to it is published. The arrays holding groups, nodes and leaves
// grow and shrink by copy and publish (pool.go); a lookup that started on
// the old array finishes on it.
//
// Memory that a Lookup may still be reading is never reused at once: a
// tbl8 group folded back into tbl24, or a node or leaf cut out of the trie,
// goes on a pending list. Reclaim makes pending memory reusable. The
// caller must call it only after every Lookup that was running when the
// memory was dropped has returned, with that ordering made visible to the
// writer through a synchronization the race detector understands (an
// atomic epoch per worker, as the switch's workers keep, a channel or a
// mutex). Until Reclaim, dropped memory stays allocated and counted in
// MemoryBytes. Close frees everything: no Lookup may run during or after
// it.
package fib
