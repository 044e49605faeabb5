package vswitch

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/policy/conntrack"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// ip4-forward routes IPv4 packets that l2-fwd found addressed to a router
// interface: it checks the header (version, IHL, lengths, checksum; the
// reason names the failure), trims Ethernet padding, looks the destination
// up in the ingress interface's VRF, picks an ECMP member by flow hash,
// checks TTL and the outgoing interface's effective MTU (its own or the
// smaller MTU of a port of its domain: limitMTU), finds the neighbor's MAC,
// decrements the TTL with an incremental checksum update (RFC 1624),
// rewrites the Ethernet header and looks the neighbor's MAC up in the
// outgoing domain, so a routed packet leaves this node ready for
// l2-output. Everything unusual leaves by another next node.
//
// A packet that is not for the switch itself and not the switch's own is
// dropped as martian-source when its source can never send one
// (martianSrc4, RFC 1812 5.3.7): this network, loopback, multicast, class
// E, limited broadcast, an address of the ingress interface, or the
// broadcast address of one of its subnets. Packets to the switch (a DHCP
// client's 0.0.0.0, an echo request) are not checked here, nor a source
// the nat node in front translated to the interface's address (a
// hairpin's: natSourced).
const (
	ip4DropNoIface = uint16(proto.NumReasons) + iota
	ip4DropMartian
	ip4DropBlackhole
	ip4DropNoRoute
	ip4DropMTU
	ip4DropFragNoBuffer
	ip4DropMartianSrc
)

// fwdNextDecap4 is ip4-forward's own next index for VXLAN packets to the
// local VTEP: they skip ip4-local, whose only work for them is the check
// toVTEP4 makes (traced packets still pass through it).
const fwdNextDecap4 = fwdNextRoutedSG + 1

// toVTEP4 reports whether the IPv4 packet ip (header length hl, checked)
// for one of our addresses is UDP to the VTEP port, not a fragment:
// ip4-local would hand it to vxlan-decap.
func toVTEP4(ip []byte, hl int, port uint16) bool {
	return ip[9] == proto.ProtoUDP && !proto.IsFragment4(ip) && len(ip) >= hl+4 &&
		uint16(ip[hl+2])<<8|uint16(ip[hl+3]) == port
}

func ip4ForwardSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP4Forward,
		Next:  []string{nodeIP4Local, nodeIP4Glean, nodeIP4Error, nodeL2Output, nodeL2Flood, nodeGSO, nodeSGPolicy, nodeVXLANDecap},
		Drops: checkDrops("no-interface", "martian-address", "blackhole", "no-route", "mtu-exceeded", "frag-no-buffer", "martian-source"),
		New:   func(pipeline.NodeContext) pipeline.Node { return &ip4Forward{s: s} },
	}
}

type ip4Forward struct {
	s     *Switch
	nh    [pipeline.VectorSize]uint32 // pass 1's FIB results
	dst   [pipeline.VectorSize]uint32 // and the destinations it looked up
	probe resolveCache
	v     fwdVector
}

// fwdVector is what ip4-forward and ip6-forward load once per vector,
// for their fast loops (node_ip4fwd_fast.go, node_ip6fwd_fast.go) and the
// general one, forward, that takes every packet the fast loop does not.
type fwdVector struct {
	t       *tables
	mt      *macTable
	sg      *sgTables
	vt4     *vtepEntry // IPv4's VXLAN hand-off (nil: none, or unfused)
	nix     *nbrIndex
	slab    []nbrEntry
	seqs    []atomic.Uint32
	meta    []pipeline.Meta
	mem     []byte
	now     uint32
	refresh uint32
	nowNs   int64
	memo    nbrMemo
}

// load starts a vector of f: the tables and views every packet of it
// uses. It reports whether the fast loop runs (not learner.unfused).
func (v *fwdVector) load(s *Switch, f *pipeline.Frame) (fast bool) {
	t := s.tables.Load()
	v.t, v.mt, v.sg = t, s.lrn.macs.Load(), s.sg.Load()
	fast = !s.lrn.unfused.Load()
	v.vt4 = t.vtep
	if v.vt4 != nil && (v.vt4.is6 || !fast) {
		v.vt4 = nil
	}
	v.nix, v.slab = s.nbr.view()
	v.now, v.refresh = s.now.Load(), s.nbr.age/2
	v.nowNs, v.memo = 0, nbrMemo{}
	v.seqs = s.portSeq
	v.meta, v.mem = f.Pool.Arrays()
	return fast
}

