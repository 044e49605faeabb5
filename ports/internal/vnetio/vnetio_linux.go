package vnetio

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// ethHeader and vlanTag size the largest frame.
const (
	ethHeader = 14
	vlanTag   = 4
)

// MaxFrame is the longest frame a read can bring: a 64 KiB IP packet
// behind an Ethernet header and one VLAN tag.
const MaxFrame = 65535 + ethHeader + vlanTag

// MaxPieces is the number of buffers that hold MaxFrame: the first holds
// pipeline.MaxPacket bytes after its headroom, the others a whole
// pipeline.FrameSize each.
const MaxPieces = 1 + (MaxFrame-pipeline.MaxPacket+pipeline.FrameSize-1)/pipeline.FrameSize

// readCap is how many bytes one read can bring: the header and MaxPieces
// buffers' worth of frame.
const readCap = offload.HdrLen + pipeline.MaxPacket + (MaxPieces-1)*pipeline.FrameSize

// Result is what one Read did.
type Result uint8

// Read results.
const (
	// Got: a frame, its chain's first buffer returned.
	Got Result = iota
	// Empty: nothing to read (EAGAIN or EINTR).
	Empty
	// NoBuffer: the pool could not fill the reserve; nothing was read.
	NoBuffer
	// Oversize: a frame longer than MaxFrame, truncated and dropped.
	Oversize
	// Invalid: a runt, or a header that does not describe its frame;
	// dropped.
	Invalid
	// Failed: the read failed; the errno says why.
	Failed
)

// Reader reads frames from one descriptor into pool chains.
type Reader struct {
	fd      int
	pool    *pipeline.Pool
	reserve [MaxPieces]pipeline.BufID
	have    int
	iov     [MaxPieces]unix.Iovec
	pm      *packetMsg // a packet socket's reader (NewPacketReader); nil: readv
}

// NewReader reads from fd into buffers of pool.
func NewReader(fd int, pool *pipeline.Pool) *Reader { return &Reader{fd: fd, pool: pool} }

// Close gives the reserve back to the pool (GiveBack: safe from the
// control plane while the pool's worker goes on).
func (r *Reader) Close() {
	r.pool.GiveBack(r.reserve[:r.have])
	r.have = 0
}

// refill tops the reserve up and points the iovecs at it; false if the
// pool ran short (the reserve keeps what it got).
func (r *Reader) refill() bool {
	if r.have < MaxPieces {
		r.have += r.pool.AllocN(r.reserve[r.have:])
		if r.have < MaxPieces {
			return false
		}
	}
	_, mem := r.pool.Arrays()
	for i, id := range r.reserve {
		fr := pipeline.FrameAt(mem, id)
		if i == 0 {
			fr = fr[pipeline.Headroom-offload.HdrLen:]
		}
		r.iov[i].Base = &fr[0]
		r.iov[i].SetLen(len(fr))
	}
	return true
}

// Read reads one frame with one readv(2) (a packet Reader: one
// recvmsg(2), and the frame's VLAN tag put back). On Got, id is the
// chain's first buffer and size the frame's length; on Failed, errno
// says why.
func (r *Reader) Read() (id pipeline.BufID, size int, res Result, errno unix.Errno) {
	if !r.refill() {
		return 0, 0, NoBuffer, 0
	}
	var n uintptr
	var e unix.Errno
	if r.pm != nil {
		n, e = r.recvmsg()
	} else {
		n, _, e = unix.Syscall(unix.SYS_READV, uintptr(r.fd), uintptr(unsafe.Pointer(&r.iov[0])), MaxPieces)
	}
	if e != 0 {
		if e == unix.EAGAIN || e == unix.EINTR {
			return 0, 0, Empty, 0
		}
		return 0, 0, Failed, e
	}
	got := int(n)
	if got >= readCap {
		return 0, 0, Oversize, 0
	}
	size = got - offload.HdrLen
	if size < ethHeader {
		return 0, 0, Invalid, 0
	}
	meta, mem := r.pool.Arrays()
	head := r.reserve[0]
	var h offload.VnetHdr
	if h.Decode(pipeline.FrameAt(mem, head)[pipeline.Headroom-offload.HdrLen:pipeline.Headroom]) != nil || !fits(&h, size) {
		return 0, 0, Invalid, 0
	}
	k := r.chain(meta, size)
	m := &meta[head]
	m.GSOType, m.GSOSize = h.GSOType, h.GSOSize
	m.CsumStart, m.CsumOff = h.CsumStart, h.CsumOffset
	if h.Flags&offload.FlagNeedsCsum != 0 {
		m.Offload |= pipeline.OffloadCsumPartial
	}
	if h.Flags&offload.FlagDataValid != 0 {
		m.Offload |= pipeline.OffloadCsumValid
	}
	if h.GSOType&^offload.GSOECN != offload.GSONone {
		m.Offload |= pipeline.OffloadGSO
	}
	if r.pm != nil {
		if tpid, tci, ok := r.pm.tag(); ok {
			insertTag(mem, head, m, tpid, tci)
			size += vlanTag
		}
	}
	copy(r.reserve[:], r.reserve[k:r.have])
	r.have -= k
	return head, size, Got, 0
}

