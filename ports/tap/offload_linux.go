package tap

import (
	"fmt"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/internal/vnetio"
)

// Offload mode (Config.Offload). The tap is opened with IFF_VNET_HDR and
// TUNSETOFFLOAD, as QEMU's tap backend and gVisor do: every read and
// write carries a 10-byte virtio-net header, and the kernel hands over TCP
// (and UDP) frames of up to 64 KiB, segmented nowhere, with the checksum
// left partial. One read(2) then moves up to 64 KiB instead of one MTU,
// which is what lets a container's TCP reach kernel-bridge speed through
// a userspace switch.
//
// The queues read and write through ports/internal/vnetio (readv into a
// chain of pool buffers, writev from one), shared with the AF_PACKET
// port. Both allocate nothing per frame.

// Offload flags for TUNSETOFFLOAD (linux/if_tun.h).
const (
	tunFCsum   = 0x01
	tunFTSO4   = 0x02
	tunFTSO6   = 0x04
	tunFTSOECN = 0x08
	tunFUSO4   = 0x20
	tunFUSO6   = 0x40
)

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
	r *vnetio.Reader
}

// offTxQueue is a tx queue in offload mode.
type offTxQueue struct {
	txQueue
	w *vnetio.Writer
}

func newOffRx(rx rxQueue) *offRxQueue {
	return &offRxQueue{rxQueue: rx, r: vnetio.NewReader(rx.fd, rx.pool)}
}

func newOffTx(tx txQueue) *offTxQueue { return &offTxQueue{txQueue: tx, w: vnetio.NewWriter(tx.fd)} }

// Close gives the reserve back to the pool (safe from the control plane
// while the worker goes on) and releases the queue.
func (q *offRxQueue) Close() error {
	if err := q.rxQueue.Close(); err != nil {
		return err
	}
	q.r.Close()
	return nil
}

// Rx reads up to min(len(bufs), batch) frames, one readv(2) each, and
// stops at EAGAIN. A frame longer than 64 KiB was truncated: dropped and
// counted (RxOversize). A header that does not describe its frame is
// counted as an error and the frame dropped.
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
loop:
	for tries := len(bufs); tries > 0 && n < len(bufs); tries-- {
		id, size, res, errno := q.r.Read()
		switch res {
		case vnetio.Got:
			bufs[n] = id
			n++
			bytes += uint64(size)
		case vnetio.Empty:
			break loop
		case vnetio.NoBuffer:
			bump(&q.c.noBuffer, 1)
			break loop
		case vnetio.Oversize:
			oversize++
		case vnetio.Invalid:
			errs++
		case vnetio.Failed:
			errs++
			err = q.fail(errno)
			break loop
		}
	}
	c := q.c
	bump(&c.packets, uint64(n))
	bump(&c.bytes, bytes)
	bump(&c.oversize, oversize)
	bump(&c.errors, errs)
	return n, err
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
	sent := 0
	var bytes, oversize, invalid, errs uint64
	var err error
loop:
	for i := 0; i < len(bufs); i++ {
		id := bufs[i]
		m := pool.Meta(id)
		if m.Offload&pipeline.OffloadGSO == 0 && m.Next == 0 && int(m.Len) > q.maxFrame {
			oversize++
			continue
		}
		size, tooLong, werr := q.w.Write(pool, id)
		switch {
		case tooLong:
			invalid++ // a chain longer than any frame
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
