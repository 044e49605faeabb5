package memport

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/pipeline"
)

// source generates frames from a fixed list, laid out in one slab so the
// generator itself streams through memory. Several rx queues may share one
// source; each call takes a contiguous range of the list.
type source struct {
	slab []byte
	offs []uint32
	lens []uint16
	pos  atomic.Uint64
}

func newSource(frames [][]byte) (*source, error) {
	if len(frames) == 0 {
		return nil, errors.New("empty source")
	}
	s := &source{offs: make([]uint32, len(frames)), lens: make([]uint16, len(frames))}
	for i, f := range frames {
		if len(f) > pipeline.MaxPacket {
			return nil, fmt.Errorf("source frame %d: %d bytes is more than %d", i, len(f), pipeline.MaxPacket)
		}
		s.offs[i] = uint32(len(s.slab))
		s.lens[i] = uint16(len(f))
		s.slab = append(s.slab, f...)
		for len(s.slab)%64 != 0 {
			s.slab = append(s.slab, 0) // pad so copyFrame may copy 64 bytes
		}
	}
	s.slab = append(s.slab, make([]byte, 64)...)
	return s, nil
}

// fill takes up to len(bufs) buffers from pool and copies the next frames
// of the list into them. The copy is written out here (copy64 for a
// minimum-size frame, whose source the slab's padding keeps 64 bytes
// long) rather than through copyFrame's call: a benchmark's rx is this
// loop, and what it costs is counted in every per-packet figure.
func (s *source) fill(pool *pipeline.Pool, bufs []pipeline.BufID) int {
	n := pool.AllocN(bufs)
	total := uint64(len(s.lens))
	i := s.pos.Add(uint64(n)) - uint64(n)
	i %= total
	meta, mem := pool.Arrays()
	lens, offs, slab := s.lens, s.offs, s.slab
	for _, id := range bufs[:n] {
		l, o := lens[i], int(offs[i])
		dst := pipeline.FrameAt(mem, id)[pipeline.Headroom:]
		if l <= 64 {
			copy64(dst, slab[o:o+64])
		} else {
			copy(dst[:l], slab[o:o+int(l)])
		}
		meta[id].Len = l
		if i++; i == total {
			i = 0
		}
	}
	return n
}
