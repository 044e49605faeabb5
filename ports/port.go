// Package ports defines the Port interface that every port driver
// implements, and the FastPath interface of the kernel fast path. The
// drivers are its subpackages: afxdp (AF_XDP sockets on NIC queues and
// container veths), tap, vhostuser (VMs), sriov (VF hand-off), netdev
// (veth pairs, addresses and routes through netlink) and memport
// (in-memory rings for tests and benchmarks).
//
// A port has a fixed number of rx and tx queues and a fixed batch size for
// its lifetime. The switch opens each queue on the buffer pool of the worker
// that will poll it (OpenRx, OpenTx), so a driver always receives into and
// transmits from that worker's arena: for AF_XDP the arena is the UMEM, for
// tap and vhost-user the driver copies between the arena and the fd or the
// guest ring. Queues are used by one goroutine at a time and are not
// goroutine-safe; Port methods themselves are called by the control plane.
package ports

import (
	"errors"
	"fmt"

	"github.com/vecswitch/vecswitch/pipeline"
)

// Info describes a port's fixed shape.
type Info struct {
	RxQueues  int
	TxQueues  int
	BatchSize int
	// MaxFrame is the longest frame (Ethernet header included, FCS not)
	// the port can transmit; 0 means pipeline.MaxPacket. The switch drops
	// and counts longer frames (for example ones that grew by a VLAN tag)
	// instead of handing them to the port.
	MaxFrame int
	// Offload: the port's tx queues take large frames (pipeline chains,
	// with GSOType/GSOSize) and frames with a partial checksum, and its
	// receivers segment and finish them (a tap with a virtio-net header).
	// Other ports get plain, complete frames: the switch segments and
	// finishes checksums before their tx.
	Offload bool
}

// Port is a port driver instance.
type Port interface {
	// Name is the port's unique name in the switch.
	Name() string
	// Info is fixed for the port's lifetime.
	Info() Info
	// OpenRx opens rx queue q for a worker whose buffers come from pool.
	OpenRx(q int, pool *pipeline.Pool) (pipeline.RxQueue, error)
	// OpenTx opens tx queue q for a worker whose buffers come from pool.
	OpenTx(q int, pool *pipeline.Pool) (pipeline.TxQueue, error)
	// Close releases the port. Its queues must be closed first.
	Close() error
}

// Errors shared by drivers.
var (
	ErrClosed     = errors.New("ports: port closed")
	ErrNoQueue    = errors.New("ports: no such queue")
	ErrQueueInUse = errors.New("ports: queue already open")
)

// ClaimQueue takes queue q of a driver that tracks its open queues in
// open, under its own lock, which the caller holds: ErrClosed if the port
// is closed, ErrNoQueue if q is out of range, ErrQueueInUse if q is open
// already. who names the port in errors ("tap c1"), kind the direction.
func ClaimQueue(open []bool, closed bool, who, kind string, q int) error {
	if closed {
		return ErrClosed
	}
	if q < 0 || q >= len(open) {
		return fmt.Errorf("%s: %s queue %d of %d: %w", who, kind, q, len(open), ErrNoQueue)
	}
	if open[q] {
		return fmt.Errorf("%s: %s queue %d: %w", who, kind, q, ErrQueueInUse)
	}
	open[q] = true
	return nil
}
