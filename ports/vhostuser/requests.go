package vhostuser

import "fmt"

// The backend's handlers of the requests that change device state. Each
// stops the rings it affects, changes the state and starts them again
// (rings.go), so a running ring never sees a half-made change.

// setFeatures acknowledges virtio features (a subset of those offered);
// running rings are rebuilt with the header length they imply.
func (b *backend) setFeatures(f uint64) error {
	if f&^b.offered != 0 {
		return protoErr("SET_FEATURES %#x: %#x not offered", f, f&^b.offered)
	}
	b.stopAll()
	b.features = f
	b.startAll()
	return nil
}

// setMemTable maps a new memory table and swaps it in under the rings,
// which are stopped meanwhile and translated anew (memory hot-plug sends
// it while the guest runs); the old table is unmapped once no ring uses it.
func (b *backend) setMemTable(m *message) error {
	regs, err := decodeMemTable(m.payload)
	if err != nil {
		return err
	}
	mem := &guestMem{regions: make([]region, 0, len(regs))}
	for i, r := range regs {
		mapping, data, err := b.sys.mapRegion(m.fds[i], r.offset, r.size)
		if err != nil {
			b.unmap(mem)
			return fmt.Errorf("%w: SET_MEM_TABLE region %d: %w", ErrProtocol, i, err)
		}
		mem.regions = append(mem.regions, region{gpa: r.gpa, uva: r.uva, size: r.size, offset: r.offset, data: data, mapping: mapping, fd: -1})
	}
	// The table keeps the descriptors (a handover passes them on) and
	// closes them when it goes.
	for i := range mem.regions {
		mem.regions[i].fd, m.fds[i] = m.fds[i], -1
	}
	b.stopAll()
	old := b.mem
	b.mem = mem
	b.startAll()
	b.unmap(old)
	return nil
}

// vq returns virtqueue i, or a protocol error for an index out of range.
func (b *backend) vq(req uint32, i uint32) (*vqState, error) {
	if i >= uint32(len(b.vqs)) {
		return nil, protoErr("%s: virtqueue %d, the device has %d", reqName(req), i, len(b.vqs))
	}
	return &b.vqs[i], nil
}

// setVringState handles SET_VRING_NUM, SET_VRING_BASE and
// SET_VRING_ENABLE.
func (b *backend) setVringState(req uint32, s vringState) error {
	v, err := b.vq(req, s.index)
	if err != nil {
		return err
	}
	i := int(s.index)
	switch req {
	case reqSetVringNum:
		if s.num == 0 || s.num > maxRingSize || s.num&(s.num-1) != 0 {
			return protoErr("SET_VRING_NUM %d: want a power of two up to %d", s.num, maxRingSize)
		}
	case reqSetVringBase:
		if s.num > 0xffff {
			return protoErr("SET_VRING_BASE %#x: packed rings are not supported", s.num)
		}
	case reqSetVringEnable:
		if s.num > 1 {
			return protoErr("SET_VRING_ENABLE %d: want 0 or 1", s.num)
		}
	}
	b.stop(i)
	switch req {
	case reqSetVringNum:
		v.num = s.num
	case reqSetVringBase:
		v.base = uint16(s.num)
	case reqSetVringEnable:
		v.enabled = s.num == 1
	}
	b.start(i)
	return nil
}

// setVringAddr records a ring's front-end virtual addresses; they are
// translated and checked when the ring starts.
func (b *backend) setVringAddr(a vringAddr) error {
	v, err := b.vq(reqSetVringAddr, a.index)
	if err != nil {
		return err
	}
	// VHOST_VRING_F_LOG asks for dirty logging, which is not offered.
	b.stop(int(a.index))
	v.addr, v.hasAddr = a, true
	b.start(int(a.index))
	return nil
}

// getVringBase stops a ring and returns where it stopped. The ring stays
// stopped until its next SET_VRING_KICK.
func (b *backend) getVringBase(index uint32) (uint32, error) {
	v, err := b.vq(reqGetVringBase, index)
	if err != nil {
		return 0, err
	}
	b.stop(int(index))
	v.started = false
	b.closeFD(&v.kick)
	return uint32(v.base), nil
}

// setVringFD handles SET_VRING_KICK, SET_VRING_CALL and SET_VRING_ERR: it
// takes the eventfd (or none, with the no-fd bit) and closes the one it
// replaces. A kick eventfd starts the ring.
func (b *backend) setVringFD(req uint32, p uint64, fds []int) error {
	v, err := b.vq(req, uint32(p&vringIdxMask))
	if err != nil {
		return err
	}
	fd := -1
	if p&vringNoFD == 0 {
		fd, fds[0] = fds[0], -1
	}
	i := int(p & vringIdxMask)
	switch req {
	case reqSetVringErr:
		// Errors are never reported; the descriptor is not needed.
		if fd >= 0 {
			b.sys.closeFD(fd)
		}
		return nil
	case reqSetVringKick:
		if fd >= 0 {
			if err := b.sys.prepareKick(fd); err != nil {
				b.sys.closeFD(fd)
				return fmt.Errorf("%w: SET_VRING_KICK %d: %w", ErrProtocol, i, err)
			}
		}
		b.stop(i)
		b.closeFD(&v.kick)
		v.kick, v.started = fd, true
	case reqSetVringCall:
		b.stop(i)
		b.closeFD(&v.call)
		v.call = fd
	}
	b.start(i)
	return nil
}
