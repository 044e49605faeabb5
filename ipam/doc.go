// Package ipam manages IP addresses: named pools of subnets and the
// leases of their addresses. It is pure logic over netip, with no I/O and
// no platform code; the daemon (ctl/daemon) keeps pools and leases in its
// stored configuration and serializes the calls, and ipam/etcdblocks
// shares a pool between hosts.
//
// # Pools and ranges
//
// A [Pool] has one IPv4 range, one IPv6 range, or one of each (dual
// stack); a [Lease] holds one address of each range, so a container gets
// one address per family. A [Range] follows the CNI host-local plugin:
// a subnet, an allocatable interval Start-End (default: after the gateway
// up to the last address, or the one before the broadcast address for
// IPv4), a gateway (default: network + 1) that is never leased, and
// excluded prefixes. [Pool.Validate] fills in these defaults, so two pools
// compare with [Pool.Equal] on what they mean, not how they were written;
// [ParsePool] reads the key=value form of vsctl and netconfs.
//
// # Allocation
//
// An [Allocator] indexes one pool's leases: per range, a map from address
// to owner, a count of leases per block, and a round-robin hint. Leases
// are keyed by owner, and [Allocator.Allocate] is idempotent: an owner
// that asks again gets the lease it holds, so a retried CNI ADD does not
// leak an address.
//
// Addresses are handed out round-robin, as host-local does: the search
// for a free address starts after the last one handed out and wraps at
// the end of the range. A released address is therefore not reused until
// the rest of the range has been used (with several hosts: the rest of
// this host's blocks, below): a container that is replaced does
// not pass its address to a newcomer while peers, ARP caches and
// connection tables still remember the old holder. In the common case the
// address after the hint is free and Allocate is O(1); a search steps
// over used addresses one by one and over excluded prefixes in one jump,
// so its cost is bounded by the number of leases and excludes, never by
// the size of the range. Addresses are handled as 128-bit integers, so an
// IPv6 /64 is never materialized.
//
// # Several hosts
//
// With several hosts, each host hands out addresses only from blocks of
// the pool it holds (by default a /26 or a /122): the caller passes them
// to Allocate, which returns an error wrapping [ErrNeedBlock] (the range
// is told by [NeedBlockRange]) when they are full, and [ErrExhausted] only
// when the whole range is. The caller then claims another block (ipam/
// etcdblocks) and retries. Hosts thus agree once per block rather than
// once per address, and a host keeps allocating from its blocks while
// the shared store is unreachable. [Allocator.UsedInBlock] tells which
// blocks are empty and can be given back.
//
// A wanted address must be in one of this host's blocks too, since
// another host hands out the addresses of its own: outside them Allocate
// returns ErrNeedBlock with the block that holds it ([WantedBlock]), and
// the caller claims that very block, or refuses the address when another
// host holds it.
//
// Round-robin then runs over this host's blocks, not the whole range: a
// released address is not reused until the rest of the host's blocks
// has been used, and when they are full a released address is reused
// before another block is claimed (so a host keeps as few blocks as its
// containers need, and leaves the rest of the range to other hosts).
package ipam
