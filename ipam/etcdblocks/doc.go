// Package etcdblocks shares address pools between hosts through etcd,
// the way Calico does: each host claims blocks of a pool (by default a
// /26 of IPv4 or a /122 of IPv6) and hands out addresses only from its own
// blocks with an ipam.Allocator. Hosts agree in etcd once per block, not
// once per address: allocation stays a local, in-memory operation, and a
// host goes on allocating from the blocks it has while etcd is
// unreachable. One host needs none of this.
//
// # Key layout
//
// Under a prefix (default "/vecswitch/ipam/"):
//
//	<prefix>pools/<pool>                      the pool's definition (ipam.Pool JSON, defaults filled in)
//	<prefix>blocks/<pool>/<address>-<bits>    the id of the host holding the block
//
// for example /vecswitch/ipam/blocks/podnet/10.22.0.64-26 = "3f9c0a1b2d4e5f60".
// <address> is the block's first address as netip.Addr prints it and
// <bits> its prefix length in decimal; keys must be in exactly this form
// (and the prefix masked), so a block has one key. Keys that do not parse
// are ignored (and logged at debug level). A parsed block of another
// length than the pool's blocks, which only a hand-made key can create,
// is not this package's to hand out, but the blocks it overlaps are not
// claimed either.
//
// # Consistency rules
//
//   - Hosts agree on a pool's definition. [Claims.Register] creates
//     <prefix>pools/<pool> if it is missing and otherwise compares: a host
//     with another definition of the same name gets [ErrPoolMismatch] and
//     does not use the pool, because blocks of different sizes or ranges
//     would overlap.
//   - Pools do not overlap. Blocks are keyed per pool, so two pools of
//     different names over the same addresses would let two hosts hand
//     out one address. Whoever creates a definition (Register, or a claim
//     that recreates it) reads every definition under <prefix>pools/ and
//     refuses a pool of another name whose subnet overlaps with
//     [ErrPoolOverlap]; the transaction that puts the new definition
//     requires its key to be missing (CreateRevision 0) and no definition
//     to have changed since the read (ModRevision over the whole prefix
//     below the read's revision + 1), so of two hosts that create
//     overlapping pools at once, one loses, reads again and is refused.
//   - A block has one holder. [Claims.Claim] reads the pool's block keys
//     (keys only, one range read in the same snapshot as the pool key),
//     picks the first block of the range that no key covers, and creates
//     its key in a transaction: If CreateRevision(block) == 0 and the pool
//     key is unchanged (ModRevision, or still missing if it was) Then Put.
//     A host that loses the race (another host created the key first, or
//     the pool key changed) reads again and tries the next free block, so
//     claims are linearized by etcd and no block is given to two hosts.
//   - An address asked for by name is handed out only by the holder of its
//     block. [Claims.ClaimBlock] takes that very block in the same kind of
//     transaction; if another host holds it (or a key of another length
//     covers it) the answer is [ErrNotHeld], and the address is refused.
//   - Claims are not tied to an etcd lease. An address handed out lives
//     in a container that survives its host's daemon crashing or being cut
//     off from etcd; if the block expired with a lease another host could
//     hand out the same address while the first container still uses it.
//     Blocks therefore stay claimed (like Calico's block affinities) until
//     the host gives them back: [Claims.Release] for one block (the daemon
//     releases blocks that no lease uses) and [Claims.ReleaseAll] when a
//     pool is deleted. Both delete a key only if its value is still this
//     host's id (a transaction comparing the value). The blocks of a host
//     that is gone for good are freed by deleting its keys by hand.
//   - ReleaseAll also deletes the pool's definition once no block of the
//     pool is held by any host (If CreateRevision(<prefix>blocks/<pool>/)
//     == 0 over the whole prefix Then Delete), so the name can be reused
//     with another definition. A host that still has the pool recreates
//     the definition with its next Claim, in the same transaction as the
//     block.
//
// While etcd is out of reach, only the first exchange waits out its
// context: later ones fail at once with [ErrUnreachable] until the
// client has connected again (reach.go), so a caller that serializes its
// work behind these calls is not held up by each of them.
//
// Errors that are conflicts with what is stored are also ipam's kinds
// (errors.Is): ErrPoolMismatch and ErrPoolOverlap are ipam.ErrInvalid,
// ErrNotHeld is ipam.ErrInUse, ErrExhausted is ipam.ErrExhausted. Any
// other error is etcd out of reach (or a lost race too many): worth
// trying again.
//
// The host id is the daemon's stable random id, kept in its state
// directory: a restarted daemon finds its blocks again with [Claims.Owned].
package etcdblocks
