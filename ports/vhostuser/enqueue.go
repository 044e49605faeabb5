package vhostuser

import (
	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// txScratch is a tx queue's working space for frames with offload state,
// made when the queue opens so that Tx allocates nothing: the pieces of a
// chain, and the buffers a GSO frame is cut into for a guest that does
// not take it whole.
type txScratch struct {
	frags [maxFrags][]byte
	one   [1][]byte
	dst   [maxSegs][]byte
	lens  [maxSegs]int
	ids   [maxSegs]pipeline.BufID
	// held is how many of ids are taken from the pool, so that a fault
	// on guest memory in the middle can free them.
	held int
}

// txTally counts what one transmit did.
type txTally struct {
	sent, bytes, gso, segmented uint64
	drops                       [nStatus]uint64
}

// transmit copies the frames of bufs into the guest's receive buffers and
// returns how many frames the guest got (a frame the port segmented
// counts once per segment); the caller frees bufs. A frame takes as many
// avail chains as it needs with mergeable buffers (num_buffers in its
// header says how many), one chain otherwise. When the guest has no buffer
// left the rest of the batch is dropped (TxFull).
func (r *vring) transmit(pool *pipeline.Pool, bufs []pipeline.BufID, c *txCounters, s *txScratch) int {
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
	var t txTally
	for i, id := range bufs {
		m := &meta[id]
		var st status
		if m.Next == 0 && m.Offload&(pipeline.OffloadCsumPartial|pipeline.OffloadGSO) == 0 {
			pkt := pipeline.PacketAt(mem, id, m)
			var h offload.VnetHdr
			if m.Offload&pipeline.OffloadCsumValid != 0 && r.guest&capCsum != 0 {
				h.Flags = offload.FlagDataValid
			}
			s.one[0] = pkt
			if st = r.writeFrame(s.one[:], len(pkt), &h, &free); st == stOK {
				t.sent++
				t.bytes += uint64(len(pkt))
			}
		} else {
			st = r.transmitOffload(pool, id, s, &free, &t)
		}
		if st == stFull {
			t.drops[stFull] += uint64(len(bufs) - i)
			break
		}
		if st != stOK {
			t.drops[st]++
		}
	}
	if r.finish(old) {
		bump(&c.calls, 1)
	}
	bump(&c.packets, t.sent)
	bump(&c.bytes, t.bytes)
	bump(&c.gsoFrames, t.gso)
	bump(&c.segmented, t.segmented)
	bump(&c.full, t.drops[stFull])
	bump(&c.noRoom, t.drops[stNoRoom])
	bump(&c.badDesc, t.drops[stBadDesc])
	bump(&c.badAddr, t.drops[stBadAddr])
	bump(&c.badOffload, t.drops[stBadOffload])
	bump(&c.noBuffer, t.drops[stNoBuffer])
	return int(t.sent)
}

// transmitOffload transmits a frame that is a chain or has offload state
// (pipeline.Meta.Offload): as it is, behind a header that describes it, to
// a guest that negotiated what it needs; otherwise made plain first, its
// checksum completed or the frame cut into segments.
func (r *vring) transmitOffload(pool *pipeline.Pool, id pipeline.BufID, s *txScratch, free *uint16, t *txTally) status {
	m := pool.Meta(id)
	frags, size, ok := chainFrags(pool, id, s.frags[:])
	if !ok {
		return stBadOffload
	}
	partial := m.Offload&pipeline.OffloadCsumPartial != 0
	h := offload.VnetHdr{GSOType: m.GSOType, GSOSize: m.GSOSize, CsumStart: m.CsumStart, CsumOffset: m.CsumOff}
	if partial {
		h.Flags = offload.FlagNeedsCsum
		if int(h.CsumStart)+int(h.CsumOffset)+2 > len(frags[0]) {
			return stBadOffload // every header, the checksum field included, is in the first piece
		}
	}
	if m.Offload&pipeline.OffloadGSO != 0 {
		need := gsoCaps(h.GSOType, usoCap(frags[0]))
		if need == 0 || r.guest&need != need {
			return r.segment(pool, frags, &h, s, free, t)
		}
		h.HdrLen = gsoHdrLen(frags[0], &h)
		st := r.writeFrame(frags, size, &h, free)
		if st == stOK {
			t.sent++
			t.gso++
			t.bytes += uint64(size)
		}
		return st
	}
	h.GSOType, h.GSOSize = offload.GSONone, 0
	switch {
	case partial && r.guest&capCsum == 0:
		if !completeChain(frags, int(h.CsumStart), int(h.CsumOffset)) {
			return stBadOffload
		}
		h = offload.VnetHdr{}
	case !partial:
		h = offload.VnetHdr{}
		if m.Offload&pipeline.OffloadCsumValid != 0 && r.guest&capCsum != 0 {
			h.Flags = offload.FlagDataValid
		}
	}
	st := r.writeFrame(frags, size, &h, free)
	if st == stOK {
		t.sent++
		t.bytes += uint64(size)
	}
	return st
}

// segment cuts the GSO frame frags, described by h, with offload.Segment
// into buffers of the pool and writes each segment as a plain frame. A
// segment that finds no receive buffer (stFull) or a bad one ends the
// frame: the segments before it were delivered.
func (r *vring) segment(pool *pipeline.Pool, frags [][]byte, h *offload.VnetHdr, s *txScratch, free *uint16, t *txTally) status {
	size := 0
	for _, f := range frags {
		size += len(f)
	}
	nseg := 1
	if h.GSOSize != 0 {
		nseg = (size + int(h.GSOSize) - 1) / int(h.GSOSize) // headers counted: never too few
	}
	if nseg > maxSegs {
		return stBadOffload
	}
	got := pool.AllocN(s.ids[:nseg])
	s.held = got
	if got < nseg {
		pool.FreeN(s.ids[:got])
		s.held = 0
		return stNoBuffer
	}
	mem := pool.Memory()
	for k, b := range s.ids[:nseg] {
		s.dst[k] = pipeline.FrameAt(mem, b)
	}
	st := stOK
	k, err := offload.Segment(frags, h, s.dst[:nseg], s.lens[:nseg])
	if err != nil {
		st = stBadOffload
	} else {
		t.segmented++
		var plain offload.VnetHdr
		for j := range k {
			seg := s.dst[j][:s.lens[j]]
			s.one[0] = seg
			if st = r.writeFrame(s.one[:], len(seg), &plain, free); st != stOK {
				break
			}
			t.sent++
			t.bytes += uint64(len(seg))
		}
	}
	pool.FreeN(s.ids[:nseg])
	s.held = 0
	return st
}

// source reads a frame in pieces, in order.
type source struct {
	frags [][]byte
	i     int // current piece
	off   int // bytes of it already read
}

// writeTo copies the next n bytes of the frame to guest address addr.
func (s *source) writeTo(g *guestMem, addr uint64, n int) bool {
	for n > 0 {
		if s.i == len(s.frags) {
			return false // cannot happen: size is the pieces' sum
		}
		p := s.frags[s.i][s.off:]
		if len(p) == 0 {
			s.i, s.off = s.i+1, 0
			continue
		}
		k := min(n, len(p))
		if !g.write(addr, p[:k]) {
			return false
		}
		s.off += k
		addr += uint64(k)
		n -= k
	}
	return true
}

// writeFrame writes one frame of size bytes, in pieces frags, behind the
// virtio-net header h (num_buffers is filled in here), into avail chains;
// free counts the chains left and is updated. On stFull nothing is
// consumed. A malformed chain is consumed: it and the chains this frame
// already filled go back to the guest empty.
func (r *vring) writeFrame(frags [][]byte, size int, h *offload.VnetHdr, free *uint16) status {
	need := r.hdrLen + size
	startAvail, startUsed := r.lastAvail, r.lastUsed
	pos := 0
	src := source{frags: frags}
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
		w, st := r.fillChain(head, need, h, &src, &pos, &nbuf)
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

// fillChain writes the frame from *pos on (header included: *pos counts
// its bytes too, need is the header and frame together) into the
// device-writable buffers of the chain at head and returns how many bytes
// it wrote. The header must fit in the first buffer of the frame's first
// chain, within one memory region; nbuf is set to its num_buffers field.
func (r *vring) fillChain(head uint16, need int, h *offload.VnetHdr, src *source, pos *int, nbuf *[]byte) (uint32, status) {
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
			hb, ok := r.mem.gpa(addr, uint64(r.hdrLen))
			if !ok {
				return 0, stBadAddr
			}
			clear(hb)
			h.Encode(hb)
			if r.hdrLen == netHdrMrgLen {
				*nbuf = hb[netHdrLen:]
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
		if !src.writeTo(r.mem, addr, k) {
			return 0, stBadAddr
		}
		*pos += k
		w += uint32(k)
	}
	return w, stOK
}
