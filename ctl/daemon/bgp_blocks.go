package daemon

import (
	"net/netip"
	"slices"
	"strings"
)

// Announcing routed endpoints' blocks. With the speaker running, every
// routed endpoint's addresses are announced, aggregated per block: with
// block claims (--etcd), the claimed block that holds the address (the
// pool's block size: blocks are aligned, so the block is the address
// masked to it); with a pool this host has to itself, the pool's subnet;
// with addresses given (no pool), the host prefix. A block goes out with
// its first endpoint and is withdrawn with its last. The set is derived
// from the endpoints, never stored: it is recomputed after every commit
// and when the speaker starts, so a restarted daemon announces what its
// stored endpoints need. A prefix that bgp/announce announces by hand
// is left to it. The next hop is bgp/set's endpoint-nexthop= for the
// family (the switch's router interface on the uplink), else self.

// endpointBlocks is the set of blocks the routed endpoints of s need
// (each endpoint's Blocks, recorded at ADD), sorted.
func (d *Daemon) endpointBlocks(s *State) []BGPAnnounced {
	if s.BGP == nil {
		return nil
	}
	var out []BGPAnnounced
	for _, vb := range s.routedBlocks() {
		b := BGPAnnounced{Prefix: vb.block.String(), VRF: vb.vrf, NextHop: s.BGP.endpointNextHop(vb.block.Addr())}
		if !slices.ContainsFunc(s.BGP.Announce, func(x BGPAnnounced) bool { return sameBlock(x, b) }) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b BGPAnnounced) int {
		if c := strings.Compare(a.VRF, b.VRF); c != 0 {
			return c
		}
		return strings.Compare(a.Prefix, b.Prefix)
	})
	return out
}

// blockOf is the block announced for address a of pool.
func (d *Daemon) blockOf(s *State, pool string, a netip.Addr) netip.Prefix {
	host := netip.PrefixFrom(a, a.BitLen())
	ps := s.pool(pool)
	if ps == nil {
		return host
	}
	for i, r := range ps.Ranges {
		if !r.Subnet.Contains(a) {
			continue
		}
		if d.ipam.claims != nil && i < len(ps.BlockBits) {
			b, err := a.Prefix(ps.BlockBits[i])
			if err == nil {
				return b
			}
		}
		return r.Subnet
	}
	return host
}

// endpointNextHop is the configured next hop for blocks of a's family
// ("": self).
func (c *BGPConfig) endpointNextHop(a netip.Addr) string {
	for _, nh := range c.EndpointNextHops {
		if n, err := netip.ParseAddr(nh); err == nil && n.Is4() == a.Is4() {
			return nh
		}
	}
	return ""
}

// syncBlocks brings the speaker's endpoint announcements to what the
// endpoints need: withdraws the blocks no endpoint needs any more, and
// announces the new ones. Caller holds mu. Errors are logged: an
// announcement the speaker refuses leaves the endpoint reachable on this
// host, and bgp/show lists what is announced.
func (d *Daemon) syncBlocks() {
	if d.bgp.speaker == nil {
		d.bgp.blocks = nil
		return
	}
	want := d.endpointBlocks(&d.state)
	var manual []BGPAnnounced
	if d.state.BGP != nil {
		manual = d.state.BGP.Announce
	}
	for _, b := range d.bgp.blocks {
		if slices.Contains(want, b) || slices.ContainsFunc(manual, func(x BGPAnnounced) bool { return sameBlock(x, b) }) {
			continue // still needed, or bgp/announce took it over
		}
		if err := d.bgp.speaker.Withdraw(b.prefix(), b.VRF); err != nil {
			d.log.Warn("endpoint block not withdrawn", "prefix", b.Prefix, "vrf", b.VRF, "err", err)
		} else {
			d.log.Info("endpoint block withdrawn", "prefix", b.Prefix, "vrf", b.VRF)
		}
	}
	var now []BGPAnnounced
	for _, b := range want {
		if slices.Contains(d.bgp.blocks, b) {
			now = append(now, b)
			continue
		}
		if err := d.bgp.speaker.Announce(b.prefix(), b.nexthop(), b.VRF); err != nil {
			d.log.Warn("endpoint block not announced", "prefix", b.Prefix, "vrf", b.VRF, "err", err)
			continue
		}
		d.log.Info("endpoint block announced", "prefix", b.Prefix, "vrf", b.VRF, "nexthop", b.NextHop)
		now = append(now, b)
	}
	d.bgp.blocks = now
}
