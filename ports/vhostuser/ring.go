package vhostuser

// Split virtqueue layout (virtio 1.2, 2.7): a descriptor table of num
// 16-byte entries {addr u64, len u32, flags u16, next u16}; the avail ring
// {flags u16, idx u16, ring [num]u16, used_event u16} written by the
// driver (the guest); the used ring {flags u16, idx u16, ring [num]{id
// u32, len u32}, avail_event u16} written by the device (the switch).
const (
	descSize     = 16
	ringHdr      = 4 // flags and idx
	usedElemSize = 8
)

// vring is one running split virtqueue, as the data path sees it. It is
// built by the control plane when the ring starts and handed over through
// a vqSlot; from then on only the goroutine holding the slot's lock reads
// or writes it. Its slices are views of guest memory, checked to lie
// within one region each when the ring was built.
type vring struct {
	mem   *guestMem
	num   uint16 // a power of two; 0 means 65536 never happens (max 32768)
	mask  uint16
	desc  []byte
	avail []byte
	used  []byte

	lastAvail uint16 // next avail entry to consume
	lastUsed  uint16 // next used entry to fill; published as used->idx
	usedFlags uint16 // what the backend last wrote to used->flags

	hdrLen    int  // virtio-net header: 10 or 12 bytes
	mergeable bool // VIRTIO_NET_F_MRG_RXBUF
	eventIdx  bool // VIRTIO_RING_F_EVENT_IDX
	indirect  bool // VIRTIO_RING_F_INDIRECT_DESC
	// host and guest are the offloads negotiated for frames the guest
	// transmits and receives (hostCaps, guestCaps); 0 when none.
	host, guest caps

	callFD int // eventfd to interrupt the guest; -1: none
	kickFD int // eventfd the guest kicks; -1: none

	// broken is set when the guest's avail index runs more than num
	// entries ahead: the ring is corrupt and is not touched again until
	// the front-end sets it up anew.
	broken bool
	// notify says guest kicks are enabled (guest-tx rings only), idle
	// counts consecutive empty polls.
	notify bool
	idle   int
	ev     [8]byte // eventfd read/write buffer
}

// ringSizes are the byte sizes of the three parts of a ring of num entries.
func ringSizes(num uint16) (desc, avail, used uint64) {
	n := uint64(num)
	return n * descSize, ringHdr + 2*n + 2, ringHdr + usedElemSize*n + 2
}

// availIdx loads avail->idx (acquire).
func (r *vring) availIdx() uint16 { return uint16(loadWord(r.avail) >> 16) }

// availFlags loads avail->flags.
func (r *vring) availFlags() uint16 { return uint16(loadWord(r.avail)) }

// availEntry reads avail->ring[i mod num]: a descriptor head.
func (r *vring) availEntry(i uint16) uint16 {
	return le.Uint16(r.avail[ringHdr+2*int(i&r.mask):])
}

// usedEvent reads used_event, the used index at which the guest wants
// its next interrupt (EVENT_IDX).
func (r *vring) usedEvent() uint16 { return le.Uint16(r.avail[ringHdr+2*int(r.num):]) }

// setAvailEvent writes avail_event, the avail index at which the backend
// wants its next kick (EVENT_IDX).
func (r *vring) setAvailEvent(v uint16) { le.PutUint16(r.used[ringHdr+usedElemSize*int(r.num):], v) }

// putUsed writes used element lastUsed and advances lastUsed; the guest
// sees it at the next publishUsed.
func (r *vring) putUsed(id uint16, n uint32) {
	e := r.used[ringHdr+usedElemSize*int(r.lastUsed&r.mask):]
	le.PutUint32(e, uint32(id))
	le.PutUint32(e[4:], n)
	r.lastUsed++
}

// publishUsed stores used->flags and used->idx (release, full barrier).
func (r *vring) publishUsed() {
	storeWord(r.used, uint32(r.usedFlags)|uint32(r.lastUsed)<<16)
}

// wantsCall reports whether the guest asked to be interrupted now that
// used->idx moved from old to r.lastUsed; publishUsed must come first.
func (r *vring) wantsCall(old uint16) bool {
	if r.eventIdx {
		// vring_need_event: the guest's used_event lies in (old, new].
		return r.lastUsed-r.usedEvent()-1 < r.lastUsed-old
	}
	return r.availFlags()&vringAvailFNoInterupt == 0
}

