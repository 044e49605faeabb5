package vswitch

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// ip6-forward is ip4-forward for IPv6: header checks, padding trimmed,
// link-scope multicast (neighbor discovery) and the interface's own
// addresses to ip6-local, FIB lookup in the ingress VRF, ECMP by flow hash,
// hop limit, MTU (IPv6 routers never fragment: too big always gets an
// ICMPv6 packet too big), neighbor, hop limit decrement (no header
// checksum in IPv6), MAC rewrite and the L2 lookup. Packets with a
// link-local source or destination are never forwarded (RFC 4291 2.5.6),
// nor, dropped as martian-source, packets from the unspecified or
// loopback address, a multicast source or one of the ingress interface's
// addresses (martianSrc6; packets to the switch itself are not checked,
// nor a hairpin's source, which NAT made the interface's: natSourced).
const (
	ip6DropNoIface = uint16(proto.NumReasons) + iota
	ip6DropMulticast
	ip6DropLinkLocal
	ip6DropBlackhole
	ip6DropNoRoute
	ip6DropMTU
	ip6DropMartianSrc
)

func ip6ForwardSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP6Forward,
		Next:  []string{nodeIP6Local, nodeIP6Glean, nodeIP6Error, nodeL2Output, nodeL2Flood, nodeGSO, nodeSGPolicy},
		Drops: checkDrops("no-interface", "multicast-not-routed", "link-local-not-routed", "blackhole", "no-route", "mtu-exceeded", "martian-source"),
		New:   func(pipeline.NodeContext) pipeline.Node { return &ip6Forward{s: s} },
	}
}

type ip6Forward struct {
	s     *Switch
	nh    [pipeline.VectorSize]uint32 // pass 1's FIB results
	hi    [pipeline.VectorSize]uint64 // and the destinations it looked up
	lo    [pipeline.VectorSize]uint64
	probe resolveCache
	v     fwdVector
}

func (n *ip6Forward) Process(f *pipeline.Frame) {
	v := &n.v
	fast := v.load(n.s, f)
	t, meta, mem := v.t, v.meta, v.mem
	// Pass 1: the FIB lookups alone, so their cache misses overlap (see
	// ip4-forward): the destinations are gathered, then looked up in one
	// batch when the whole vector is in one VRF (the common case), one by
	// one otherwise.
	nhs := n.nh[:len(f.IDs)]
	his, los := n.hi[:len(f.IDs)], n.lo[:len(f.IDs)]
	vrf, oneVRF := -1, true
	for i, id := range f.IDs {
		m := &meta[id]
		his[i], los[i] = 0, 0
		if m.Len >= ethHdrLen+proto.HeaderLen6 && int(m.Iface) < len(t.ifaces) {
			ip := pipeline.PacketAt(mem, id, m)[ethHdrLen:]
			his[i], los[i] = binary.BigEndian.Uint64(ip[24:]), binary.BigEndian.Uint64(ip[32:])
			if v := int(t.ifaces[m.Iface].vrf); vrf != v {
				oneVRF = vrf < 0
				vrf = v
			}
		}
	}
	switch {
	case vrf < 0:
		clear(nhs)
	case oneVRF:
		t.vrfs[vrf].fib6.LookupBatch(nhs, his, los)
	default:
		for i, id := range f.IDs {
			nhs[i] = 0
			if m := &meta[id]; m.Len >= ethHdrLen+proto.HeaderLen6 && int(m.Iface) < len(t.ifaces) {
				nhs[i] = t.vrfs[t.ifaces[m.Iface].vrf].fib6.Lookup(his[i], los[i])
			}
		}
	}
	if fast {
		n.fast(f, nhs, his, los)
	} else {
		for i, id := range f.IDs {
			n.forward(f, i, id, nhs[i])
		}
	}
	*v = fwdVector{} // hold no tables between vectors (an idle worker would keep old ones alive)
}

