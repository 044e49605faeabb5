package tap

import (
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports"
)

// Adopt makes a port of a tap another process handed over: fds are the
// queues' descriptors (one per queue, now the port's: Close closes them).
// Each must be a tap attached to the described device with the described
// mode (virtio-net header for Offload, multi-queue for several queues),
// or Adopt fails and leaves the descriptors to the caller. The device's
// configuration is not touched: it is running traffic.
func Adopt(name string, h Handover, fds []int, log *slog.Logger) (*Port, error) {
	if log == nil {
		log = slog.Default()
	}
	if h.Queues < 1 || h.Queues > MaxQueues || len(fds) != h.Queues {
		return nil, fmt.Errorf("tap %s: adopt: %d descriptors for %d queues", name, len(fds), h.Queues)
	}
	if h.BatchSize < 1 || h.BatchSize > 256 || h.MaxFrame < ethHeader+68 {
		return nil, fmt.Errorf("tap %s: adopt: batch %d, largest frame %d", name, h.BatchSize, h.MaxFrame)
	}
	for q, fd := range fds {
		ifname, flags, err := tunGetIff(fd)
		if err != nil {
			return nil, fmt.Errorf("tap %s: adopt queue %d: not a tap descriptor: %w", name, q, err)
		}
		if ifname != h.Ifname {
			return nil, fmt.Errorf("tap %s: adopt queue %d: descriptor of %s, want %s", name, q, ifname, h.Ifname)
		}
		want := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if h.Offload {
			want |= unix.IFF_VNET_HDR
		}
		if h.Queues > 1 {
			want |= unix.IFF_MULTI_QUEUE
		}
		mask := uint16(unix.IFF_TAP | unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE)
		if flags&mask != want {
			return nil, fmt.Errorf("tap %s: adopt queue %d: device flags %#x, want %#x", name, q, flags&mask, want)
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, fmt.Errorf("tap %s: adopt queue %d: %w", name, q, err)
		}
	}
	return &Port{
		name:   name,
		info:   ports.Info{RxQueues: h.Queues, TxQueues: h.Queues, BatchSize: h.BatchSize, MaxFrame: h.MaxFrame, Offload: h.Offload},
		dev:    h.device(),
		fds:    fds,
		log:    log,
		batch:  h.BatchSize,
		rxOpen: make([]bool, h.Queues), txOpen: make([]bool, h.Queues),
		rxc: make([]rxCounters, h.Queues), txc: make([]txCounters, h.Queues),
	}, nil
}
