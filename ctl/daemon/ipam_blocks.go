package daemon

import (
	"net/netip"
	"slices"

	"github.com/vecswitch/vecswitch/ipam"
)

// The blocks this host holds, kept in the state directory.
//
// With several hosts a host hands out addresses only from blocks it holds
// in etcd, and it learns which those are from etcd (Claims.Owned) at a
// pool's first use. A host restarted while etcd is out of reach could
// therefore hand out nothing, although its blocks stay its own until it
// gives them back (etcdblocks: claims are not tied to a lease). So the
// daemon also writes the blocks it holds to BlocksFile, and a pool whose
// blocks etcd cannot tell at first use is served from that copy until
// etcd answers (then etcd's list replaces it).
//
// The copy must never list a block this host does not hold, or a host
// could hand out another host's addresses: a block goes into it only
// after etcd has granted the claim, and out of it before the release is
// sent (a release that fails puts it back). A crash in between leaves a
// held block out of the copy, which costs only its use until etcd is
// back. It is a file of its own, not part of config.json: falling back to
// config.json.prev (restoreState) must not bring back a block given away
// since. A copy that cannot be read, or names another host, is ignored
// (and logged): it is only a cache.

// BlocksFile is the name of the copy of the blocks this host holds in the
// state directory (multi-host address management only).
const BlocksFile = "ipam-blocks.json"

// blocksDoc is BlocksFile's content.
type blocksDoc struct {
	HostID string                      `json:"host_id"`
	Pools  map[string][][]netip.Prefix `json:"pools"`
}

// loadBlocksCopy reads BlocksFile, keeping for each pool still defined
// only the blocks that fit its ranges.
func (d *Daemon) loadBlocksCopy() map[string][][]netip.Prefix {
	var doc blocksDoc
	found, err := d.ipam.blocksStore.Load(&doc)
	switch {
	case err != nil:
		d.log.Warn("the copy of this host's address blocks is unusable; ignored (blocks are read from etcd)", "err", err)
		return map[string][][]netip.Prefix{}
	case !found:
		return map[string][][]netip.Prefix{}
	case doc.HostID != d.state.HostID:
		d.log.Warn("the copy of this host's address blocks names another host; ignored", "file", d.ipam.blocksStore.Path(), "host_id", doc.HostID)
		return map[string][][]netip.Prefix{}
	}
	out := make(map[string][][]netip.Prefix, len(doc.Pools))
	for name, ranges := range doc.Pools {
		ps := d.state.pool(name)
		if ps == nil {
			continue
		}
		if b := fitBlocks(ps.Pool, ranges); b != nil {
			out[name] = b
		}
	}
	return out
}

// fitBlocks returns the blocks of ranges that are blocks of p's ranges
// (masked, of the range's block size, in its subnet), indexed like
// p.Ranges; nil if none is.
func fitBlocks(p ipam.Pool, ranges [][]netip.Prefix) [][]netip.Prefix {
	out := make([][]netip.Prefix, len(p.Ranges))
	n := 0
	for i, bs := range ranges {
		if i >= len(p.Ranges) || i >= len(p.BlockBits) {
			break
		}
		for _, b := range bs {
			if b.IsValid() && b == b.Masked() && b.Bits() == p.BlockBits[i] && p.Ranges[i].Subnet.Contains(b.Addr()) && !slices.Contains(out[i], b) {
				out[i] = append(out[i], b)
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	return out
}

// noteBlocks records that this host holds blocks (nil: none of pool) and
// writes the copy. A failed write is logged: the copy is only a cache.
func (d *Daemon) noteBlocks(pool string, blocks [][]netip.Prefix) {
	if d.ipam.blocksStore == nil {
		return
	}
	if blocks == nil {
		delete(d.ipam.held, pool)
	} else {
		c := make([][]netip.Prefix, len(blocks))
		for i := range blocks {
			c[i] = slices.Clone(blocks[i])
		}
		d.ipam.held[pool] = c
	}
	doc := blocksDoc{HostID: d.state.HostID, Pools: map[string][][]netip.Prefix{}}
	for name, b := range d.ipam.held {
		if slices.ContainsFunc(b, func(r []netip.Prefix) bool { return len(r) > 0 }) {
			doc.Pools[name] = b
		}
	}
	if err := d.ipam.blocksStore.Save(doc); err != nil {
		d.log.Warn("the copy of this host's address blocks was not written", "err", err)
	}
}
