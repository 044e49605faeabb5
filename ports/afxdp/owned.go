package afxdp

import "github.com/vecswitch/vecswitch/pipeline"

// owned is a bitmap of the buffers a socket has handed to the kernel.
type owned []uint64

func newOwned(n int) owned { return make(owned, (n+63)/64) }

func (o owned) set(id pipeline.BufID)   { o[id/64] |= 1 << (id % 64) }
func (o owned) clear(id pipeline.BufID) { o[id/64] &^= 1 << (id % 64) }

// all lists the buffers still set.
func (o owned) all() []pipeline.BufID {
	var ids []pipeline.BufID
	for w, bits := range o {
		for b := 0; bits != 0; b++ {
			if bits&1 != 0 {
				ids = append(ids, pipeline.BufID(w*64+b))
			}
			bits >>= 1
		}
	}
	return ids
}
