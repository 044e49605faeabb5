package vhostuser

import "fmt"

// Starting and stopping rings: the backend hands a ring to the data path
// through its slot when everything it needs is known, and takes it back
// before anything it depends on changes.

func (b *backend) stopAll() {
	for i := range b.vqs {
		b.stop(i)
	}
}

func (b *backend) startAll() {
	for i := range b.vqs {
		b.start(i)
	}
}

// stop takes ring i away from the data path, keeping where it stopped.
func (b *backend) stop(i int) {
	v := &b.vqs[i]
	if !v.running {
		return
	}
	old := b.slots[i].swap(nil)
	v.running = false
	if old != nil {
		v.base = old.lastAvail
	}
	if i%2 == 1 {
		if fd := b.watchFD(i, v); fd >= 0 {
			b.sys.unwatch(b.pollFDs[i/2], fd)
		}
	}
	if i%2 == 0 {
		b.updateTxMap()
	}
}

// watchFD is what the rx queue of guest transmit ring i waits on: the
// kick eventfd, or, for a front-end in polling mode (no kick eventfd), an
// eventfd that is always readable, so that a worker never sleeps while
// such a ring runs.
func (b *backend) watchFD(i int, v *vqState) int {
	if v.kick >= 0 {
		return v.kick
	}
	return b.busyFDs[i/2]
}

// start hands ring i to the data path if it can run: memory, size,
// addresses and a kick are known and it is enabled (always, without
// VHOST_USER_F_PROTOCOL_FEATURES). A ring whose addresses are not in
// guest memory is not started; the front-end is told nothing (the
// protocol has no way to) but it is logged.
func (b *backend) start(i int) { b.startAt(i, nil) }

// runnable reports whether ring i has all it needs to run.
func (b *backend) runnable(i int) bool {
	v := &b.vqs[i]
	enabled := v.enabled || b.features&bit(featProtocolFeatures) == 0
	return b.mem != nil && v.num != 0 && v.hasAddr && v.started && enabled
}

// startAt starts ring i as start does; with at (a port adopted from
// another process), at the position where the other process stopped it,
// and without an announce (the other process made it).
func (b *backend) startAt(i int, at *RingState) {
	v := &b.vqs[i]
	if v.running || !b.runnable(i) {
		return
	}
	r, err := b.buildRing(i, v, at)
	if err != nil {
		b.log.Warn("vhost-user: ring not started", "port", b.name, "vq", i, "err", err)
		return
	}
	if fd := b.watchFD(i, v); i%2 == 1 && fd >= 0 {
		if err := b.sys.watch(b.pollFDs[i/2], fd); err != nil {
			b.log.Warn("vhost-user: cannot watch kick eventfd; the queue is polled only", "port", b.name, "vq", i, "err", err)
		}
	}
	b.slots[i].swap(r)
	v.running = true
	if i%2 == 0 {
		b.updateTxMap()
	}
	if i == 1 && b.mac != 0 && at == nil {
		b.announce.Store(b.mac | announcePending)
	}
}

// ringParts translates a ring's addresses into its three parts in guest
// memory, checking that each lies in one region and is aligned. It
// touches no guest memory.
func (b *backend) ringParts(v *vqState) (desc, avail, used []byte, err error) {
	ds, as, us := ringSizes(uint16(v.num))
	desc, ok1 := b.mem.uva(v.addr.desc, ds)
	avail, ok2 := b.mem.uva(v.addr.avail, as)
	used, ok3 := b.mem.uva(v.addr.used, us)
	switch {
	case !ok1 || !ok2 || !ok3:
		return nil, nil, nil, fmt.Errorf("ring of %d at desc %#x avail %#x used %#x is not all in guest memory",
			v.num, v.addr.desc, v.addr.avail, v.addr.used)
	case !aligned(avail, 4) || !aligned(used, 4):
		return nil, nil, nil, fmt.Errorf("avail ring %#x or used ring %#x is not 4-byte aligned", v.addr.avail, v.addr.used)
	}
	return desc, avail, used, nil
}

// buildRing translates ring i's addresses and makes its vring, at v.base
// and the used index in guest memory, or where at says.
func (b *backend) buildRing(i int, v *vqState, at *RingState) (*vring, error) {
	desc, avail, used, err := b.ringParts(v)
	if err != nil {
		return nil, err
	}
	num := uint16(v.num)
	f := b.features
	r := &vring{
		mem: b.mem, num: num, mask: num - 1, desc: desc, avail: avail, used: used,
		lastAvail: v.base, lastUsed: uint16(loadWord(used) >> 16),
		hdrLen: netHdrLen, mergeable: f&bit(featNetMRGRxBuf) != 0,
		eventIdx: f&bit(featRingEventIdx) != 0, indirect: f&bit(featRingIndirectDesc) != 0,
		callFD: v.call, kickFD: v.kick,
		host: hostCaps(f), guest: guestCaps(f),
	}
	if r.mergeable || f&bit(featVersion1) != 0 {
		r.hdrLen = netHdrMrgLen
	}
	if at != nil {
		r.lastAvail, r.lastUsed, r.broken = at.LastAvail, at.LastUsed, at.Broken
	}
	if i%2 == 1 {
		// The guest's transmit ring starts with kicks on: the worker
		// may be asleep.
		r.notify = true
		if r.eventIdx {
			r.setAvailEvent(r.lastAvail)
		}
	} else if !r.eventIdx {
		// Receive buffers are taken when there is something to send:
		// the guest need not kick when it adds some.
		r.usedFlags = vringUsedFNoNotify
	}
	r.publishUsed()
	return r, nil
}

// updateTxMap points every tx queue at a running guest receive ring: its
// own pair's if that runs, else one of those that do, shared.
func (b *backend) updateTxMap() {
	var on []int32
	for p := range b.pairs {
		if b.vqs[2*p].running {
			on = append(on, int32(p))
		}
	}
	for q := range b.txMap {
		t := int32(-1)
		switch {
		case b.vqs[2*q].running:
			t = int32(q)
		case len(on) > 0:
			t = on[q%len(on)]
		}
		b.txMap[q].Store(t)
	}
}
