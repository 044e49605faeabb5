package vswitch

import (
	"github.com/vecswitch/vecswitch/encap"
	"github.com/vecswitch/vecswitch/pipeline"
)

// vxlan-encap wraps frames that l2-output sent to a remote VTEP's
// pseudo-port: it writes the tunnel's prebuilt header template (outer
// Ethernet, IP, UDP, VXLAN with the domain's VNI) into the headroom in
// front of the frame, with the UDP source port from a hash of the inner
// flow and the lengths and IPv4 checksum filled in incrementally (the
// payload is never copied), and hands the packet to ip4-forward or
// ip6-forward as one the switch sends from its VTEP address: the underlay
// route, next hop and MAC come from the FIB and neighbor table like any
// routed packet's, and a packet the underlay MTU cannot carry is dropped
// there and counted (mtu-exceeded; the outer packet is never fragmented).
const (
	nodeVXLANEncap = "vxlan-encap"
	nodeVXLANDecap = "vxlan-decap"
)

const (
	encapNextIP4 = iota
	encapNextIP6
)

const (
	encapDropNoVTEP = iota
	encapDropNoTunnel
	encapDropNoHeadroom
)

func vxlanEncapSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeVXLANEncap,
		Next:  []string{nodeIP4Forward, nodeIP6Forward},
		Drops: []string{"no-vtep", "no-tunnel", "no-headroom"},
		New:   func(pipeline.NodeContext) pipeline.Node { return &vxlanEncap{s: s} },
	}
}

type vxlanEncap struct{ s *Switch }

func (n *vxlanEncap) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	vt := t.vtep
	meta, mem := f.Pool.Arrays()
	next := f.Next[:len(f.IDs)]
	for i, id := range f.IDs {
		if vt == nil {
			f.Drop(i, encapDropNoVTEP)
			continue
		}
		m := &meta[id]
		pe := &t.ports[m.OutPort]
		var tmpl *encap.Template
		if pe.tunnel != 0 && int(m.Domain) < len(t.domains) {
			tun := &t.tunnels[pe.tunnel-1]
			if vi := int(t.domains[m.Domain].vniIdx); vi < len(tun.tmpl) {
				tmpl = tun.tmpl[vi]
			}
		}
		if tmpl == nil {
			f.Drop(i, encapDropNoTunnel)
			continue
		}
		base := int(id) * pipeline.FrameSize
		frame := mem[base : base+pipeline.FrameSize]
		inner := frame[m.Off : int(m.Off)+int(m.Len)]
		off, l, ok := encap.Encap(tmpl, frame, int(m.Off), int(m.Len), encap.InnerFlowHash(inner))
		if !ok {
			f.Drop(i, encapDropNoHeadroom)
			continue
		}
		m.Off, m.Len = uint16(off), uint16(l)
		m.Iface = vt.iface
		m.Flags = m.Flags&pipeline.FlagTraced | flagLocal
		if vt.is6 {
			next[i] = encapNextIP6
		} else {
			next[i] = encapNextIP4
		}
	}
}

// Describe tells the tunnel and VNI.
func (n *vxlanEncap) Describe(f *pipeline.Frame, i int) string {
	t := n.s.tables.Load()
	m, _ := frameOf(f, i)
	if f.Next[i] == pipeline.NextDrop {
		return "not encapsulated"
	}
	return "to VTEP " + t.ports[m.OutPort].name[len("vxlan:"):] + " VNI " + itoa(int(t.domains[m.Domain].vni))
}
