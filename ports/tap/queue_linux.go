package tap

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"golang.org/x/sys/unix"
)

// rxQueue reads frames from one tap file descriptor. It is used by one
// goroutine at a time.
type rxQueue struct {
	p      *Port
	q      int
	fd     int
	pool   *pipeline.Pool
	batch  int
	c      *rxCounters
	closed bool
}

// txQueue writes frames to one tap file descriptor. It is used by one
// goroutine at a time.
type txQueue struct {
	p        *Port
	q        int
	fd       int
	pool     *pipeline.Pool
	maxFrame int
	c        *txCounters
	closed   bool
}

// Close releases the queue (the file descriptor stays open until the port
// closes). It never touches the pool, so it may run while the worker that
// used the queue goes on with other ports.
func (q *rxQueue) Close() error {
	if q.closed {
		return errQueueClosed
	}
	q.closed = true
	q.p.release(q.p.rxOpen, q.q)
	return nil
}

// Close releases the queue, as rxQueue.Close.
func (q *txQueue) Close() error {
	if q.closed {
		return errQueueClosed
	}
	q.closed = true
	q.p.release(q.p.txOpen, q.q)
	return nil
}

// Rx reads up to min(len(bufs), batch) frames, one read(2) each, straight
// into fresh buffers at pipeline.Headroom, and stops at EAGAIN. Buffers are
// taken from the pool one at a time, so an empty poll costs one Alloc and
// one Free. A read that fills the buffer was truncated by the kernel: the
// frame is dropped and counted (RxOversize) and the buffer reused.
func (q *rxQueue) Rx(bufs []pipeline.BufID) (int, error) {
	if q.closed {
		return 0, errQueueClosed
	}
	if q.p.down.Load() {
		return 0, nil
	}
	if len(bufs) > q.batch {
		bufs = bufs[:q.batch]
	}
	if len(bufs) == 0 {
		return 0, nil
	}
	pool := q.pool
	id, ok := pool.Alloc()
	if !ok {
		bump(&q.c.noBuffer, 1)
		return 0, nil
	}
	n := 0
	var bytes, oversize, errs uint64
	var err error
	// At most one read per slot, oversize frames included, so a flood of
	// them cannot keep the worker here.
	for tries := len(bufs); tries > 0; tries-- {
		frame := pool.Frame(id)[pipeline.Headroom:]
		r, rerr := unix.Read(q.fd, frame)
		if rerr != nil {
			if rerr != unix.EAGAIN && rerr != unix.EINTR {
				errs++
				err = q.fail(rerr)
			}
			break
		}
		if r >= len(frame) {
			oversize++ // truncated by the kernel: drop, reuse the buffer
			continue
		}
		if r < ethHeader {
			errs++ // a runt, which tap never hands out
			continue
		}
		pool.Meta(id).Len = uint16(r)
		bufs[n] = id
		n++
		bytes += uint64(r)
		if n == len(bufs) {
			break
		}
		if id, ok = pool.Alloc(); !ok {
			bump(&q.c.noBuffer, 1)
			break
		}
	}
	if ok && n < len(bufs) {
		pool.Free(id) // allocated for a read that brought nothing
	}
	c := q.c
	bump(&c.packets, uint64(n))
	bump(&c.bytes, bytes)
	bump(&c.oversize, oversize)
	bump(&c.errors, errs)
	return n, err
}

// fail classifies a read or write error: a device that is gone marks the
// port down (returning ErrDown); anything else is returned as it is.
func (q *rxQueue) fail(errno error) error {
	if gone(errno) {
		q.p.markDown("read", errno)
		return ErrDown
	}
	return errno
}

// Tx writes each frame with one write(2) and frees every buffer. It stops
// at the first EAGAIN (the rest of the batch counts as TxFull) or EIO (the
// device is set down: TxLinkDown). Frames longer than the port's MaxFrame
// are dropped (TxOversize), runts refused by the kernel counted as
// TxInvalid.
func (q *txQueue) Tx(bufs []pipeline.BufID) (int, error) {
	pool := q.pool
	if q.closed {
		pool.FreeN(bufs)
		return 0, errQueueClosed
	}
	c := q.c
	if q.p.down.Load() {
		bump(&c.down, uint64(len(bufs)))
		pool.FreeN(bufs)
		return 0, nil
	}
	meta, mem := pool.Arrays()
	sent := 0
	var bytes, oversize, invalid, errs uint64
	var err error
loop:
	for i := 0; i < len(bufs); i++ {
		id := bufs[i]
		pkt := pipeline.PacketAt(mem, id, &meta[id])
		if len(pkt) > q.maxFrame {
			oversize++
			continue
		}
		_, werr := unix.Write(q.fd, pkt)
		switch {
		case werr == nil:
			sent++
			bytes += uint64(len(pkt))
		case werr == unix.EINTR:
			i-- // again
		case werr == unix.EAGAIN:
			bump(&c.full, uint64(len(bufs)-i))
			break loop
		case werr == unix.EINVAL:
			invalid++
		case werr == unix.EIO:
			// Set down (not gone): the rest would fail alike.
			bump(&c.linkDown, uint64(len(bufs)-i))
			err = werr
			break loop
		case gone(werr):
			q.p.markDown("write", werr)
			bump(&c.down, uint64(len(bufs)-i))
			err = ErrDown
			break loop
		default:
			errs++
			err = werr
		}
	}
	pool.FreeN(bufs)
	bump(&c.packets, uint64(sent))
	bump(&c.bytes, bytes)
	bump(&c.oversize, oversize)
	bump(&c.invalid, invalid)
	bump(&c.errors, errs)
	return sent, err
}

// gone reports whether an errno from a tap fd means the device no longer
// exists: EBADFD is what tun returns once the device is unregistered
// (deleted, or its namespace dismantled) and the file detached from it;
// ENODEV and ENXIO are accepted for the same.
func gone(err error) bool {
	return err == unix.EBADFD || err == unix.ENODEV || err == unix.ENXIO
}

// detached returns EBADFD, what a read or write would get, when tap
// descriptor fd is no longer attached to a device: tun's poll answers
// POLLERR for a file whose device was deleted (or whose namespace was
// dismantled) and for a device being unregistered, and for nothing else.
// A failing poll(2) itself is not taken for a gone device.
func detached(fd int) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pfd[0].Revents&unix.POLLERR == 0 {
			return nil
		}
		return unix.EBADFD
	}
}

// PollFD implements pipeline.Pollable: the tap fd polls readable when a
// frame waits.
func (q *rxQueue) PollFD() int { return q.fd }