func (n *ip4Forward) Process(f *pipeline.Frame) {
	v := &n.v
	fast := v.load(n.s, f)
	t, meta, mem := v.t, v.meta, v.mem
	// Pass 1: the FIB lookups alone, in one tight loop, so that their
	// cache misses (a large table is tens of MiB) overlap instead of each
	// waiting behind the whole processing of the packet before it: the
	// destinations are gathered, then looked up in one batch when the
	// vector is in one VRF (the common case), one by one otherwise.
	nhs, dsts := n.nh[:len(f.IDs)], n.dst[:len(f.IDs)]
	vrf, oneVRF := -1, true
	for i, id := range f.IDs {
		m := &meta[id]
		dsts[i] = 0
		if m.Len >= ethHdrLen+20 && int(m.Iface) < len(t.ifaces) {
			dsts[i] = binary.BigEndian.Uint32(pipeline.PacketAt(mem, id, m)[ethHdrLen+16:])
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
		t.vrfs[vrf].fib4.LookupBatch(nhs, dsts)
	default:
		for i, id := range f.IDs {
			nhs[i] = 0
			if m := &meta[id]; m.Len >= ethHdrLen+20 && int(m.Iface) < len(t.ifaces) {
				nhs[i] = t.vrfs[t.ifaces[m.Iface].vrf].fib4.Lookup(dsts[i])
			}
		}
	}
	if fast {
		n.fast(f, nhs, dsts)
	} else {
		for i, id := range f.IDs {
			n.forward(f, i, id, nhs[i])
		}
	}
	*v = fwdVector{} // hold no tables between vectors (an idle worker would keep old ones alive)
}

// forward routes packet i (buffer id, FIB result nh): every case, the
// unusual ones included.
func (n *ip4Forward) forward(f *pipeline.Frame, i int, id pipeline.BufID, nh uint32) {
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
	// A large frame (GSO, partial checksum, chain) is routed as it
	// is on the common path; anything unusual (local, errors,
	// unresolved) takes its segments instead, through gso.
	big, avail := needsGSO(m), len(ip)
	if m.Next != 0 {
		avail = f.Pool.ChainLen(id) - ethHdrLen
	}
	hl, r := check4(ip, avail)
	if r != proto.OK {
		f.Drop(i, uint16(r))
		return
	}
	if tl := proto.TotalLen4(ip); tl < avail {
		if m.Next != 0 { // no padding in a chain
			f.Drop(i, uint16(proto.BadLength))
			return
		}
		ip = ip[:tl]
		m.Len = uint16(ethHdrLen + tl)
	}
	if int(m.Iface) >= len(t.ifaces) || !t.ifaces[m.Iface].valid {
		f.Drop(i, ip4DropNoIface)
		return
	}
	dst := proto.Dst4(ip)
	if martian4(dst) {
		f.Drop(i, ip4DropMartian)
		return
	}
	a := &t.adjs[nh]
	if a.kind == adjECMP {
		a = &t.adjs[a.members[proto.FlowHash4(ip, hl)%uint32(len(a.members))]]
	}
	local := m.Flags&flagLocal != 0
	if !local && a.kind != adjLocal {
		if in, src := &t.ifaces[m.Iface], proto.Src4(ip); martianSrc4(in, src) &&
			!(m.Conn != 0 && in.has4(src) && natSourced(n.s, m.Conn, v4Key(src))) {
			f.Drop(i, ip4DropMartianSrc)
			return
		}
	}
	switch a.kind {
	case adjGlean, adjGateway:
	case adjLocal:
		next[i] = fwdNextLocal
		if big {
			next[i] = toGSO(m, gsoNextIP4)
		} else if v.vt4 != nil && m.Flags&pipeline.FlagTraced == 0 && toVTEP4(ip, hl, v.vt4.port) {
			next[i] = fwdNextDecap4
		}
		return
	case adjDrop:
		f.Drop(i, ip4DropBlackhole)
		return
	default:
		if local {
			f.Drop(i, ip4DropNoRoute)
			return
		}
		if big {
			next[i] = toGSO(m, gsoNextIP4)
			return
		}
		setErr(m, errNoRoute, 0)
		next[i] = fwdNextError
		return
	}
	ipLen := len(ip)
	if big {
		ipLen = wireLen(f.Pool, id, m, pkt) - ethHdrLen
	}
	out := &t.ifaces[a.iface]
	if big && ((!local && ip[8] <= 1) || ipLen > int(out.mtu)) {
		next[i] = toGSO(m, gsoNextIP4) // each segment gets its error
		return
	}
	if !local && ip[8] <= 1 {
		setErr(m, errTTL, 0)
		next[i] = fwdNextError
		return
	}
	frag := false
	if ipLen > int(out.mtu) {
		if local { // the switch's own (VXLAN's outer packets: never cut)
			f.Drop(i, ip4DropMTU)
			return
		}
		if proto.DF4(ip) {
			setErr(m, errTooBig, uint32(out.mtu))
			next[i] = fwdNextError
			return
		}
		frag = true // cut below, once routed (node_ip4frag.go)
	}
	key := v4Key(dst)
	if a.kind == adjGateway {
		key = a.via
	}
	e := v.memo.find(v.nix, v.slab, a.iface, key)
	if e == nil {
		if big {
			next[i] = toGSO(m, gsoNextIP4)
			return
		}
		m.Iface, m.Aux = a.iface, uint32(key.lo)
		next[i] = fwdNextGlean
		return
	}
	if v.now-e.seen.Load() > v.refresh {
		refreshProbe(f, &n.probe, n.s.opts.Clock, &v.nowNs, a.iface, key, uint32(key.lo), fwdNextGlean)
	}
	if !local {
		proto.DecTTL4(ip)
	}
	if frag {
		n.fragment4(f, i, id, m, pkt, out, a.iface, e.mac.Load(), int(out.mtu))
		return
	}
	next[i] = routedOut(f, t, v.mt, v.seqs, v.sg, m, pkt, out, a.iface, e.mac.Load(), id)
}

// martian4 reports whether dst is never routed: multicast, broadcast,
// "this network", loopback.
func martian4(dst uint32) bool { return dst>>28 >= 0xE || dst>>24 == 0 || dst>>24 == 127 }

// martianSrc4 reports whether a packet from interface in with source src
// is never forwarded: src is martian (martian4: this network, loopback,
// multicast, class E, limited broadcast), one of in's addresses, or the
// broadcast address of one of its subnets shorter than /31.
func martianSrc4(in *ifaceEntry, src uint32) bool {
	if martian4(src) {
		return true
	}
	for _, a := range in.addr4 {
		if src == a.ip || ^a.mask >= 3 && src|a.mask == ^uint32(0) && src&a.mask == a.ip&a.mask {
			return true
		}
	}
	return false
}

// natSourced reports whether NAT flow conn (Meta.Conn, set by the nat
// node in front of the forward nodes) gave its packet the source src: a
// hairpinned flow's packets leave from the ingress interface's own
// address, which martianSrc4 and martianSrc6 refuse from any sender. Only
// packets from such an address get here (rare), so the flow's keys are
// read then and not for every packet.
func natSourced(s *Switch, conn uint32, src nbrAddr) bool {
	st := s.nat.Load()
	if st == nil {
		return false
	}
	var o, r conntrack.Key
	if !st.ct.Keys(conn, &o, &r) {
		return false
	}
	a := conntrack.Addr{Hi: src.hi, Lo: src.lo}
	return a != o.Src && a != r.Src
}

// putMAC writes a 48-bit MAC.
func putMAC(b []byte, mac uint64) {
	binary.BigEndian.PutUint16(b, uint16(mac>>32))
	binary.BigEndian.PutUint32(b[2:], uint32(mac))
}
