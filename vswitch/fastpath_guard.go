package vswitch

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// The kernel fast path and the port guards (portsec_ip.go). A port with
// port security is in the fast path Secured (ports.FastPathPort): the XDP
// program switches what it sends only when the pipeline's guards would
// pass it, which the program can tell for the common case — IPv4 from an
// allowed source, IPv6 TCP or UDP from one — and hands the rest to the
// pipeline, where l2-input runs the guards. The source MAC check needs
// nothing more: only the port's bound MACs are mirrored on it (fpPort.bound),
// and the program switches a frame only from a MAC mirrored on its port.
//
// The allowed sources are the guard's own prefixes, computed from the
// same compiled guard that l2-input uses (fastPathSources), so the two
// cannot disagree. Their updates are ordered so that no stale entry lets
// a source through that the port may no longer use:
//
//   - A change of the port's sources (its addresses, allowed_ips=) leaves
//     the port in the kernel and updates them in place (prune, before the
//     new tables and guards are published): the kernel deletes the
//     prefixes the port loses and waits out a grace period before it
//     returns (ports/internal/fastpath, Consistency), so when the
//     pipeline starts dropping a source, the kernel already does.
//   - Port security switched on or off (or its MACs changed) is a
//     reclassification: the port leaves the kernel before the new tables
//     are published and comes back after (sync), Secured or not. A port
//     that becomes secured is never in the kernel unsecured while the
//     pipeline guards it; the kernel inserts its sources before it sets
//     its flag.
//   - A trace, a capture, a security group or a recheck of the member
//     ports recomputes the wanted state with the published guards
//     (syncFastPathLocked): a secured port stays Secured through them.
//   - If the kernel refuses an update of a port's sources, the port
//     leaves the fast path (its frames take the pipeline).

// fastPathSources returns the source prefixes the kernel fast path lets a
// port with guard pg send from: with the IP source guard on, its prefixes
// and what the guard always allows (0.0.0.0, ::, fe80::/10); without
// it, every source (the guard checks none). A nil guard (none compiled
// yet) allows none: the port's IP frames take the pipeline.
func (pg *portGuard) fastPathSources() []netip.Prefix {
	if pg == nil {
		return nil
	}
	if !pg.ip {
		return []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	}
	out := make([]netip.Prefix, 0, int(pg.n4)+int(pg.n6)+3)
	for _, p := range pg.p4[:pg.n4] {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], p.net)
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(a), bits.OnesCount32(p.mask)).Masked())
	}
	out = append(out, netip.MustParsePrefix("0.0.0.0/32"))
	for _, p := range pg.p6[:pg.n6] {
		var a [16]byte
		binary.BigEndian.PutUint64(a[:8], p.hi)
		binary.BigEndian.PutUint64(a[8:], p.lo)
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(a), bits.OnesCount64(p.mhi)+bits.OnesCount64(p.mlo)).Masked())
	}
	return append(out, netip.MustParsePrefix("::/128"), netip.MustParsePrefix("fe80::/10"))
}
