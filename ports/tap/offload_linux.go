package tap

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// Offload mode (Config.Offload). The tap is opened with IFF_VNET_HDR and
// TUNSETOFFLOAD, as QEMU's tap backend and gVisor do: every read and
// write carries a 10-byte virtio-net header, and the kernel hands over TCP
// (and UDP) frames of up to 64 KiB, segmented nowhere, with the checksum
// left partial. One read(2) then moves up to 64 KiB instead of one MTU,
// which is what lets a container's TCP reach kernel-bridge speed through
// a userspace switch.
//
// Rx reads with readv(2) straight into a reserve of pool buffers: the
// header lands in the first buffer's headroom, the frame after it, and
// whatever does not fit in the first buffer continues in the next ones,
// each used whole (offset 0), so the reserve holds enough for the largest
// frame. The buffers a read filled become a pipeline chain, the header
// becomes the chain's offload metadata, and the reserve is topped up from
// the pool. Tx writes a header made from the metadata and the chain's
// pieces with one writev(2). Both allocate nothing per frame.

// Offload flags for TUNSETOFFLOAD (linux/if_tun.h).
const (
	tunFCsum   = 0x01
	tunFTSO4   = 0x02
	tunFTSO6   = 0x04
	tunFTSOECN = 0x08
	tunFUSO4   = 0x20
	tunFUSO6   = 0x40
)

// maxGSOFrame is the longest frame a read can bring: a 64 KiB IP packet
// behind an Ethernet header and one VLAN tag.
const maxGSOFrame = 65535 + ethHeader + vlanTag

// maxPieces is the number of buffers that hold maxGSOFrame: the first
// holds pipeline.MaxPacket bytes after its headroom, the others a whole
// pipeline.FrameSize each.
const maxPieces = 1 + (maxGSOFrame-pipeline.MaxPacket+pipeline.FrameSize-1)/pipeline.FrameSize

// openVnetTap opens one queue of tap name (the kernel picks a name for
// "") with a virtio-net header and offloads on, non-blocking, and returns
// its descriptor and the device's name.
func openVnetTap(name string, multi bool) (int, string, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, "", fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, "", err
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if multi {
		flags |= unix.IFF_MULTI_QUEUE
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("TUNSETIFF %q: %w", name, err)
	}
	name = ifr.Name()
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, offload.HdrLen); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("tap %s: TUNSETVNETHDRSZ: %w", name, err)
	}
	// UDP segmentation offload is newer (Linux 6.2); without it, TCP.
	off := tunFCsum | tunFTSO4 | tunFTSO6 | tunFTSOECN
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, off|tunFUSO4|tunFUSO6); err != nil {
		if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, off); err != nil {
			unix.Close(fd)
			return -1, "", fmt.Errorf("tap %s: TUNSETOFFLOAD: %w", name, err)
		}
	}
	return fd, name, nil
}

// offRxQueue is an rx queue in offload mode.
type offRxQueue struct {
	rxQueue
	reserve [maxPieces]pipeline.BufID
	have    int
	iov     [maxPieces]unix.Iovec
}

// offTxQueue is a tx queue in offload mode.
type offTxQueue struct {
	txQueue
	hdr [offload.HdrLen]byte
	iov [maxPieces + 1]unix.Iovec
}

// Close gives the reserve back to the pool (safe from the control plane
// while the worker goes on) and releases the queue.
func (q *offRxQueue) Close() error {
	if err := q.rxQueue.Close(); err != nil {
		return err
	}
	q.pool.GiveBack(q.reserve[:q.have])
	q.have = 0
	return nil
}

// refill tops the reserve up and points the iovecs at it; false if the
// pool ran short (the reserve keeps what it got).
func (q *offRxQueue) refill() bool {
	if q.have < maxPieces {
		q.have += q.pool.AllocN(q.reserve[q.have:])
		if q.have < maxPieces {
			return false
		}
	}
	_, mem := q.pool.Arrays()
	for i, id := range q.reserve {
		fr := pipeline.FrameAt(mem, id)
		if i == 0 {
			fr = fr[pipeline.Headroom-offload.HdrLen:]
		}
		q.iov[i].Base = &fr[0]
		q.iov[i].SetLen(len(fr))
	}
	return true
}

// readCap is how many bytes one read can bring: the header and
// maxPieces buffers' worth of frame.
const readCap = offload.HdrLen + pipeline.MaxPacket + (maxPieces-1)*pipeline.FrameSize