// finish publishes the used entries added since old and interrupts the
// guest if it asked for it; it reports whether it did.
func (r *vring) finish(old uint16) bool {
	if r.lastUsed == old {
		return false
	}
	r.publishUsed()
	if r.callFD >= 0 && r.wantsCall(old) {
		signal(r.callFD, &r.ev)
		return true
	}
	return false
}

// enableNotify asks the guest to kick on its next avail update and clears
// a pending kick, so that a worker waiting in epoll on the kick eventfd
// wakes for new frames only. The caller polls the ring again afterwards:
// frames made available before the guest saw the request bring no kick.
func (r *vring) enableNotify() {
	if r.eventIdx {
		r.setAvailEvent(r.lastAvail)
	} else {
		r.usedFlags &^= vringUsedFNoNotify
	}
	r.publishUsed()
	r.notify = true
	if r.kickFD >= 0 {
		drain(r.kickFD, &r.ev)
	}
}

// disableNotify tells the guest it need not kick: the backend is polling.
// With EVENT_IDX the avail_event left behind costs at most one more kick.
func (r *vring) disableNotify() {
	r.notify = false
	if !r.eventIdx {
		r.usedFlags |= vringUsedFNoNotify
		r.publishUsed()
	}
}

// pending is the number of avail entries not consumed yet. ok is false
// for a broken ring: one whose guest index ran more than num entries
// ahead, which is marked broken by the call that finds it (newly true).
func (r *vring) pending() (n uint16, ok, newly bool) {
	if r.broken {
		return 0, false, false
	}
	n = r.availIdx() - r.lastAvail
	if n > r.num {
		r.broken = true
		return 0, false, true
	}
	return n, true, false
}

// Outcomes of walking a descriptor chain.
type status int

const (
	stOK         status = iota
	stEnd               // the chain has no more buffers
	stBadDesc           // malformed chain: index out of range, loop, wrong direction, bad indirect table
	stBadAddr           // a buffer outside guest memory
	stOversize          // the frame does not fit a pipeline buffer
	stRunt              // shorter than an Ethernet header
	stGSO               // a segmentation offload that was not negotiated
	stBadHdr            // a virtio-net header that is refused or does not fit its frame
	stFull              // no receive buffer left in the guest's ring
	stNoRoom            // a frame longer than a receive buffer, without mergeable buffers
	stNoBuffer          // the pool ran dry in the middle of a frame
	stBadOffload        // a frame's offload metadata cannot be honoured (tx)
	nStatus
)

// chain walks one descriptor chain, following at most one indirect table,
// and visits at most as many descriptors as the table holds, so a chain
// that loops ends as stBadDesc.
type chain struct {
	table    []byte // the ring's descriptor table or an indirect one
	n        uint32 // entries in table
	i        uint32 // next entry
	left     uint32 // entries that may still be visited
	inIndir  bool
	finished bool
}

// start positions c at descriptor head of the ring's table.
func (r *vring) start(c *chain, head uint16) {
	*c = chain{table: r.desc, n: uint32(r.num), i: uint32(head), left: uint32(r.num)}
}

// next returns the chain's next buffer.
func (r *vring) next(c *chain) (addr uint64, n uint32, flags uint16, st status) {
	for {
		if c.finished {
			return 0, 0, 0, stEnd
		}
		if c.i >= c.n || c.left == 0 {
			return 0, 0, 0, stBadDesc
		}
		c.left--
		d := c.table[descSize*int(c.i):]
		addr, n, flags = le.Uint64(d), le.Uint32(d[8:]), le.Uint16(d[12:])
		next := le.Uint16(d[14:])
		if flags&vringDescFIndirect == 0 {
			if flags&vringDescFNext != 0 {
				c.i = uint32(next)
			} else {
				c.finished = true
			}
			if addr+uint64(n) < addr {
				return 0, 0, 0, stBadAddr
			}
			return addr, n, flags, stOK
		}
		// An indirect table: only when negotiated, only as the last
		// descriptor of the ring's chain, never nested, whole entries,
		// no longer than the ring.
		if !r.indirect || c.inIndir || flags&vringDescFNext != 0 ||
			n == 0 || n%descSize != 0 || n/descSize > uint32(r.num) {
			return 0, 0, 0, stBadDesc
		}
		t, ok := r.mem.gpa(addr, uint64(n))
		if !ok {
			return 0, 0, 0, stBadAddr
		}
		*c = chain{table: t, n: n / descSize, left: n / descSize, inIndir: true}
	}
}
