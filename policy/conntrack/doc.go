// Package conntrack is the switch's connection tracker (issue 20): it
// tells, for every IP packet, which flow it belongs to, in which
// direction, and whether the flow is new, established, related (an ICMP
// error about it) or the packet invalid, so that the ACL, NAT and load
// balancer nodes can act on flows rather than packets. It knows packets
// and pipeline metadata, not bridges: the switch wires its nodes, passes
// a zone (a bridge or VRF), and writes Result.Conn into Meta.Conn.
//
// # Use
//
//	tab, _ := conntrack.New(conntrack.Config{Capacity: 1 << 20})
//	w := tab.NewWorker()                   // one per worker goroutine
//	res := w.Track(&p, pkt, zone, now)     // p: a Packet kept per vector slot
//	if res.State == conntrack.StateNew && res.Conn == 0 && policyAllows(&p) {
//		res = w.Commit(&p, nil, now, mark) // OVS's ct(commit)
//	}
//	meta.Conn = res.Conn
//	...
//	w.Publish()                            // once per vector: counters
//
// A node that has a whole vector calls Parse per packet and TrackBatch
// once. now is the caller's monotonic clock in seconds (uint32, compared
// as serial numbers, so workers whose clocks differ by a little do not
// expire each other's flows); tests pass whatever they like. The control
// plane reads and removes flows with Get, Lookup, Walk, Delete,
// DeleteKey, Flush (by predicate: "this rule went away, stop its flows"),
// FlushZone and Expire (the ager's incremental sweep), and reads
// Counters.
//
// # Keys and parsing
//
// A Key is 40 bytes, five words: source and destination address (IPv4
// stored IPv4-mapped, with a family flag), ports, zone, protocol. TCP,
// UDP, UDP-Lite, SCTP and DCCP use their ports; an ICMP or ICMPv6 query
// uses its identifier and its type, and Reverse maps echo request to echo
// reply (and the other query pairs), as Linux's ICMP tuples do. Other
// protocols are tracked by addresses only. Parse starts at the IP header,
// follows up to 8 IPv6 extension headers (hop-by-hop, routing,
// destination options, fragment, AH), takes a first fragment like any
// packet, and classifies a non-first fragment as untracked
// (ReasonFragment: there is no L4 header), noting for both the datagram's
// identification (Packet.Frag, FragID); tracking then gives a later
// fragment its first fragment's ports when it can (Fragments, below). An ICMP or ICMPv6 error is parsed to
// the packet it quotes, and Track looks up the reverse of the quoted
// packet's key, as Linux does: a match is StateRelated, in the direction
// of the key found (opposite to the quoted packet's). The quote shows a
// packet as it was beyond the switch, translated if the flow is NATed, so
// only its reverse is sure to be one of the flow's keys. An error goes
// back to the sender of the packet it quotes: one whose destination is
// not the quoted packet's source is invalid (ReasonICMPOuterMismatch), as
// Linux's nf_conntrack_inet_error refuses it, else anyone could send
// anyone an error "related" to a flow of others. Its source is not
// checked (a router on the way reports a TTL or an MTU); which ports it
// may cross is the caller's to check (the switch's security groups
// compare the flow's mark). ICMPv6 neighbour discovery, MLD and router
// discovery are untracked, as in Linux, their key holding the message's
// type and code as a query's does (DstPort), for policy to tell them
// apart. Anything malformed gets a named Reason and is counted; Parse
// never panics, never reads past the packet (FuzzParse) and does not
// verify checksums.
//
// # One shared table, lock-free
//
// The two directions of a flow often arrive on different workers (the
// client's port and the server's port are polled by different cores, and
// NIC RSS is not symmetric), so the table is shared by all workers: a
// reply finds the entry its original created wherever it lands, and
// nothing is handed off between workers. This is Linux's and OVS's
// choice; VPP's nat44-ed keeps per-thread session tables instead and
// hands every packet whose flow belongs to another thread over to it by
// flow hash, which costs a queue hop and a cache-cold packet on the
// other core for every mismatched direction, and needs a handoff node
// our pipeline does not have. Unlike Linux (RCU lookups, but a spinlock
// per hash bucket pair on insert and delete) and OVS (lock-free cmap
// lookups, a mutex on connection creation), inserts and deletes here are
// lock-free too: a worker never waits for another, and the only writes
// two workers share on the hit path are a flow's state word when its
// TCP state changes and its last-seen second, written at most once a
// second.
//
// Buckets are 64-byte cache lines of 8 slot words. A slot word is
// tag(32) | direction(1) | entry index(31), the tag being 32 bits of the
// key's hash, so a lookup reads one line and touches an entry only for a
// matching tag. A key may live in two buckets (the second a hash-chosen
// distance from the first, as in the MAC table); inserts prefer the
// first, so most lookups read one bucket. When both are full, one slot is
// moved to its other bucket (one cuckoo step: copy first, then clear),
// and only then is a flow evicted from them. The bucket array is sized
// for both keys of every flow at 37-75% load.
//
// An entry is 128 bytes, two cache lines: a sequence word, the state
// word, the original key, a 32-bit mark and a 64-bit label in the first;
// the reply key in the second. It is referenced by its uint32 index
// (Meta.Conn). Like nf_conntrack's tuplehash[2], an entry is in the
// buckets under two independent keys, original and reply, so after
// source or destination NAT the reply key is whatever the translation
// says (Commit's reply argument), not the reversed original; the NAT
// node rewrites a packet to the reverse of the other direction's key.
// The mark and label are free for the layers above (an ACL verdict, a
// load balancer's backend). A flow whose reply key is its original
// reversed (no translation; not ICMP, whose reply type differs) is
// marked plain in its state word at commit (stPlain): TrackBatch checks
// its reply packets against the first line's key, reversed, so every
// packet of such a flow reads one entry line, not two. The reply key is
// written all the same; every other reader uses it.
//
// The protocol, all in atomics (so the race detector checks it too):
//
//   - The sequence word is a seqlock and an ownership flag: generation in
//     bits 2 and up, bit 0 dead, bit 1 "being committed". A reader loads
//     it, compares the key, loads it again, and believes the key only if
//     the word was even and did not change.
//   - Commit takes a free index (a per-worker cache in front of a
//     lock-free Treiber stack with an ABA tag, in front of a bump
//     counter), writes the keys and state while the entry is dead, marks
//     it live-but-committing, then puts its two slot words into empty
//     slots by compare-and-swap. It then looks for another entry holding
//     either key: two workers that committed the two directions of one
//     new flow at once, or a translation that chose a reply key in use.
//     Each committer checks after placing its own slots, so at least one
//     of them sees the other; a committed entry beats a committing one,
//     and of two committing ones the lower index wins. A loser is
//     deleted and its committer returns the winner's entry (or
//     ReasonKeyInUse for a clashing translation). The check must not
//     miss an entry: one whose sequence word changes while it is read
//     (its commit just finished) is read again, not skipped; a winner
//     whose kill of a committing loser fails because that commit just
//     finished looks again and loses; and a scan during which a cuckoo
//     move ran is repeated (a slot moving from the second bucket to the
//     first between the two reads is in neither; Table.moves counts
//     moves, as DPDK rte_hash's tbl_chng_cnt). Each of these once let two
//     NAT flows share a translated port (TestConcurrentReplyClash).
//   - Deleting is one compare-and-swap of the sequence word to dead,
//     which exactly one deleter wins; it then unlinks the slots and frees
//     the index, unless the entry was still being committed, in which
//     case its committer unlinks and frees it when it finishes (the
//     deleter must not touch its slots: by the time it read the keys, the
//     index could be free and reused). A reader holding a stale slot word
//     sees the entry dead, or reused under another key.
//   - The state word packs the last-seen second, 12 bits of the
//     generation and the flow state (TCP state, first-FIN direction,
//     replied, protocol class). Updates are compare-and-swaps of the whole
//     word, so two workers seeing the two directions of a TCP connection
//     at once both apply their transition, and an update meant for a
//     flow whose entry was deleted and reused meanwhile fails.
//
// Known races, all harmless: TrackBatch's one-bucket probe may miss a
// key that a cuckoo move is carrying (the fallback lookup repeats a miss
// that overlapped a move); a Conn returned by Track may be deleted and
// reused before a later node reads its mark (Get rechecks the key).
//
// # State and time
//
// TCP follows Linux's state machine without window tracking: SYN-sent,
// SYN-received, established, FIN-wait, close-wait, last-ack, time-wait,
// close (after RST), each with its own timeout (Timeouts; established
// defaults to a day). A retransmitted SYN, SYN+ACK or FIN is accepted; a
// segment its state does not allow (a SYN on an established connection,
// data after RST) is StateInvalid with ReasonTCPTransition and changes
// nothing; a SYN on a closed or time-wait connection deletes it and
// starts anew. Only a SYN starts a flow unless Config.TCPLoose picks up
// connections in the middle. UDP and other protocols have an unreplied
// and a replied timeout; ICMP one. A flow is StateNew until a packet is
// seen in the reply direction, then StateEstablished (Linux's ctinfo).
//
// Expiry is lazy, as OVS's and VPP's: a lookup that finds a flow past its
// timeout deletes it and answers as for a new flow; Expire sweeps a
// slice of entries per call for an ager; and when the table is full,
// expired flows are reused first.
//
// # When full
//
// Capacity is fixed at creation (no growth: memory is known in advance,
// 128 bytes per flow plus 21-43 for buckets). When no index is free,
// Commit evicts a flow: an expired one if it sees one, else the least
// recently seen of the flows in the new flow's four buckets (those of
// both its keys: a sample of about 8 to 16 flows, a sampled LRU as
// Redis's), else of a few buckets under a per-worker clock hand. Linux
// instead drops a not-yet-assured flow from the new flow's bucket
// (early_drop) and refuses the packet if there is none; OVS refuses new
// connections when full. Evicting keeps new connections working under a
// flood at the price of an old idle flow.
//
// # Counters
//
// Each Worker counts its own hits, misses, new flows, related packets,
// evictions, expirations, deletions, clashes, failed commits and
// packets per Reason in plain fields (an atomic store compiles to XCHG
// on amd64, a full barrier dearer than a lookup), and copies them to
// atomics in Publish, which TrackBatch calls itself and a node using
// Track calls once per vector; Table.Counters sums the published copies
// with the control plane's own.
//
// # Performance
//
// The cost of an established packet is instructions plus memory, and at
// 1k flows (all in cache) it is all instructions. Callgrind counts of
// the vswitch benchmark BenchmarkSGEstablished1k, instructions per
// packet, whole path, counted inside the worker's poll with the GC off
// (docs/policy.md "Figures" has the command and every round's table):
// first round 1560 -> 1172 (whole process), second 1242 -> 1188,
// third (2026-12-07) 1164 -> 1101 on the same base, plain L2 578: the
// security-group share 586 -> 523 (1045 over 523 with another session's
// work on the plain path). What the rounds did:
//
//   - Parse has a fast path for IPv4 without options, TCP or UDP, not a
//     fragment, in its own body (FuzzParse checks it answers as the
//     full parser, parseFull, does): about 66 instructions instead of
//     160. ParseBatch is the same for a vector, the fast path written
//     out in its loop: the nodes that parse a vector (sg-policy, nat)
//     save a call per packet (about 10 instructions).
//   - A key's fifth word (ports, zone, protocol, flags) is one 8-byte
//     load on little-endian machines (word_unsafe.go) instead of five
//     loads and four shifts; it is in every hash and every compare.
//   - TrackBatch runs in passes: hash every key; touch every first
//     bucket (a tight loop of independent loads: the misses of the
//     vector overlap, Go having no prefetch; hashing in the same loop
//     saves 9 instructions but keeps fewer misses in flight: security
//     groups at 1M flows took 111-179 cpu-ns per packet with it against
//     89-120 without, interleaved); find each key's candidate slot
//     by tag (findFirst, one call per vector: the compiler inlines
//     neither Key.hash, written out in its loop, nor the tag search);
//     the few with no candidate touched and searched in their second
//     bucket; touch every candidate's entry; then track. The
//     candidate is kept: the last pass checks it (sequence, key,
//     sequence again, generation, timeout) and, for a packet that
//     changes no TCP state, updates the flow inline, with no second
//     bucket scan and no call; anything else goes to track, which
//     starts over with a full lookup. Key and tag compares are
//     branch-free XOR-ORs.
//   - The tag search compares each slot's 32-bit tag where it lies
//     (bucket.tags views a bucket as 16 32-bit words) and loads only the
//     matching slot's word (34 instructions fewer per packet than a
//     load, XOR, shift and test per slot). It was written as an if per
//     slot, meant to become a conditional move each, but the compiler
//     emitted a compare and a jump per slot, and where the matching
//     slot varies (a table with a few keys per bucket) about one jump
//     per lookup was mispredicted. findFirst now makes a bit per slot
//     from the compare's flag (SETcc, then m*2+bit, one LEA), and takes
//     the highest set bit's slot word (bits.Len32, masked): no branch on
//     a tag, 5 instructions a slot with plain loads (tags_plain.go;
//     atomic ones under -race). BenchmarkEstablished flows=1000/batch
//     (4 keys a bucket, both directions): 36.0-37.9 ns/pkt before,
//     29.1-31.2 after; the switch's BenchmarkSGEstablished1M (2 keys a
//     bucket): 85-94 before, 80-85 after, alternated four times. Where
//     every key sits alone in its bucket's first slot the jumps were
//     always predicted: BenchmarkSGEstablished1k (1k flows in a table
//     of 64k) went from 52.3-52.9 to 53.9-55.3, the price of a longer
//     dependency chain before the slot word's load. Branch-free is kept
//     because a loaded table is where speed matters, and because the
//     cost then no longer depends on where the traffic's keys sit.
//   - Plain flows (above): the entry pass touches only an entry's
//     first line, and a reply is checked against the original key
//     reversed, so a packet of an untranslated flow misses on two lines
//     (bucket, entry) instead of a reply's three.
//   - Config.BothKeys (the NAT's tracker) touches both key lines of each
//     candidate in the batch pass, because NAT reads the other
//     direction's key of every packet's flow (Table.OtherIPv4, its fast
//     path): the second line's miss then overlaps with the vector's
//     instead of coming alone in the translate pass. A table without it
//     whose flows are translated gets that line uncovered on replies.
//
// Per pass, per packet (BenchmarkSGEstablished1k, 270 in all, before
// the tag search lost its jumps, which added 12): hashing about 40
// instructions, touching buckets 12, the tag search about 45, touching
// entries 11, checking and updating the candidate
// about 130, the rest loop, bounds and atomic-load overhead. Each is a
// few instructions per line of Go; what is left is what the lock-free
// shared table asks for (a seeded hash, a tag search, a sequence-checked
// 5-word compare, a state and time update), not slack. Tried and
// dropped in the third round: the last pass with its calls moved to a
// loop of their own after it (packets of a flow that had one deferred
// deferred too, to keep each flow's order): 11 instructions more, the
// compiler spilled as much without the calls; the hit's Result written
// as one 8-byte store: 5 more.
//
// Memory: at 1M flows each packet misses on a bucket line and an entry
// line. BenchmarkMemoryFloor (floor_test.go: the same access pattern on
// arrays of the same size, no conntrack code) gives on the 2-core test VM
// 290-302 ns for one dependent random load, 6.6-7.1 ns per load for 256
// independent ones, and 15.6-27 ns per packet for TrackBatch's pattern
// (256 bucket loads, then the 256 entry loads they name), in six runs on
// 2026-12-07. (Before then its draws were 64k indices, 4 MiB of bucket
// lines and 4 MiB of entry lines, which the last-level cache held after
// a round: 4.9-5.0 and 18-23 ns, and 40-87 under load from other jobs.)
// So at 1M flows the switch's security groups (80-85 ns against
// 54-55 at 1k flows) pay about 25-30 ns for memory, within that floor's
// range. A table whose hit reads one line (each direction's key and
// state where its hash points, the other direction's line only on a
// state change) has the floor MemoryFloor/one-line: 10-16 ns, against
// 20-27 for bucket+entry in the same three runs. That is the most a new
// layout could take off at 1M flows, about 10 ns: with the instructions
// as they are it would not reach the target either (80-85 less 10,
// against plain L2's 28-31 plus 30). The target, 30 ns above
// plain at 1M flows, leaves 5-14 ns for instructions once the two
// lines are paid, some 25-70 instructions: the instructions (about 530
// per packet in the switch, some 350 of them the tracker's and the
// parser's: about 20 ns) are what misses it, by more than a tighter loop
// can take back. See docs/policy.md ("Figures") for
// the switch-level figures.
//
// Older figures of this package's own benchmarks (go test -run XXX
// -bench 'Established|NewFlows|Parse' -benchtime 2s
// ./policy/conntrack/, TCP/IPv4 ACKs of established flows in both
// directions drawn uniformly, 256 per vector, per packet; measured
// before the changes above):
//
//	                    plain    Track     Parse + TrackBatch
//	1k flows            5-9 ns   74-100 ns 63-76 ns
//	1M flows           19-36 ns  656-708 ns 214-229 ns
//
// (plain there rewrites the frames from a 2M-key array drawn at random,
// so at 1M flows it carries misses of its own.) Real traffic is far from
// uniform, and hot flows stay in cache.
//
// New flows. A commit's cost is memory and barriers, not instructions:
// the reply key's two buckets (random lines nothing has read yet), the
// entry, and, in a full table, the entries eviction weighs. Two things
// keep them from being paid one flow after another:
//
//   - PrepareCommits (prepare.go), called by a node between TrackBatch
//     and its commits, touches the reply-key buckets of all the vector's
//     new flows in one loop of independent loads, as TrackBatch does for
//     the original keys: the misses overlap. (Touching the entries alloc
//     hands out next, and a full table's eviction candidates, measured
//     no better and is not done.)
//   - Commit writes the dead entry it fills with plain stores
//     (fill_plain.go; atomic ones under -race, fill_race.go): nobody
//     reads it until the atomic store of its sequence word, and each
//     atomic store is an XCHG on amd64, a full barrier that waits for its
//     line.
//
// BenchmarkNewFlows (TCP SYNs, one core; `go test ./policy/conntrack
// -run '^$' -bench NewFlows -benchtime 2s`, six rounds alternating the
// code before and after, load 1.0-1.4, the spread being other jobs'),
// ns per new flow, median (range):
//
//	                                  before            after
//	Track + Commit per packet, room   885 (834-909)     847 (806-1133)
//	  ... full 64k table (evicting)   1137 (845-1374)   1109 (909-1724)
//	vector (TrackBatch, then commits; after: with PrepareCommits)
//	  room (a fresh 1M table)         654 (604-797)     326 (307-444)
//	  churn (1M table, 512k flows,    622 (551-660)     334 (324-384)
//	    entries freed at random*)
//	  full 64k table (evicting)       1089 (1020-1308)  881 (635-1408)
//
// (*The benchmark deletes 256 flows, outside the timer, before each
// vector: the entries it frees are still in cache when reused, which
// flatters both columns alike.) A node's way (the vector) now sets up about 3 M flows/s on one core
// with room and 1.1 M/s into a full table, against the 1 M/s;
// Track and Commit per packet gain only the plain stores. The switch's
// own figures (BenchmarkSGNewFlows1M: 1.1 -> 1.8-2.0 M flows/s through
// 1,000 rules) are in docs/policy.md.
//
// # Fragments
//
// A fragment after the first has no L4 header, so it has no ports to be
// matched with: a security group rule naming ports could not match it, and
// the later fragments of an allowed flow's replies met the receiver's
// default deny, so a datagram bigger than the path's MTU (a large DNS
// answer, NFS, a 3,000-byte ping) never got through whole. Linux and OVS
// reassemble before tracking; this is closer to VPP's shallow virtual
// reassembly (ip4-sv-reassembly), which passes the pieces on unchanged.
// Each Worker keeps a direct-mapped table of 1,024 slots (frag.go), one per
// datagram by zone, addresses, protocol and identification: a first
// fragment takes its datagram's slot (its key and kind, or, if it cannot
// pass them on, an empty slot, so that a later piece is never matched to an
// earlier datagram of the same identity: IPv4's 16-bit identification
// repeats within seconds between two busy hosts), and a later fragment
// that finds its first there gets its ports and kind and is tracked as a
// packet of its flow, by TrackBatch (in the vector's order, the keys it
// changed hashed again) and TrackParsed alike (Counters.Fragments counts
// them). The last piece empties the slot; a slot unused for 2 seconds is
// not believed (VPP: 100 ms). Unlike VPP's, which holds such pieces for a
// while, a later fragment that arrives before its first stays untracked,
// as one does whose slot another datagram took meanwhile; so do TCP's (a
// sender doing path MTU discovery does not fragment TCP, and without its
// flags a piece could not be checked against the TCP state) and an ICMP
// error's. A later fragment starts 8 bytes or more into the datagram, so it
// cannot overwrite the UDP or ICMP header the ports were read from (the
// overlapping-fragment attacks of RFC 1858 aim at TCP's flags, and TCP's
// fragments are not matched). The pieces of a datagram must reach one
// Worker: they do when they enter by one port (NIC RSS hashes fragments by
// addresses only). A vector without fragments pays an OR per packet in
// TrackBatch's hashing loop (3 instructions a packet in
// BenchmarkSGEstablished1k: 1027 -> 1030).
//
// # Not done
//
// TCP window tracking (so a forged in-tuple RST or FIN can close a
// flow), expectations and helpers (FTP, SIP), fragment reassembly (later
// fragments are matched to their first, above, not put together),
// per-flow packet and byte counters (they would put a shared write on
// every packet of flows whose directions are on two cores), SCTP and
// DCCP state machines, and a check that an ICMP error's addresses fit
// the flow it quotes.
package conntrack
