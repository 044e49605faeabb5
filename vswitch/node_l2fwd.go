package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// l2-fwd looks up each destination MAC in its domain: a known unicast MAC
// sets Meta.OutPort and goes to l2-output; broadcast, multicast and unknown
// unicast go to l2-flood. A frame whose destination sits behind its own
// ingress port is dropped (it has already reached its segment).
const (
	fwdNextOutput = iota
	fwdNextFlood
)

const fwdDropSamePort = 0

func l2FwdSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeL2Fwd,
		Next:  []string{nodeL2Output, nodeL2Flood},
		Drops: []string{"dst-on-ingress-port"},
		New:   func(pipeline.NodeContext) pipeline.Node { return &l2Fwd{s: s} },
	}
}

type l2Fwd struct {
	s    *Switch
	keys [pipeline.VectorSize]uint64
	sink uint64
}

func (n *l2Fwd) Process(f *pipeline.Frame) {
	mt := n.s.lrn.macs.Load()
	seqs := n.s.portSeq
	pool := f.Pool
	keys := n.keys[:len(f.IDs)]
	var sink uint64
	for i, id := range f.IDs {
		m := pool.Meta(id)
		dst := mac48(pool.Packet(id)[0:6])
		if isGroup(dst) {
			keys[i] = 0
			continue
		}
		keys[i] = macKey(m.Domain, dst)
		sink += mt.touch(keys[i])
	}
	n.sink = sink
	for i, id := range f.IDs {
		if keys[i] == 0 {
			f.Next[i] = fwdNextFlood
			continue
		}
		_, v, ok := mt.lookup(keys[i])
		if !ok || valSeq(v) != uint16(seqs[valPort(v)].Load()) {
			f.Next[i] = fwdNextFlood
			continue
		}
		m := pool.Meta(id)
		if p := valPort(v); p != m.InPort {
			m.OutPort = p
			f.Next[i] = fwdNextOutput
		} else {
			f.Drop(i, fwdDropSamePort)
		}
	}
}
