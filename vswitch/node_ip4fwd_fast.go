package vswitch

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// fast is ip4-forward's loop for a vector (after pass 1's FIB lookups,
// nhs for the destinations dsts): the usual packet is routed here in one
// straight run of checks, and every other one goes to forward, which
// handles every case (issue 24).
//
// The usual packet: not switch-built (flagLocal), no offload work and no
// chain, a 20-byte header (0x45) whose total length fits the frame
// (Ethernet padding is trimmed) and whose checksum, five 32-bit words
// added and folded, is right, an interface in range and valid, a
// destination that is not martian, and then either
//
//   - a gateway or connected route (not ECMP: its member needs the flow
//     hash) from a source that is not martian (martianSrc4) with a TTL
//     above 1, a length within the outgoing interface's MTU and a
//     neighbor that is known and confirmed within half its age (no
//     refresh probe due): TTL decremented, MACs rewritten, and then
//     staged for tx at once on a routed port with no security groups
//     configured (the frame fits the port), or routedOut's L2 delivery
//     otherwise; or
//   - one of our addresses, UDP to the local VTEP's port (not traced):
//     straight to vxlan-decap.
//
// Each check is forward's own, in forward's order where the order
// decides the outcome, and a packet leaves for forward before this loop
// changes anything in it, so the two agree on every packet: same next
// node, same drop reason, same bytes (TestIP4FastMatchesNodes compares
// them on random packets and configurations, learner.unfused sending
// every packet through forward). What is gone for the usual packet is
// forward's generality: the chain length, the option-aware header
// check's call, the ECMP, GSO and local-origin branches, the neighbor
// memo's call, and routedOut's call with eleven arguments.
func (n *ip4Forward) fast(f *pipeline.Frame, nhs, dsts []uint32) {
	v := &n.v
	t, meta, mem := v.t, v.meta, v.mem
	ids := f.IDs
	next := f.Next[:len(ids)]
	nhs, dsts = nhs[:len(ids)], dsts[:len(ids)]
	ifaces, adjs, ports := t.ifaces, t.adjs, t.ports
	noSG := v.sg == nil
	for i, id := range ids {
		m := &meta[id]
		pkt := pipeline.PacketAt(mem, id, m)
		if m.Flags&flagLocal != 0 || m.Offload&offloadWork != 0 || m.Next != 0 ||
			len(pkt) < ethHdrLen+20 || int(m.Iface) >= len(ifaces) {
			n.forward(f, i, id, nhs[i])
			continue
		}
		ip := pkt[ethHdrLen:]
		tl := int(binary.BigEndian.Uint16(ip[2:]))
		dst := dsts[i]
		if ip[0] != 0x45 || tl < 20 || tl > len(ip) || !sum5OK(ip) ||
			!ifaces[m.Iface].valid || martian4(dst) || int(nhs[i]) >= len(adjs) {
			n.forward(f, i, id, nhs[i])
			continue
		}
		ip = ip[:tl]
		a := &adjs[nhs[i]]
		switch a.kind {
		case adjGlean, adjGateway:
		case adjLocal:
			if vt := v.vt4; vt != nil && m.Flags&pipeline.FlagTraced == 0 && toVTEP4(ip, 20, vt.port) {
				m.Len = uint16(ethHdrLen + tl)
				next[i] = fwdNextDecap4
				continue
			}
			n.forward(f, i, id, nhs[i])
			continue
		default:
			n.forward(f, i, id, nhs[i])
			continue
		}
		if ip[8] <= 1 || int(a.iface) >= len(ifaces) || martianSrc4(&ifaces[m.Iface], binary.BigEndian.Uint32(ip[12:])) {
			n.forward(f, i, id, nhs[i])
			continue
		}
		out := &ifaces[a.iface]
		key := v4Key(dst)
		if a.kind == adjGateway {
			key = a.via
		}
		e := v.memo.e
		if e == nil || v.memo.iface != a.iface || v.memo.key != key {
			e = v.memo.find(v.nix, v.slab, a.iface, key)
		}
		if tl > int(out.mtu) || e == nil || v.now-e.seen.Load() > v.refresh {
			n.forward(f, i, id, nhs[i])
			continue
		}
		m.Len = uint16(ethHdrLen + tl)
		pkt = pkt[:ethHdrLen+tl]
		proto.DecTTL4(ip)
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
