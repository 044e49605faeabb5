package vhostuser

import (
	"github.com/vecswitch/vecswitch/pipeline"
)

// transmit copies the frames of bufs into the guest's receive buffers and
// returns how many it delivered; the caller frees bufs. A frame takes as
// many avail chains as it needs with mergeable buffers (num_buffers in its
// header says how many), one chain otherwise. When the guest has no buffer
// left the rest of the batch is dropped (TxFull).
func (r *vring) transmit(pool *pipeline.Pool, bufs []pipeline.BufID, c *txCounters) int {
	free, ok, newly := r.pending()
	if !ok {
		if newly {
			bump(&c.broken, 1)
		}
		bump(&c.notReady, uint64(len(bufs)))
		return 0
	}
	meta, mem := pool.Arrays()
	old := r.lastUsed
	sent := 0
	var bytes uint64
	var drops [nStatus]uint64
	for i, id := range bufs {
		pkt := pipeline.PacketAt(mem, id, &meta[id])
		st := r.writeFrame(pkt, &free)
		if st == stFull {
			drops[stFull] += uint64(len(bufs) - i)
			break
		}
		if st != stOK {
			drops[st]++
			continue
		}
		sent++
		bytes += uint64(len(pkt))
	}
	if r.finish(old) {
		bump(&c.calls, 1)
	}
	bump(&c.packets, uint64(sent))
	bump(&c.bytes, bytes)
	bump(&c.full, drops[stFull])
	bump(&c.noRoom, drops[stNoRoom])
	bump(&c.badDesc, drops[stBadDesc])
	bump(&c.badAddr, drops[stBadAddr])
	return sent
}

// writeFrame writes one frame, behind a virtio-net header with no offload,
// into avail chains; free counts the chains left and is updated. On
// stFull nothing is consumed. A malformed chain is consumed: it and the
// chains this frame already filled go back to the guest empty.
func (r *vring) writeFrame(pkt []byte, free *uint16) status {
	need := r.hdrLen + len(pkt)
	startAvail, startUsed := r.lastAvail, r.lastUsed
	pos := 0
	var nbuf []byte // the header's num_buffers
	chains := uint16(0)
	for pos < need {
		if *free == 0 {
			r.lastAvail, r.lastUsed = startAvail, startUsed
			*free += chains
			return stFull
		}
		head := r.availEntry(r.lastAvail)
		r.lastAvail++
		*free--
		chains++
		w, st := r.fillChain(head, pkt, &pos, &nbuf)
		if st != stOK {
			for u := startUsed; u != r.lastUsed; u++ {
				le.PutUint32(r.used[ringHdr+usedElemSize*int(u&r.mask)+4:], 0)
			}
			if head < r.num {
				r.putUsed(head, 0)
			}
			return st
		}
		if !r.mergeable && pos < need {
			// Leave the chain for a frame that fits.
			r.lastAvail--
			*free++
			return stNoRoom
		}
		r.putUsed(head, w)
	}
	if nbuf != nil {
		le.PutUint16(nbuf, chains)
	}
	return stOK
}

// fillChain writes the frame from *pos on (header included, *pos counts
// its bytes too) into the device-writable buffers of the chain at head and
// returns how many bytes it wrote. The header must fit in the first buffer
// of the frame's first chain, within one memory region; nbuf is set to
// its num_buffers field.
func (r *vring) fillChain(head uint16, pkt []byte, pos *int, nbuf *[]byte) (uint32, status) {
	need := r.hdrLen + len(pkt)
	var w uint32
	var c chain
	r.start(&c, head)
	for *pos < need {
		addr, n, flags, st := r.next(&c)
		if st == stEnd {
			break
		}
		if st != stOK {
			return 0, st
		}
		if flags&vringDescFWrite == 0 {
			return 0, stBadDesc // a receive buffer the device may not write
		}
		if *pos == 0 {
			if n < uint32(r.hdrLen) {
				return 0, stBadDesc
			}
			h, ok := r.mem.gpa(addr, uint64(r.hdrLen))
			if !ok {
				return 0, stBadAddr
			}
			clear(h)
			if r.hdrLen == netHdrMrgLen {
				*nbuf = h[netHdrLen:]
			}
			*pos = r.hdrLen
			addr += uint64(r.hdrLen)
			n -= uint32(r.hdrLen)
			w += uint32(r.hdrLen)
		}
		k := min(int(n), need-*pos)
		if k == 0 {
			continue
		}
		src := pkt[*pos-r.hdrLen : *pos-r.hdrLen+k]
		if !r.mem.write(addr, src) {
			return 0, stBadAddr
		}
		*pos += k
		w += uint32(k)
	}
	return w, stOK
}
