package vswitch

import (
	"strconv"

	"github.com/vecswitch/vecswitch/encap"
	"github.com/vecswitch/vecswitch/pipeline"
)

// vxlan-decap takes the UDP packets that ip4-local/ip6-local found
// addressed to the VTEP's port. It checks the outer headers
// (encap.ParseOuter: reasons name each failure), that the packet is for
// our VTEP address, that the VNI is one of ours and that the source VTEP
// is a remote of that VNI, then strips the outer headers (moving the
// packet start, no copy) and hands the inner frame to l2-fwd in the VNI's
// domain as if it came in on the remote VTEP's pseudo-port, so its source
// MAC is learned behind that VTEP. The usual inner frame does not wait
// for l2-fwd: the node learns and forwards it itself, l2-fwd fused in
// (fusedFwd, as in l2-input).
const (
	decapNextL2Fwd = iota
	decapNextFlood
	decapNextOutput
	decapNextSG
	decapNextIP4
	decapNextIP6
	decapNextARP
	decapNextGSO
	decapNextNAT
)

// decapFused are vxlan-decap's nexts for the fused l2-fwd's outcomes.
var decapFused = fusedNexts{flood: decapNextFlood, output: decapNextOutput, sg: decapNextSG,
	router: [...]uint16{rkIP4: decapNextIP4, rkIP6: decapNextIP6, rkARP: decapNextARP, rkGSO: decapNextGSO, rkNAT: decapNextNAT}}

const (
	decapDropNoVTEP = uint16(encap.NumReasons) + iota
	decapDropNotOurs
	decapDropUnknownVNI
	decapDropUnknownVTEP
	decapDropInnerGroupSrc
	decapDropInnerTagged
)

func vxlanDecapSpec(s *Switch) pipeline.NodeSpec {
	d := make([]string, 0, int(encap.NumReasons)+6)
	for r := encap.Reason(0); r < encap.NumReasons; r++ {
		d = append(d, r.String())
	}
	d = append(d, "no-vtep", "not-our-vtep", "unknown-vni", "unknown-vtep", "inner-src-multicast", "inner-tagged")
	return pipeline.NodeSpec{
		Name: nodeVXLANDecap,
		Next: []string{nodeL2Fwd, nodeL2Flood, nodeL2Output, nodeSGPolicy,
			nodeIP4Forward, nodeIP6Forward, nodeARPInput, nodeGSO, nodeNAT},
		Drops: d,
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &vxlanDecap{s: s, ring: s.lrn.rings[ctx.Worker]}
		},
	}
}

type vxlanDecap struct {
	s    *Switch
	ring *learnRing // the worker's learn events (the fused l2-fwd's)
	fwd  fusedFwd
}

func (n *vxlanDecap) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	vt := t.vtep
	meta, mem := f.Pool.Arrays()
	// The last (VNI, source VTEP) and what it resolved to: a vector is
	// mostly one tunnel.
	var lastVNI uint32
	var lastSrc nbrAddr
	var lastDom, lastTP uint16
	fw := &n.fwd
	fw.start(n.s)
	for i, id := range f.IDs {
		if vt == nil {
			f.Drop(i, decapDropNoVTEP)
			continue
		}
		m := &meta[id]
		pkt := pipeline.PacketAt(mem, id, m)
		// The common IPv4 packet is parsed by ParseOuter4; the rest, and
		// whatever it refuses (so the reason is named), by ParseOuter.
		var vni uint32
		var src nbrAddr
		var innerOff, innerLen int
		o, ok := encap.Outer4{}, false
		if !vt.is6 {
			o, ok = encap.ParseOuter4(pkt, vt.decap)
		}
		if ok {
			if v4Key(o.Dst) != vt.addr {
				f.Drop(i, decapDropNotOurs)
				continue
			}
			vni, src, innerOff, innerLen = o.VNI, v4Key(o.Src), o.InnerOff, o.InnerLen
		} else {
			o, r := encap.ParseOuter(pkt, vt.decap)
			if r != encap.OK {
				f.Drop(i, uint16(r))
				continue
			}
			if hi, lo := o.DstHiLo(); (nbrAddr{hi, lo}) != vt.addr {
				f.Drop(i, decapDropNotOurs)
				continue
			}
			shi, slo := o.SrcHiLo()
			vni, src, innerOff, innerLen = o.VNI, nbrAddr{shi, slo}, o.InnerOff, o.InnerLen
		}
		if vni != lastVNI || src != lastSrc || lastDom == 0 {
			lastVNI, lastSrc, lastDom, lastTP = vni, src, 0, 0
			dom := t.vniDomain(vni)
			if dom == 0 {
				f.Drop(i, decapDropUnknownVNI)
				continue
			}
			d := &t.domains[dom]
			tp := t.tunnelPort(d.bridge, src)
			if tp == 0 || t.ports[tp].vlanDom[d.vlan&0xFFF] != dom {
				f.Drop(i, decapDropUnknownVTEP)
				continue
			}
			lastDom, lastTP = dom, tp
		}
		inner := pkt[innerOff : innerOff+innerLen]
		if inner[6]&1 != 0 {
			f.Drop(i, decapDropInnerGroupSrc)
			continue
		}
		if isVLANType(uint16(inner[12])<<8 | uint16(inner[13])) {
			f.Drop(i, decapDropInnerTagged)
			continue
		}
		m.Off += uint16(innerOff)
		m.Len = uint16(innerLen)
		m.InPort, m.Domain, m.VLAN = lastTP, lastDom, t.domains[lastDom].vlan
		m.Flags &= pipeline.FlagTraced
		f.Next[i] = decapNextL2Fwd
		if fw.on && m.Flags == 0 {
			fw.add(i, lastDom, mac48(inner[6:12]), mac48(inner[0:6]))
		}
	}
	if fw.n > 0 {
		fw.run(f, n.s, t, n.ring, n.s.nat.Load() != nil, &decapFused)
	}
}

// Describe tells the VNI and the remote VTEP.
func (n *vxlanDecap) Describe(f *pipeline.Frame, i int) string {
	t := n.s.tables.Load()
	m, _ := frameOf(f, i)
	if f.Next[i] == pipeline.NextDrop {
		return "not decapsulated"
	}
	return "VNI " + strconv.Itoa(int(t.domains[m.Domain].vni)) + " from " + t.portName(m.InPort) + " into " + t.domainName(m.Domain)
}
