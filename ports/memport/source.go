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

func (s *source) fill(pool *pipeline.Pool, bufs []pipeline.BufID) int {
	n := pool.AllocN(bufs)
	total := uint64(len(s.lens))
	i := s.pos.Add(uint64(n)) - uint64(n)
	i %= total
	for _, id := range bufs[:n] {
		l, o := s.lens[i], s.offs[i]
		copyFrame(pool.Frame(id)[pipeline.Headroom:], s.slab[o:], int(l))
		pool.Meta(id).Len = l
		if i++; i == total {
			i = 0
		}
	}
	return n
}
