package pipeline

// A frame larger than one buffer (a 64 KiB TCP segment a tap port reads
// with its virtio-net header) travels as a chain, as in VPP: the first
// buffer holds the frame's start, every header included, and all of its
// metadata; Meta.Next links each buffer to the next piece (ID + 1, so that
// the zero Meta of a fresh buffer ends a chain). Nodes that only read
// headers work on the first buffer unchanged. Whatever frees a buffer
// (Free, FreeN, a drop, a tx queue) frees its whole chain, and Clone copies
// one, so a chain never leaks and is never shared. Only nodes and ports
// that say so see chains: the switch hands a chain to a tx queue only if
// its port takes large frames, and segments it (package offload) before
// any node that needs the whole frame in one buffer.

// NextBuf returns the buffer after id in its chain.
func (p *Pool) NextBuf(id BufID) (BufID, bool) {
	n := p.meta[id].Next
	return BufID(n - 1), n != 0
}

// Link makes next the piece after prev in a chain.
func (p *Pool) Link(prev, next BufID) { p.meta[prev].Next = uint32(next) + 1 }

// ChainLen is the length of the frame that starts at id, across its chain.
func (p *Pool) ChainLen(id BufID) int {
	n := 0
	for k := 0; k <= p.total; k++ {
		m := &p.meta[id]
		n += int(m.Len)
		if m.Next == 0 {
			break
		}
		id = BufID(m.Next - 1)
	}
	return n
}

// Frags appends the packet bytes of every buffer of id's chain to dst and
// returns it: the frame as fragments, for a gather write or segmentation.
// It allocates nothing when dst has room.
func (p *Pool) Frags(id BufID, dst [][]byte) [][]byte {
	for k := 0; k <= p.total; k++ {
		m := &p.meta[id]
		o := int(id)*FrameSize + int(m.Off)
		dst = append(dst, p.mem[o:o+int(m.Len):o+int(m.Len)])
		if m.Next == 0 {
			break
		}
		id = BufID(m.Next - 1)
	}
	return dst
}

// freeChain frees every buffer of id's chain, clearing the links. The
// walk is bounded by the pool's size, so a corrupt (cyclic) chain cannot
// hang the worker.
func (p *Pool) freeChain(id BufID) {
	for k := 0; k < p.total; k++ {
		m := &p.meta[id]
		nx := m.Next
		m.Next = 0
		p.free = append(p.free, id)
		if nx == 0 {
			return
		}
		id = BufID(nx - 1)
	}
}

// cloneChain copies a whole chain; on running out of buffers it frees the
// partial copy and reports false.
func (p *Pool) cloneChain(id BufID) (BufID, bool) {
	var head, prev BufID
	for k := 0; k < p.total; k++ {
		c, ok := p.Alloc()
		if !ok {
			if k > 0 {
				p.Free(head)
			}
			return 0, false
		}
		m := &p.meta[id]
		p.meta[c] = *m
		p.meta[c].Next = 0
		src := int(id)*FrameSize + int(m.Off)
		dst := int(c)*FrameSize + int(m.Off)
		copy(p.mem[dst:dst+int(m.Len)], p.mem[src:src+int(m.Len)])
		if k == 0 {
			head = c
			if p.traceIdx != nil {
				p.traceIdx[c] = p.traceIdx[id]
			}
		} else {
			p.Link(prev, c)
		}
		prev = c
		if m.Next == 0 {
			break
		}
		id = BufID(m.Next - 1)
	}
	return head, true
}
