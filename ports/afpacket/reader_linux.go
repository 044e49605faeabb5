package afpacket

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/internal/vnetio"
)

// ethHeader and vlanTag are the Ethernet header's and an 802.1Q tag's
// lengths.
const (
	ethHeader = 14
	vlanTag   = 4
)

// readCap is how many bytes one read can bring: the virtio-net header and
// vnetio.MaxPieces buffers' worth of frame (as vnetio's).
const readCap = offload.HdrLen + pipeline.MaxPacket + (vnetio.MaxPieces-1)*pipeline.FrameSize

// auxCmsg is the one control message the socket brings (PACKET_AUXDATA,
// the only one it asked for), laid out as the kernel writes it: the
// data follows the header at CMSG_ALIGN(sizeof(struct cmsghdr)), which is
// where Go puts the field on every Linux architecture.
type auxCmsg struct {
	h   unix.Cmsghdr
	aux unix.TpacketAuxdata
	_   [4]byte
}

// auxLen is CMSG_LEN(sizeof(struct tpacket_auxdata)): the least a control
// message carrying the whole auxdata is.
const auxLen = int(unsafe.Offsetof(auxCmsg{}.aux) + unsafe.Sizeof(unix.TpacketAuxdata{}))

// reader is vnetio.Reader's data path (virtio-net header, chains from a
// reserve of pool buffers, zero-alloc) with recvmsg(2) instead of
// readv(2), so that each frame comes with its PACKET_AUXDATA: the kernel
// takes a received frame's 802.1Q tag out of the frame into the skb's
// metadata before packet sockets see it, and the auxdata is the only
// place it is left. Read puts it back where it was. A tap needs none of
// this (tun writes the tag back itself), hence a reader of the port's own.
type reader struct {
	fd      int
	pool    *pipeline.Pool
	reserve [vnetio.MaxPieces]pipeline.BufID
	have    int
	iov     [vnetio.MaxPieces]unix.Iovec
	msg     unix.Msghdr
	ctl     auxCmsg
}

// newReader reads from packet socket fd (PACKET_AUXDATA on) into buffers
// of pool.
func newReader(fd int, pool *pipeline.Pool) *reader {
	r := &reader{fd: fd, pool: pool}
	r.msg.Iov = &r.iov[0]
	r.msg.SetIovlen(len(r.iov))
	r.msg.Control = (*byte)(unsafe.Pointer(&r.ctl))
	return r
}

// Close gives the reserve back to the pool (GiveBack: safe from the
// control plane while the pool's worker goes on).
func (r *reader) Close() {
	r.pool.GiveBack(r.reserve[:r.have])
	r.have = 0
}

// refill tops the reserve up and points the iovecs at it; false if the
// pool ran short (the reserve keeps what it got).
func (r *reader) refill() bool {
	if r.have < vnetio.MaxPieces {
		r.have += r.pool.AllocN(r.reserve[r.have:])
		if r.have < vnetio.MaxPieces {
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

// Read reads one frame with one recvmsg(2), as vnetio.Reader.Read, and
// puts back the VLAN tag the kernel took out of it.
func (r *reader) Read() (id pipeline.BufID, size int, res vnetio.Result, errno unix.Errno) {
	if !r.refill() {
		return 0, 0, vnetio.NoBuffer, 0
	}
	r.msg.SetControllen(int(unsafe.Sizeof(r.ctl)))
	r.msg.Flags = 0
	n, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(r.fd), uintptr(unsafe.Pointer(&r.msg)), 0)
	if e != 0 {
		if e == unix.EAGAIN || e == unix.EINTR {
			return 0, 0, vnetio.Empty, 0
		}
		return 0, 0, vnetio.Failed, e
	}
	got := int(n)
	if got >= readCap {
		return 0, 0, vnetio.Oversize, 0
	}
	size = got - offload.HdrLen
	if size < ethHeader {
		return 0, 0, vnetio.Invalid, 0
	}
	meta, mem := r.pool.Arrays()
	head := r.reserve[0]
	var h offload.VnetHdr
	if h.Decode(pipeline.FrameAt(mem, head)[pipeline.Headroom-offload.HdrLen:pipeline.Headroom]) != nil || !fits(&h, size) {
		return 0, 0, vnetio.Invalid, 0
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
	if tpid, tci, ok := r.tag(); ok {
		insertTag(mem, head, m, tpid, tci)
		size += vlanTag
	}
	copy(r.reserve[:], r.reserve[k:r.have])
	r.have -= k
	return head, size, vnetio.Got, 0
}

// tag returns the 802.1Q tag the auxdata of the last read reports, if
// any: its TPID (0x8100 when the kernel does not say) and TCI.
func (r *reader) tag() (tpid, tci uint16, ok bool) {
	c := &r.ctl
	if int(r.msg.Controllen) < auxLen || c.h.Level != unix.SOL_PACKET || c.h.Type != unix.PACKET_AUXDATA ||
		c.aux.Status&unix.TP_STATUS_VLAN_VALID == 0 {
		return 0, 0, false
	}
	tpid = unix.ETH_P_8021Q
	if c.aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && c.aux.Vlan_tpid != 0 {
		tpid = c.aux.Vlan_tpid
	}
	return tpid, c.aux.Vlan_tci, true
}

// insertTag puts the tag (tpid, tci) back at offset 12 of the frame whose
// first buffer is id (metadata m): the MACs move 4 bytes into the
// headroom, as the switch's own tagging does, and a partial checksum's
// start moves with the rest of the frame.
func insertTag(mem []byte, id pipeline.BufID, m *pipeline.Meta, tpid, tci uint16) {
	m.Off -= vlanTag
	m.Len += vlanTag
	pkt := pipeline.PacketAt(mem, id, m)
	copy(pkt[:12], pkt[vlanTag:vlanTag+12])
	pkt[12], pkt[13] = byte(tpid>>8), byte(tpid)
	pkt[14], pkt[15] = byte(tci>>8), byte(tci)
	if m.Offload&pipeline.OffloadCsumPartial != 0 {
		m.CsumStart += vlanTag
	}
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
func (r *reader) chain(meta []pipeline.Meta, size int) int {
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
