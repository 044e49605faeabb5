package vhostuser

import (
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
// bufs[:n]. Each consumed chain goes back to the guest at once as a used
// entry of length 0, whatever became of its frame. *held is kept equal
// to the number of buffers taken from the pool and not yet handed out, so
// that a fault on guest memory in the middle can free them.
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
	if got < k {
		bump(&c.noBuffer, 1)
	}
	meta, mem := pool.Arrays()
	old := r.lastUsed
	n := 0
	var bytes uint64
	var drops [nStatus]uint64
	for range got {
		head := r.availEntry(r.lastAvail)
		r.lastAvail++
		id := bufs[n]
		l, st := r.readChain(head, pipeline.FrameAt(mem, id)[pipeline.Headroom:])
		if head < r.num {
			r.putUsed(head, 0)
		}
		if st != stOK {
			drops[st]++
			continue // the buffer serves the next chain
		}
		meta[id].Len = uint16(l)
		bytes += uint64(l)
		n++
	}
	pool.FreeN(bufs[n:got])
	*held = 0
	if r.finish(old) {
		bump(&c.calls, 1)
	}
	bump(&c.packets, uint64(n))
	bump(&c.bytes, bytes)
	bump(&c.badDesc, drops[stBadDesc])
	bump(&c.badAddr, drops[stBadAddr])
	bump(&c.oversize, drops[stOversize])
	bump(&c.runt, drops[stRunt])
	bump(&c.gso, drops[stGSO])
	bump(&c.badHdr, drops[stBadHdr])
	return n
}

// readChain copies the frame of the chain at head into frame, after the
// virtio-net header, and returns its length. The header is checked: no
// segmentation (never negotiated); a checksum left to the device is
// completed here, so the frame leaves the switch correct.
func (r *vring) readChain(head uint16, frame []byte) (int, status) {
	var hdr [netHdrMrgLen]byte
	hl := 0 // header bytes read
	off := 0
	oversize := false
	var c chain
	r.start(&c, head)
	for {
		addr, n, flags, st := r.next(&c)
		if st == stEnd {
			break
		}
		if st != stOK {
			return 0, st
		}
		if flags&vringDescFWrite != 0 {
			return 0, stBadDesc // the guest's transmit buffers are read-only to us
		}
		if hl < r.hdrLen {
			h := min(r.hdrLen-hl, int(n))
			if !r.mem.read(hdr[hl:hl+h], addr) {
				return 0, stBadAddr
			}
			hl += h
			addr += uint64(h)
			n -= uint32(h)
		}
		if n == 0 {
			continue
		}
		if oversize || int(n) > len(frame)-off {
			// Walk on to find a malformed chain, but copy nothing more.
			if !r.mem.mapped(addr, uint64(n)) {
				return 0, stBadAddr
			}
			oversize = true
			continue
		}
		if !r.mem.read(frame[off:off+int(n)], addr) {
			return 0, stBadAddr
		}
		off += int(n)
	}
	switch {
	case hl < r.hdrLen:
		return 0, stBadDesc // the chain is shorter than the header
	case oversize:
		return 0, stOversize
	case off < ethHeader:
		return 0, stRunt
	case hdr[1] != netHdrGSONone:
		return 0, stGSO
	case hdr[0]&netHdrFlagNeedsCsum != 0:
		if !completeChecksum(frame[:off], le.Uint16(hdr[6:]), le.Uint16(hdr[8:])) {
			return 0, stBadHdr
		}
	}
	return off, stOK
}

// completeChecksum finishes a checksum the guest left partial
// (VIRTIO_NET_HDR_F_NEEDS_CSUM): the 16-bit one's complement sum from
// start to the end of the frame, stored at start+off, which holds the
// pseudo-header sum. As Linux's skb_checksum_help does, a result of 0 is
// sent as 0xffff (equivalent for TCP, required for UDP).
func completeChecksum(p []byte, start, off uint16) bool {
	s, o := int(start), int(start)+int(off)
	if s >= len(p) || o+2 > len(p) || o < s {
		return false
	}
	var sum uint64
	b := p[s:]
	for len(b) >= 2 {
		sum += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	v := ^uint16(sum)
	if v == 0 {
		v = 0xffff
	}
	p[o], p[o+1] = byte(v>>8), byte(v)
	return true
}
