package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// l2-flood replicates a frame to every up port of its domain except the one
// it came in on (split horizon). Each extra copy is a clone (a new buffer);
// the last port gets the original.
const floodNextOutput = 0

const (
	floodDropNoPort = iota
	floodDropNoBuffer
)

func l2FloodSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeL2Flood,
		Next:  []string{nodeL2Output},
		Drops: []string{"no-flood-port", "no-buffer"},
		New:   func(pipeline.NodeContext) pipeline.Node { return &l2Flood{s: s} },
	}
}

type l2Flood struct{ s *Switch }

func (n *l2Flood) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	pool := f.Pool
	for i, id := range f.IDs {
		m := pool.Meta(id)
		in := m.InPort
		var flood []uint16
		if int(m.Domain) < len(t.domains) {
			flood = t.domains[m.Domain].flood
		}
		last := -1
		for _, p := range flood {
			if p == in {
				continue
			}
			if last >= 0 {
				c, ok := pool.Clone(id)
				if !ok {
					f.CountDrop(floodDropNoBuffer, 1)
					continue
				}
				pool.Meta(c).OutPort = uint16(last)
				f.Emit(floodNextOutput, c)
			}
			last = int(p)
		}
		if last < 0 {
			f.Drop(i, floodDropNoPort)
			continue
		}
		m.OutPort = uint16(last)
		f.Next[i] = floodNextOutput
	}
}
