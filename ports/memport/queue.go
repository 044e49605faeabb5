package memport

import (
	"errors"

	"github.com/vecswitch/vecswitch/pipeline"
)

// queue is what rx and tx queues share.
type queue struct {
	p      *Port
	kind   string // "rx" or "tx"
	q      int
	r      *ring
	pool   *pipeline.Pool
	closed bool
}

type rxQueue struct{ queue }

type txQueue struct{ queue }

// Close releases the queue so it can be opened again.
func (q *queue) Close() error {
	if q.closed {
		return errQueueClosed
	}
	q.closed = true
	q.p.release(q.kind, q.q)
	return nil
}

var errQueueClosed = errors.New("memport: queue closed")

// Rx copies up to len(bufs) frames (at most the batch size) from the ring
// into fresh buffers of the worker's pool.
func (q *rxQueue) Rx(bufs []pipeline.BufID) (int, error) {
	if q.closed {
		return 0, errQueueClosed
	}
	if len(bufs) > q.p.batch {
		bufs = bufs[:q.p.batch]
	}
	if s := q.p.src.Load(); s != nil {
		return s.fill(q.pool, bufs), nil
	}
	r := q.r
	head := r.head.Load()
	avail := int(r.tail.Load() - head)
	if avail == 0 {
		return 0, nil
	}
	n := q.pool.AllocN(bufs[:min(avail, len(bufs))])
	for _, id := range bufs[:n] {
		l := r.lens[head&r.mask]
		copyFrame(q.pool.Frame(id)[pipeline.Headroom:], r.slot(head), int(l))
		q.pool.Meta(id).Len = l
		head++
	}
	r.head.Store(head)
	return n, nil
}

// Tx copies frames into the ring, drops what does not fit (ring full, or a
// frame longer than a slot, which the switch never sends), and frees every
// buffer. It returns how many it put on the ring.
func (q *txQueue) Tx(bufs []pipeline.BufID) (int, error) {
	defer q.pool.FreeN(bufs)
	if q.closed {
		return 0, errQueueClosed
	}
	if q.p.sink.Load() {
		q.p.txSunk.Add(uint64(len(bufs)))
		return len(bufs), nil
	}
	r := q.r
	tail := r.tail.Load()
	space := int(r.mask + 1 - (tail - r.head.Load()))
	n := 0
	for _, id := range bufs {
		if q.p.offload {
			if m := q.pool.Meta(id); m.Next != 0 || m.Offload&(pipeline.OffloadGSO|pipeline.OffloadCsumPartial) != 0 {
				q.p.keepOffloaded(q.pool, id)
				n++
				continue
			}
		}
		pkt := q.pool.Packet(id)
		if n == space || len(pkt) > slotSize {
			continue
		}
		copyFrame(r.slot(tail), pkt, len(pkt))
		r.lens[tail&r.mask] = uint16(len(pkt))
		tail++
		n++
	}
	r.tail.Store(tail)
	if d := len(bufs) - n; d > 0 {
		r.drops.Add(uint64(d))
	}
	return n, nil
}

// copyFrame copies n bytes of src to dst. Both have room for at least
// pipeline.MaxPacket bytes or n rounded up to 64, so a minimum-size frame is
// copied as eight 8-byte moves (copy64), without a memmove call.
func copyFrame(dst, src []byte, n int) {
	if n <= 64 && len(dst) >= 64 && len(src) >= 64 {
		copy64(dst, src)
		return
	}
	copy(dst[:n], src[:n])
}
