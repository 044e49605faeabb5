package vhostuser

// region is one guest memory region mapped into the switch.
type region struct {
	gpa, uva, size uint64
	// offset is where the region starts in its file.
	offset uint64
	// data is the region itself: len(data) == size. mapping is what was
	// mmap'd (the file from offset 0), unmapped when the table goes.
	data    []byte
	mapping []byte
	// fd is the region's file, kept open with the table so that the port
	// can be handed to another process (Port.Handover), closed with the
	// table; -1 if none.
	fd int
}

// guestMem is the memory table of one connection. It is immutable once
// published to the data path: SET_MEM_TABLE builds a new one. Every guest
// address the data path touches goes through gpa or read/write, which
// check it against the regions, so no guest-supplied address or length can
// make the switch touch memory outside them.
type guestMem struct {
	regions []region
}

// find returns the region holding guest-physical address addr.
func (m *guestMem) find(addr uint64) *region {
	for i := range m.regions {
		r := &m.regions[i]
		if addr-r.gpa < r.size { // unsigned: also false when addr < r.gpa
			return r
		}
	}
	return nil
}

// gpa returns the n bytes at guest-physical address addr, which must lie
// within one region; ok is false otherwise.
func (m *guestMem) gpa(addr, n uint64) ([]byte, bool) {
	r := m.find(addr)
	if r == nil {
		return nil, false
	}
	off := addr - r.gpa
	if n > r.size-off {
		return nil, false
	}
	return r.data[off : off+n : off+n], true
}

// uva returns the n bytes at front-end virtual address addr (ring
// addresses in SET_VRING_ADDR are given that way), within one region.
func (m *guestMem) uva(addr, n uint64) ([]byte, bool) {
	for i := range m.regions {
		r := &m.regions[i]
		off := addr - r.uva
		if off < r.size && n <= r.size-off {
			return r.data[off : off+n : off+n], true
		}
	}
	return nil, false
}

// mapped reports whether every byte of [addr, addr+n) is guest memory,
// across adjacent regions.
func (m *guestMem) mapped(addr, n uint64) bool {
	for n > 0 {
		r := m.find(addr)
		if r == nil {
			return false
		}
		c := min(n, r.size-(addr-r.gpa))
		addr += c
		n -= c
	}
	return true
}

// read copies len(dst) bytes from guest-physical address addr into dst,
// following the range across adjacent regions. It reports false, having
// copied some bytes perhaps, if any byte of the range is not guest memory.
func (m *guestMem) read(dst []byte, addr uint64) bool {
	for len(dst) > 0 {
		r := m.find(addr)
		if r == nil {
			return false
		}
		off := addr - r.gpa
		c := copy(dst, r.data[off:])
		dst = dst[c:]
		addr += uint64(c)
	}
	return true
}

// write copies src to guest-physical address addr, as read does.
func (m *guestMem) write(addr uint64, src []byte) bool {
	for len(src) > 0 {
		r := m.find(addr)
		if r == nil {
			return false
		}
		off := addr - r.gpa
		c := copy(r.data[off:], src)
		src = src[c:]
		addr += uint64(c)
	}
	return true
}