// forward routes packet i (buffer id, FIB result nh): every case, the
// unusual ones included.
func (n *ip6Forward) forward(f *pipeline.Frame, i int, id pipeline.BufID, nh uint32) {
	v := &n.v
	t := v.t
	next := f.Next[:len(f.IDs)]
	m := &v.meta[id]
	pkt := pipeline.PacketAt(v.mem, id, m)
	if len(pkt) < ethHdrLen {
		f.Drop(i, uint16(proto.Runt))
		return
	}
	ip := pkt[ethHdrLen:]
	// Large frames as in ip4-forward: routed as they are on the
	// common path, segmented (gso) for anything unusual.
	big, avail := needsGSO(m), len(ip)
	if m.Next != 0 {
		avail = f.Pool.ChainLen(id) - ethHdrLen
	}
	if r := proto.Check6Avail(ip, avail); r != proto.OK {
		f.Drop(i, uint16(r))
		return
	}
	if l := proto.HeaderLen6 + proto.PayloadLen6(ip); l < avail {
		if m.Next != 0 { // no padding in a chain
			f.Drop(i, uint16(proto.BadLength))
			return
		}
		ip = ip[:l]
		m.Len = uint16(ethHdrLen + l)
	}
	if int(m.Iface) >= len(t.ifaces) || !t.ifaces[m.Iface].valid {
		f.Drop(i, ip6DropNoIface)
		return
	}
	in := &t.ifaces[m.Iface]
	hi, lo := proto.Dst6(ip)
	if proto.IsMulticast6(hi, lo) {
		if hi>>48 == 0xFF02 { // link scope: ND and friends
			next[i] = fwdNextLocal
			if big {
				next[i] = toGSO(m, gsoNextIP6)
			}
			return
		}
		f.Drop(i, ip6DropMulticast)
		return
	}
	dst := nbrAddr{hi, lo}
	local := m.Flags&flagLocal != 0
	if proto.IsLinkLocal6(hi, lo) {
		if in.has6(dst) {
			next[i] = fwdNextLocal
			if big {
				next[i] = toGSO(m, gsoNextIP6)
			}
			return
		}
		f.Drop(i, ip6DropLinkLocal)
		return
	}
	ai := nh
	if a := &t.adjs[ai]; a.kind == adjECMP {
		ai = a.members[proto.FlowHash6(ip)%uint32(len(a.members))]
	}
	a := &t.adjs[ai]
	if !local && a.kind != adjLocal {
		if shi, slo := proto.Src6(ip); martianSrc6(in, nbrAddr{shi, slo}) &&
			!(m.Conn != 0 && in.has6(nbrAddr{shi, slo}) && natSourced(n.s, m.Conn, nbrAddr{shi, slo})) {
			f.Drop(i, ip6DropMartianSrc)
			return
		}
	}
	switch a.kind {
	case adjGlean, adjGateway:
	case adjLocal:
		next[i] = fwdNextLocal
		if big {
			next[i] = toGSO(m, gsoNextIP6)
		}
		return
	case adjDrop:
		f.Drop(i, ip6DropBlackhole)
		return
	default:
		if local {
			f.Drop(i, ip6DropNoRoute)
			return
		}
		if big {
			next[i] = toGSO(m, gsoNextIP6)
			return
		}
		setErr(m, errNoRoute, 0)
		next[i] = fwdNextError
		return
	}
	out := &t.ifaces[a.iface]
	ipLen := len(ip)
	if big {
		ipLen = wireLen(f.Pool, id, m, pkt) - ethHdrLen
		if (!local && ip[7] <= 1) || ipLen > int(out.mtu) {
			next[i] = toGSO(m, gsoNextIP6) // each segment gets its error
			return
		}
	}
	if !local {
		if shi, _ := proto.Src6(ip); shi>>54 == 0xFE80>>6 {
			f.Drop(i, ip6DropLinkLocal)
			return
		}
		if ip[7] <= 1 {
			setErr(m, errTTL, 0)
			next[i] = fwdNextError
			return
		}
	}
	if ipLen > int(out.mtu) {
		if local {
			f.Drop(i, ip6DropMTU)
			return
		}
		setErr(m, errTooBig, uint32(out.mtu))
		next[i] = fwdNextError
		return
	}
	key := dst
	if a.kind == adjGateway {
		key = a.via
	}
	e := v.memo.find(v.nix, v.slab, a.iface, key)
	if e == nil && big {
		next[i] = toGSO(m, gsoNextIP6)
		return
	}
	if e == nil {
		// The glean node finds the target again from the header and
		// the adjacency; Aux carries the adjacency ID.
		m.Iface, m.Aux = a.iface, ai
		next[i] = fwdNextGlean
		return
	}
	if v.now-e.seen.Load() > v.refresh {
		refreshProbe(f, &n.probe, n.s.opts.Clock, &v.nowNs, a.iface, key, ai, fwdNextGlean)
	}
	if !local {
		proto.DecHop6(ip)
	}
	next[i] = routedOut(f, t, v.mt, v.seqs, v.sg, m, pkt, out, a.iface, e.mac.Load(), id)
}

// martianSrc6 reports whether a packet from interface in with source a is
// never forwarded: the unspecified or loopback address, multicast, or one
// of in's addresses.
func martianSrc6(in *ifaceEntry, a nbrAddr) bool {
	return a.hi == 0 && a.lo <= 1 || proto.IsMulticast6(a.hi, a.lo) || in.has6(a)
}
