package afpacket

import (
	"fmt"
	"log/slog"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports"
)

// Handover describes the port and returns its queues' sockets, still the
// port's: the caller passes duplicates and must not close them. Closing
// this port afterwards only closes its own sockets and detaches its own
// drop program: the adopter attached its own first.
func (p *Port) Handover() (Handover, []int) {
	return Handover{Ifname: p.ifname, Index: p.index, Queues: len(p.fds), BatchSize: p.info.BatchSize, MaxFrame: p.info.MaxFrame}, p.fds
}

// Adopt makes a port of the sockets another process handed over (one per
// queue; Close closes them). Each must be an AF_PACKET socket bound to the
// described interface, which must still have the described index. Adopt
// turns PACKET_AUXDATA on (VLAN tags, see the package doc) and attaches
// its own ingress drop program (see the package doc), so the host's stack
// never sees the interface's frames while both processes' programs are
// attached, nor after the giver detaches its own. On failure the sockets
// are left to the caller.
func Adopt(name string, h Handover, fds []int, log *slog.Logger) (_ *Port, err error) {
	if log == nil {
		log = slog.Default()
	}
	cfg := Config{Name: name, Ifname: h.Ifname, Queues: h.Queues, BatchSize: h.BatchSize, MaxFrame: h.MaxFrame, Logger: log}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(fds) != h.Queues {
		return nil, fmt.Errorf("afpacket %s: adopt: %d sockets for %d queues", name, len(fds), h.Queues)
	}
	l, err := netlink.LinkByName(h.Ifname)
	if err != nil || l.Attrs().Index != h.Index {
		return nil, fmt.Errorf("afpacket %s: adopt: interface %s (index %d) is not there any more: %v", name, h.Ifname, h.Index, err)
	}
	for q, fd := range fds {
		if dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || dom != unix.AF_PACKET {
			return nil, fmt.Errorf("afpacket %s: adopt queue %d: not an AF_PACKET socket (%v)", name, q, err)
		}
		sa, err := unix.Getsockname(fd)
		ll, ok := sa.(*unix.SockaddrLinklayer)
		if err != nil || !ok || ll.Ifindex != h.Index {
			return nil, fmt.Errorf("afpacket %s: adopt queue %d: socket not bound to %s (%v)", name, q, h.Ifname, err)
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, fmt.Errorf("afpacket %s: adopt queue %d: %w", name, q, err)
		}
		// A giver that did not ask for the frames' VLAN tags (older
		// versions) reads on unharmed: its readv ignores them.
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return nil, fmt.Errorf("afpacket %s: adopt queue %d: PACKET_AUXDATA: %w", name, q, err)
		}
	}
	p := &Port{name: name, ifname: h.Ifname, index: h.Index, log: log, fds: fds,
		rxOpen: make([]bool, h.Queues), txOpen: make([]bool, h.Queues), c: make([]counters, h.Queues)}
	p.info = ports.Info{RxQueues: h.Queues, TxQueues: h.Queues, BatchSize: h.BatchSize, MaxFrame: h.MaxFrame, Offload: true}
	if err := p.dropIngress(); err != nil {
		return nil, fmt.Errorf("afpacket %s on %s: adopt: %w", name, h.Ifname, err)
	}
	return p, nil
}
