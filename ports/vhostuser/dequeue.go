package vhostuser

import (
	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// idleBeforeNotify is how many consecutive empty polls of a guest-tx ring
// pass before the backend asks the guest to kick again. It is below the
// worker's empty-poll count before it waits in epoll (64), so kicks are
// enabled before a worker sleeps, and above 1 so that a ring that runs dry
// between two bursts costs the guest no kick system call.
const idleBeforeNotify = 16

// ethHeader is the shortest frame passed on: an Ethernet header.
const ethHeader = 14

// receive moves frames the guest transmitted into fresh buffers of pool:
// bufs[:n]. A frame longer than one buffer (a GSO frame, when the guest
// negotiated HOST_TSO*/HOST_USO) becomes a chain. Each consumed chain goes
// back to the guest at once as a used entry of length 0, whatever became
// of its frame. *held is kept equal to the number of buffers taken from
// the pool and not yet handed out (with their chains), so that a fault on
// guest memory in the middle can free them.
func (r *vring) receive(pool *pipeline.Pool, bufs []pipeline.BufID, c *rxCounters, held *int) int {
	avail, ok, newly := r.pending()
	if !ok {
		if newly {
			bump(&c.broken, 1)
		}
		return 0
	}
	if avail == 0 {
		if r.idle++; !r.notify && r.idle >= idleBeforeNotify {
			r.enableNotify()
			// A frame made available before the guest saw the request
			// came without a kick: look again.
			if avail, ok, newly = r.pending(); !ok || avail == 0 {
				if newly {
					bump(&c.broken, 1)
				}
				return 0
			}
		} else {
			return 0
		}
	}
	r.idle = 0
	if r.notify {
		r.disableNotify()
	}
	k := min(int(avail), len(bufs))
	got := pool.AllocN(bufs[:k])
	*held = got
	short := got < k
	old := r.lastUsed
	n := 0
	var bytes, gso uint64
	var drops [nStatus]uint64
	for range got {
		head := r.availEntry(r.lastAvail)
		id := bufs[n]
		l, st := r.readChain(head, pool, id)
		if st == stNoBuffer {
			// The pool ran dry in the middle of a large frame: the
			// chain waits in the guest's ring for the next poll.
			short = true
			break
		}
		r.lastAvail++
		if head < r.num {
			r.putUsed(head, 0)
		}
		if st != stOK {
			drops[st]++
			continue // the buffer serves the next chain
		}
		if pool.Meta(id).Offload&pipeline.OffloadGSO != 0 {
			gso++
		}
		bytes += uint64(l)
		n++
	}
	pool.FreeN(bufs[n:got])
	*held = 0
	if r.finish(old) {
		bump(&c.calls, 1)
	}
	if short {
		bump(&c.noBuffer, 1)
	}
	bump(&c.packets, uint64(n))
	bump(&c.bytes, bytes)
	bump(&c.gsoFrames, gso)
	bump(&c.badDesc, drops[stBadDesc])
	bump(&c.badAddr, drops[stBadAddr])
	bump(&c.oversize, drops[stOversize])
	bump(&c.runt, drops[stRunt])
	bump(&c.gso, drops[stGSO])
	bump(&c.badHdr, drops[stBadHdr])
	return n
}

// readChain copies the frame of the chain at head into buffer id of pool
// (at pipeline.Headroom), and into more buffers chained to it if the frame
// is a GSO frame the guest may send (up to maxFrame bytes; any other frame
// must fit one buffer), and returns its length. The virtio-net header
// becomes id's offload metadata (rxHeader). On any status but stOK, id is
// left alone with no chain; on stNoBuffer (the pool ran dry) nothing was
// consumed.
func (r *vring) readChain(head uint16, pool *pipeline.Pool, id pipeline.BufID) (int, status) {
	var hdr [netHdrMrgLen]byte
	hl := 0 // header bytes read
	limit := pipeline.MaxPacket
	off := 0
	oversize := false
	w := chainWriter{pool: pool, head: id, cur: id}
	w.dst = pipeline.FrameAt(w.mem(), id)[pipeline.Headroom:]
	var c chain
	r.start(&c, head)
	st := stOK
	for {
		addr, n, flags, s := r.next(&c)
		if s == stEnd {
			break
		}
		if s != stOK {
			st = s
			break
		}
		if flags&vringDescFWrite != 0 {
			st = stBadDesc // the guest's transmit buffers are read-only to us
			break
		}
		if hl < r.hdrLen {
			h := min(r.hdrLen-hl, int(n))
			if !r.mem.read(hdr[hl:hl+h], addr) {
				st = stBadAddr
				break
			}
			hl += h
			addr += uint64(h)
			n -= uint32(h)
			if hl == r.hdrLen && hdr[1] != netHdrGSONone && r.host&capGSO != 0 {
				limit = maxFrame
			}
		}
		if n == 0 {
			continue
		}
		if oversize || int(n) > limit-off {
			// Walk on to find a malformed chain, but copy nothing more.
			if !r.mem.mapped(addr, uint64(n)) {
				st = stBadAddr
				break
			}
			oversize = true
			continue
		}
		if st = w.copyFrom(r.mem, addr, int(n)); st != stOK {
			break
		}
		off += int(n)
	}
	switch {
	case st != stOK:
	case hl < r.hdrLen:
		st = stBadDesc // the chain is shorter than the header
	case oversize:
		st = stOversize
	case off < ethHeader:
		st = stRunt
	default:
		w.finish()
		st = r.rxHeader(&hdr, pool, id, off)
	}
	if st != stOK {
		w.abort()
		return 0, st
	}
	return off, stOK
}

// rxHeader checks the virtio-net header of a received frame of size bytes
// in buffer id (and its chain) and turns it into the buffer's offload
// metadata. A guest that did not negotiate offloads gets what the port
// always did: a partial checksum is completed here (as Linux's
// skb_checksum_help does), so the frame leaves the switch correct, and a
// GSO frame is dropped. A guest that did keeps both as the header says,
// once offload.VnetHdr validated it, for the switch to carry.
func (r *vring) rxHeader(hdr *[netHdrMrgLen]byte, pool *pipeline.Pool, id pipeline.BufID, size int) status {
	m := pool.Meta(id)
	if r.host == 0 {
		switch {
		case hdr[1] != netHdrGSONone:
			return stGSO
		case hdr[0]&offload.FlagNeedsCsum != 0:
			pkt := pipeline.PacketAt(pool.Memory(), id, m)
			if offload.CompleteChecksum(pkt, int(le.Uint16(hdr[6:])), int(le.Uint16(hdr[8:]))) != nil {
				return stBadHdr
			}
		}
		return stOK
	}
	var h offload.VnetHdr
	if h.Decode(hdr[:netHdrLen]) != nil || int(h.HdrLen) > size {
		return stBadHdr
	}
	if h.GSOType != offload.GSONone {
		if need := gsoCaps(h.GSOType, capUSO4|capUSO6); need == 0 || r.host&need != need {
			return stGSO // not negotiated (or UFO, never offered)
		}
		m.Offload |= pipeline.OffloadGSO
		m.GSOType, m.GSOSize = h.GSOType, h.GSOSize
	}
	if h.Flags&offload.FlagNeedsCsum != 0 {
		if int(h.CsumStart)+int(h.CsumOffset)+2 > size {
			return stBadHdr
		}
		m.Offload |= pipeline.OffloadCsumPartial
		m.CsumStart, m.CsumOff = h.CsumStart, h.CsumOffset
	}
	// DATA_VALID is for the driver's receive side only: a guest's claim
	// that its frame was checked is not taken.
	return stOK
}

// chainWriter fills a pool buffer and the buffers it chains to it, as
// the pipeline lays a large frame out: the first buffer holds
// pipeline.MaxPacket bytes after its headroom (every header of a frame is
// there), each further one a whole pipeline.FrameSize.
type chainWriter struct {
	pool      *pipeline.Pool
	head, cur pipeline.BufID
	dst       []byte // what is left of cur
	n         int    // bytes in cur
}

func (w *chainWriter) mem() []byte { return w.pool.Memory() }

// copyFrom copies n bytes from guest address addr, taking (and linking)
// buffers as it needs them. A buffer is linked as soon as it is taken,
// so freeing the head frees it too.
func (w *chainWriter) copyFrom(g *guestMem, addr uint64, n int) status {
	for n > 0 {
		if len(w.dst) == 0 {
			nb, ok := w.pool.Alloc()
			if !ok {
				return stNoBuffer
			}
			m := w.pool.Meta(w.cur)
			m.Len = uint16(w.n)
			w.pool.Link(w.cur, nb)
			*w.pool.Meta(nb) = pipeline.Meta{}
			w.cur, w.n = nb, 0
			w.dst = pipeline.FrameAt(w.mem(), nb)
		}
		k := min(n, len(w.dst))
		if !g.read(w.dst[:k], addr) {
			return stBadAddr
		}
		w.dst, w.n = w.dst[k:], w.n+k
		addr += uint64(k)
		n -= k
	}
	return stOK
}

// finish records the last buffer's length.
func (w *chainWriter) finish() { w.pool.Meta(w.cur).Len = uint16(w.n) }

// abort gives back the buffers chained to the head and resets the head's
// metadata, so that it can serve the next frame.
func (w *chainWriter) abort() {
	m := w.pool.Meta(w.head)
	if nx, ok := w.pool.NextBuf(w.head); ok {
		m.Next = 0
		w.pool.Free(nx)
	}
	*m = pipeline.Meta{Off: pipeline.Headroom}
}
