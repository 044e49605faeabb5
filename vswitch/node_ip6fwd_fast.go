package vswitch

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// fast is ip6-forward's loop for a vector (after pass 1's FIB lookups,
// nhs for the destinations his/los), as ip4-forward's (see
// node_ip4fwd_fast.go): the usual packet is routed here in one straight
// run of checks, every other one goes to forward.
//
// The usual packet: not switch-built, no offload work and no chain, an
// IPv6 header whose payload length fits the frame (padding is trimmed),
// an interface in range and valid, a destination that is neither
// multicast nor link-local, a gateway or connected route (not ECMP), a
// source that is neither link-local nor martian (martianSrc6), a hop
// limit above 1, a length within the outgoing interface's MTU, and a
// known neighbor with no refresh probe due: hop limit decremented, MACs
// rewritten, staged for tx on a routed port with no security groups
// configured (the frame fits), or routedOut otherwise. A packet leaves for forward before this loop
// changes anything in it (TestIP6FastMatchesNodes).
func (n *ip6Forward) fast(f *pipeline.Frame, nhs []uint32, his, los []uint64) {
	v := &n.v
	t, meta, mem := v.t, v.meta, v.mem
	ids := f.IDs
	next := f.Next[:len(ids)]
	nhs, his, los = nhs[:len(ids)], his[:len(ids)], los[:len(ids)]
	ifaces, adjs, ports := t.ifaces, t.adjs, t.ports
	noSG := v.sg == nil
	for i, id := range ids {
		m := &meta[id]
		pkt := pipeline.PacketAt(mem, id, m)
		if m.Flags&flagLocal != 0 || m.Offload&offloadWork != 0 || m.Next != 0 ||
			len(pkt) < ethHdrLen+proto.HeaderLen6 || int(m.Iface) >= len(ifaces) {
			n.forward(f, i, id, nhs[i])
			continue
		}
		ip := pkt[ethHdrLen:]
		l := proto.HeaderLen6 + int(binary.BigEndian.Uint16(ip[4:]))
		hi, lo := his[i], los[i]
		if ip[0]>>4 != 6 || l > len(ip) || !ifaces[m.Iface].valid || proto.IsMulticast6(hi, lo) ||
			proto.IsLinkLocal6(hi, lo) || int(nhs[i]) >= len(adjs) {
			n.forward(f, i, id, nhs[i])
			continue
		}
		a := &adjs[nhs[i]]
		if (a.kind != adjGlean && a.kind != adjGateway) || ip[7] <= 1 || int(a.iface) >= len(ifaces) ||
			binary.BigEndian.Uint64(ip[8:])>>54 == 0xFE80>>6 ||
			martianSrc6(&ifaces[m.Iface], nbrAddr{binary.BigEndian.Uint64(ip[8:]), binary.BigEndian.Uint64(ip[16:])}) {
			n.forward(f, i, id, nhs[i])
			continue
		}
		out := &ifaces[a.iface]
		key := nbrAddr{hi, lo}
		if a.kind == adjGateway {
			key = a.via
		}
		e := v.memo.e
		if e == nil || v.memo.iface != a.iface || v.memo.key != key {
			e = v.memo.find(v.nix, v.slab, a.iface, key)
		}
		if l > int(out.mtu) || e == nil || v.now-e.seen.Load() > v.refresh {
			n.forward(f, i, id, nhs[i])
			continue
		}
		m.Len = uint16(ethHdrLen + l)
		pkt = pkt[:ethHdrLen+l]
		proto.DecHop6(ip)
		if op := out.port; noSG && op != 0 && int(op) < len(ports) && m.Len <= ports[op].maxFrame {
			// routedOut's routed-port case, without its call.
			routedRewrite(m, pkt, out, a.iface, e.mac.Load())
			m.OutPort = op
			if !f.TxFast(op, id) {
				f.Tx(op, id)
			}
			next[i] = pipeline.NextTaken
			continue
		}
		next[i] = routedOut(f, t, v.mt, v.seqs, v.sg, m, pkt, out, a.iface, e.mac.Load(), id)
	}
}