// Rx reads up to min(len(bufs), batch) frames, one readv(2) each, and
// stops at EAGAIN. A frame that fills every buffer of the reserve was
// truncated: dropped and counted (RxOversize). A header that does not
// describe its frame is counted as an error and the frame dropped.
func (q *offRxQueue) Rx(bufs []pipeline.BufID) (int, error) {
	if q.closed {
		return 0, errQueueClosed
	}
	if q.p.down.Load() {
		return 0, nil
	}
	if len(bufs) > q.batch {
		bufs = bufs[:q.batch]
	}
	n := 0
	var bytes, oversize, errs uint64
	var err error
	meta, mem := q.pool.Arrays()
	for tries := len(bufs); tries > 0 && n < len(bufs); tries-- {
		if !q.refill() {
			bump(&q.c.noBuffer, 1)
			break
		}
		r, _, errno := unix.Syscall(unix.SYS_READV, uintptr(q.fd), uintptr(unsafe.Pointer(&q.iov[0])), maxPieces)
		if errno != 0 {
			if errno != unix.EAGAIN && errno != unix.EINTR {
				errs++
				err = q.fail(errno)
			}
			break
		}
		got := int(r)
		if got >= readCap {
			oversize++
			continue
		}
		size := got - offload.HdrLen
		if size < ethHeader {
			errs++
			continue
		}
		head := q.reserve[0]
		var h offload.VnetHdr
		if h.Decode(pipeline.FrameAt(mem, head)[pipeline.Headroom-offload.HdrLen:pipeline.Headroom]) != nil || !fits(&h, size) {
			errs++
			continue
		}
		k := q.chain(meta, size)
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
		copy(q.reserve[:], q.reserve[k:q.have])
		q.have -= k
		bufs[n] = head
		n++
		bytes += uint64(size)
	}
	c := q.c
	bump(&c.packets, uint64(n))
	bump(&c.bytes, bytes)
	bump(&c.oversize, oversize)
	bump(&c.errors, errs)
	return n, err
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
func (q *offRxQueue) chain(meta []pipeline.Meta, size int) int {
	first := min(size, pipeline.MaxPacket)
	meta[q.reserve[0]] = pipeline.Meta{Off: pipeline.Headroom, Len: uint16(first)}
	left, k := size-first, 1
	for ; left > 0; k++ {
		l := min(left, pipeline.FrameSize)
		meta[q.reserve[k]] = pipeline.Meta{Len: uint16(l)}
		meta[q.reserve[k-1]].Next = uint32(q.reserve[k]) + 1
		left -= l
	}
	return k
}

// Tx writes each frame, chain and offload state included, with one
// writev(2) behind a virtio-net header, and frees every buffer; errors
// are handled as the plain Tx does. A frame without GSO longer than the
// port's MaxFrame is dropped (TxOversize); GSO frames are the kernel's to
// check.
func (q *offTxQueue) Tx(bufs []pipeline.BufID) (int, error) {
	pool := q.pool
	if q.closed {
		pool.FreeN(bufs)
		return 0, errQueueClosed
	}
	c := q.c
	if q.p.down.Load() {
		bump(&c.down, uint64(len(bufs)))
		pool.FreeN(bufs)
		return 0, nil
	}
	meta, mem := pool.Arrays()
	sent := 0
	var bytes, oversize, invalid, errs uint64
	var err error
	q.iov[0].Base = &q.hdr[0]
	q.iov[0].SetLen(offload.HdrLen)
loop:
	for i := 0; i < len(bufs); i++ {
		id := bufs[i]
		m := &meta[id]
		h := offload.VnetHdr{GSOType: m.GSOType, GSOSize: m.GSOSize, CsumStart: m.CsumStart, CsumOffset: m.CsumOff}
		if m.Offload&pipeline.OffloadCsumPartial != 0 {
			h.Flags |= offload.FlagNeedsCsum
		} else if m.Offload&pipeline.OffloadCsumValid != 0 {
			h.Flags |= offload.FlagDataValid
		}
		h.Encode(q.hdr[:])
		cnt, size := 1, 0
		for b, more := id, true; more; b, more = pool.NextBuf(b) {
			if cnt == len(q.iov) {
				size = -1
				break
			}
			pkt := pipeline.PacketAt(mem, b, &meta[b])
			if len(pkt) > 0 {
				q.iov[cnt].Base = &pkt[0]
				q.iov[cnt].SetLen(len(pkt))
				cnt++
				size += len(pkt)
			}
		}
		if size < 0 {
			invalid++ // a chain longer than any frame
			continue
		}
		if m.GSOType == offload.GSONone && size > q.maxFrame {
			oversize++
			continue
		}
		_, _, werr := unix.Syscall(unix.SYS_WRITEV, uintptr(q.fd), uintptr(unsafe.Pointer(&q.iov[0])), uintptr(cnt))
		switch {
		case werr == 0:
			sent++
			bytes += uint64(size)
		case werr == unix.EINTR:
			i-- // again
		case werr == unix.EAGAIN:
			bump(&c.full, uint64(len(bufs)-i))
			break loop
		case werr == unix.EINVAL:
			invalid++
		case werr == unix.EIO:
			bump(&c.linkDown, uint64(len(bufs)-i))
			err = werr
			break loop
		case gone(werr):
			q.p.markDown("write", werr)
			bump(&c.down, uint64(len(bufs)-i))
			err = ErrDown
			break loop
		default:
			errs++
			err = werr
		}
	}
	pool.FreeN(bufs)
	bump(&c.packets, uint64(sent))
	bump(&c.bytes, bytes)
	bump(&c.oversize, oversize)
	bump(&c.invalid, invalid)
	bump(&c.errors, errs)
	return sent, err
}
