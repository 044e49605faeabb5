package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// l2-output checks that the output port still carries the frame's domain
// (the configuration may have changed since the lookup), pushes an 802.1Q
// tag when the port is a trunk and the VLAN is not its native one, drops
// frames longer than the port can send (never truncating them), and stages
// the frame for tx.
//
// A remote VTEP's pseudo-port has no tx queue: its frames go to
// vxlan-encap.
const (
	outNextEncap = iota
	outNextGSO
)

const (
	outDropPortDown = iota
	outDropVLANMismatch
	outDropNoHeadroom
	outDropTooBig
)

func l2OutputSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeL2Output,
		Next:  []string{nodeVXLANEncap, nodeGSO},
		Drops: []string{"port-down", "vlan-mismatch", "no-headroom", "too-big"},
		New:   func(pipeline.NodeContext) pipeline.Node { return &l2Output{s: s} },
	}
}

type l2Output struct{ s *Switch }

func (n *l2Output) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	pool := f.Pool
	for i, id := range f.IDs {
		m := pool.Meta(id)
		pe := &t.ports[m.OutPort]
		if !pe.up {
			f.Drop(i, outDropPortDown)
			continue
		}
		if !pe.carriesDomain(m.VLAN, m.Domain) {
			f.Drop(i, outDropVLANMismatch)
			continue
		}
		if needsGSO(m) && (!pe.offload || m.Offload&pipeline.OffloadTunnel != 0) {
			// A tunnel's GSO frame is encapsulated large (vxlan-encap
			// cuts it after, or sends it back here when it cannot).
			if pe.tunnel != 0 && m.Offload&(pipeline.OffloadGSO|pipeline.OffloadTunnel) == pipeline.OffloadGSO {
				f.Next[i] = outNextEncap
				continue
			}
			m.Aux = gsoNextL2Output // back here, segmented
			f.Next[i] = outNextGSO
			continue
		}
		if pe.tunnel != 0 {
			f.Next[i] = outNextEncap
			continue
		}
		tag := pe.trunk && m.VLAN != pe.native
		// A GSO frame (only an offload port gets one) is as long as its
		// segments, the receiver's to cut.
		if l := m.Len; m.Offload&pipeline.OffloadGSO == 0 && (l > pe.maxFrame || (tag && l > pe.maxFrame-vlanTagLen)) {
			f.Drop(i, outDropTooBig)
			continue
		}
		if tag {
			pkt, ok := pool.Prepend(id, vlanTagLen)
			if !ok {
				f.Drop(i, outDropNoHeadroom)
				continue
			}
			copy(pkt[:12], pkt[vlanTagLen:vlanTagLen+12])
			pkt[12], pkt[13] = etherTypeVLAN>>8, etherTypeVLAN&0xFF
			pkt[14], pkt[15] = byte(m.VLAN>>8), byte(m.VLAN)
			if m.Offload&pipeline.OffloadCsumPartial != 0 {
				m.CsumStart += vlanTagLen
			}
		}
		if !f.TxFast(m.OutPort, id) {
			f.Tx(m.OutPort, id)
		}
		f.Next[i] = pipeline.NextTaken
	}
}
