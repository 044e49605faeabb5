package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// l2-learn looks up each source MAC in its domain. A known source on the
// same port gets its timestamp refreshed (at most once a second, by CAS);
// an unknown or moved source becomes a learn event for the learner. Frames
// always continue to l2-fwd.
const learnNextFwd = 0

func l2LearnSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name: nodeL2Learn,
		Next: []string{nodeL2Fwd},
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &l2Learn{s: s, ring: s.lrn.rings[ctx.Worker]}
		},
	}
}

type l2Learn struct {
	s    *Switch
	ring *learnRing
	keys [pipeline.VectorSize]uint64
	sink uint64
}

func (n *l2Learn) Process(f *pipeline.Frame) {
	mt := n.s.lrn.macs.Load()
	now := n.s.now.Load()
	seqs := n.s.portSeq
	pool := f.Pool
	keys := n.keys[:len(f.IDs)]
	var sink uint64
	for i, id := range f.IDs {
		m := pool.Meta(id)
		pkt := pool.Packet(id)
		keys[i] = macKey(m.Domain, mac48(pkt[6:12]))
		sink += mt.touch(keys[i])
	}
	n.sink = sink
	for i, id := range f.IDs {
		in := pool.Meta(id).InPort
		f.Next[i] = learnNextFwd
		slot, v, ok := mt.lookup(keys[i])
		if ok && valSeq(v) == uint16(seqs[valPort(v)].Load()) {
			if valPort(v) == in {
				if valTS(v) != now&tsMask {
					slot.CompareAndSwap(v, withTS(v, now))
				}
				continue
			}
			if valStaticOf(v) {
				continue // a static MAC does not move
			}
		}
		n.ring.push(keys[i], in)
	}
	n.ring.publish()
}
