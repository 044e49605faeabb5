package vhostuser

import (
	"testing"
)

// drvRing is the guest's side of one split virtqueue, as the tests play
// it: a virtio driver working on a byte slice that stands for guest
// memory (heap memory in unit tests, a memfd in front-end tests). Buffer
// i is a fixed area of bufSize bytes for descriptor i.
type drvRing struct {
	mem     []byte
	base    uint64 // guest-physical address of mem[0]
	num     uint16
	desc    int // offsets of the ring parts in mem
	avail   int
	used    int
	bufs    int
	bufSize int
	next    uint16 // the driver's avail index
	seen    uint16 // used entries consumed
	free    []uint16
	chains  map[uint16][]uint16
}

func align(n, a int) int { return (n + a - 1) / a * a }

// newDrvRing lays out a ring of num entries and num buffers in mem from
// offset off and returns it with the first offset after it.
func newDrvRing(mem []byte, base uint64, off int, num uint16, bufSize int) (*drvRing, int) {
	d := &drvRing{mem: mem, base: base, num: num, bufSize: bufSize, chains: map[uint16][]uint16{}}
	d.desc = align(off, 16)
	d.avail = d.desc + descSize*int(num)
	d.used = align(d.avail+6+2*int(num), 4)
	d.bufs = align(d.used+6+usedElemSize*int(num), 64)
	for i := range num {
		d.free = append(d.free, i)
	}
	return d, d.bufs + int(num)*bufSize
}

func (d *drvRing) gpa(off int) uint64 { return d.base + uint64(off) }

// bufAt is the offset of descriptor i's buffer.
func (d *drvRing) bufAt(i uint16) int { return d.bufs + int(i)*d.bufSize }

// parts returns the three ring parts as slices of mem.
func (d *drvRing) parts() (desc, avail, used []byte) {
	ds, as, us := ringSizes(d.num)
	return d.mem[d.desc : d.desc+int(ds)], d.mem[d.avail : d.avail+int(as)], d.mem[d.used : d.used+int(us)]
}

func (d *drvRing) setDesc(i uint16, addr uint64, n uint32, flags, next uint16) {
	b := d.mem[d.desc+descSize*int(i):]
	le.PutUint64(b, addr)
	le.PutUint32(b[8:], n)
	le.PutUint16(b[12:], flags)
	le.PutUint16(b[14:], next)
}

// addAvail puts head in the avail ring; publish makes it visible.
func (d *drvRing) addAvail(head uint16) {
	le.PutUint16(d.mem[d.avail+ringHdr+2*int(d.next%d.num):], head)
	d.next++
}

func (d *drvRing) publish() {
	w := loadWord(d.mem[d.avail:])
	storeWord(d.mem[d.avail:], w&0xffff|uint32(d.next)<<16)
}

// setAvailIdx publishes an arbitrary avail index (a lying guest).
func (d *drvRing) setAvailIdx(v uint16) {
	w := loadWord(d.mem[d.avail:])
	storeWord(d.mem[d.avail:], w&0xffff|uint32(v)<<16)
}

func (d *drvRing) setAvailFlags(f uint16) {
	w := loadWord(d.mem[d.avail:])
	storeWord(d.mem[d.avail:], w&0xffff0000|uint32(f))
}

func (d *drvRing) setUsedEvent(v uint16) {
	le.PutUint16(d.mem[d.avail+ringHdr+2*int(d.num):], v)
}

func (d *drvRing) availEvent() uint16 {
	return le.Uint16(d.mem[d.used+ringHdr+usedElemSize*int(d.num):])
}

func (d *drvRing) usedFlags() uint16 { return uint16(loadWord(d.mem[d.used:])) }
func (d *drvRing) usedIdx() uint16   { return uint16(loadWord(d.mem[d.used:]) >> 16) }

func (d *drvRing) usedElem(i uint16) (id, n uint32) {
	e := d.mem[d.used+ringHdr+usedElemSize*int(i%d.num):]
	return le.Uint32(e), le.Uint32(e[4:])
}

func (d *drvRing) take() uint16 {
	i := d.free[0]
	d.free = d.free[1:]
	return i
}

// txFrame queues frame for transmission behind a zero header of hdrLen
// bytes: in one descriptor, or (split) the header in one and the frame in
// a second, chained. It returns the head.
func (d *drvRing) txFrame(t testing.TB, frame []byte, hdr []byte, split bool) uint16 {
	t.Helper()
	head := d.take()
	if !split {
		o := d.bufAt(head)
		n := copy(d.mem[o:], hdr)
		n += copy(d.mem[o+n:o+d.bufSize], frame)
		d.setDesc(head, d.gpa(o), uint32(n), 0, 0)
		d.chains[head] = []uint16{head}
	} else {
		second := d.take()
		o := d.bufAt(head)
		copy(d.mem[o:], hdr)
		d.setDesc(head, d.gpa(o), uint32(len(hdr)), vringDescFNext, second)
		o2 := d.bufAt(second)
		copy(d.mem[o2:o2+d.bufSize], frame)
		d.setDesc(second, d.gpa(o2), uint32(len(frame)), 0, 0)
		d.chains[head] = []uint16{head, second}
	}
	d.addAvail(head)
	return head
}

// reclaim consumes the used entries the device published and frees their
// descriptors; it returns the elements.
func (d *drvRing) reclaim() [][2]uint32 {
	var out [][2]uint32
	for idx := d.usedIdx(); d.seen != idx; d.seen++ {
		id, n := d.usedElem(d.seen)
		out = append(out, [2]uint32{id, n})
		if ch, ok := d.chains[uint16(id)]; ok {
			d.free = append(d.free, ch...)
			delete(d.chains, uint16(id))
		}
	}
	return out
}

// postRx makes n free descriptors available as device-writable receive
// buffers of size bytes (at most bufSize).
func (d *drvRing) postRx(n int, size uint32) {
	for range n {
		i := d.take()
		d.setDesc(i, d.gpa(d.bufAt(i)), size, vringDescFWrite, 0)
		d.chains[i] = []uint16{i}
		d.addAvail(i)
	}
	d.publish()
}

// rxFrames collects the frames the device delivered, joining mergeable
// buffers by the header's num_buffers, and frees their descriptors. It
// also returns the headers.
func (d *drvRing) rxFrames(t testing.TB, hdrLen int) (frames, hdrs [][]byte) {
	t.Helper()
	used := d.reclaim()
	for len(used) > 0 {
		id, n := used[0][0], used[0][1]
		b := d.mem[d.bufAt(uint16(id)):]
		if int(n) < hdrLen {
			t.Fatalf("used entry of %d bytes, shorter than the header", n)
		}
		hdr := append([]byte(nil), b[:hdrLen]...)
		frame := append([]byte(nil), b[hdrLen:n]...)
		nb := 1
		if hdrLen == netHdrMrgLen {
			nb = int(le.Uint16(hdr[10:]))
		}
		if nb < 1 || nb > len(used) {
			t.Fatalf("num_buffers %d with %d used entries", nb, len(used))
		}
		for _, u := range used[1:nb] {
			frame = append(frame, d.mem[d.bufAt(uint16(u[0])):][:u[1]]...)
		}
		used = used[nb:]
		frames, hdrs = append(frames, frame), append(hdrs, hdr)
	}
	return frames, hdrs
}

// u64 and state encode request payloads.
func u64(v uint64) []byte { return le.AppendUint64(nil, v) }

func state(i, n uint32) []byte { return le.AppendUint32(le.AppendUint32(nil, i), n) }