// fits reports whether header h can describe a frame of size bytes: a
// partial checksum's field inside the frame, and a GSO frame with a
// segment size.
func fits(h *offload.VnetHdr, size int) bool {
	if h.Flags&offload.FlagNeedsCsum != 0 && int(h.CsumStart)+int(h.CsumOffset)+2 > size {
		return false
	}
	return h.GSOType&^offload.GSOECN == offload.GSONone || h.GSOSize != 0
}

// chain links the first buffers of the reserve into one frame of size
// bytes and returns how many it used.
func (r *Reader) chain(meta []pipeline.Meta, size int) int {
	first := min(size, pipeline.MaxPacket)
	meta[r.reserve[0]] = pipeline.Meta{Off: pipeline.Headroom, Len: uint16(first)}
	left, k := size-first, 1
	for ; left > 0; k++ {
		l := min(left, pipeline.FrameSize)
		meta[r.reserve[k]] = pipeline.Meta{Len: uint16(l)}
		meta[r.reserve[k-1]].Next = uint32(r.reserve[k]) + 1
		left -= l
	}
	return k
}

// Writer writes frames from pool chains to one descriptor.
type Writer struct {
	fd  int
	hdr [offload.HdrLen]byte
	iov [MaxPieces + 1]unix.Iovec
}

// NewWriter writes to fd.
func NewWriter(fd int) *Writer { return &Writer{fd: fd} }

// Write writes the frame whose chain starts at id, with a header made
// from its metadata, in one writev(2); it does not free it. size is the
// frame's length; tooLong reports a chain longer than any frame (nothing
// written). errno is the write's (EINTR is the caller's to retry).
func (w *Writer) Write(pool *pipeline.Pool, id pipeline.BufID) (size int, tooLong bool, errno unix.Errno) {
	meta, mem := pool.Arrays()
	m := &meta[id]
	h := offload.VnetHdr{GSOType: m.GSOType, GSOSize: m.GSOSize, CsumStart: m.CsumStart, CsumOffset: m.CsumOff}
	if m.Offload&pipeline.OffloadCsumPartial != 0 {
		h.Flags |= offload.FlagNeedsCsum
	} else if m.Offload&pipeline.OffloadCsumValid != 0 {
		h.Flags |= offload.FlagDataValid
	}
	h.Encode(w.hdr[:])
	w.iov[0].Base = &w.hdr[0]
	w.iov[0].SetLen(offload.HdrLen)
	cnt := 1
	for b, more := id, true; more; b, more = pool.NextBuf(b) {
		if cnt == len(w.iov) {
			return 0, true, 0
		}
		pkt := pipeline.PacketAt(mem, b, &meta[b])
		if len(pkt) > 0 {
			w.iov[cnt].Base = &pkt[0]
			w.iov[cnt].SetLen(len(pkt))
			cnt++
			size += len(pkt)
		}
	}
	_, _, errno = unix.Syscall(unix.SYS_WRITEV, uintptr(w.fd), uintptr(unsafe.Pointer(&w.iov[0])), uintptr(cnt))
	return size, false, errno
}
