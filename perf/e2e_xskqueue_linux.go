package perf

import (
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Why a queue stays busy after its AF_XDP socket is closed
//
// bind(2) on an AF_XDP socket fails with EBUSY while the queue still has a
// buffer pool registered (xp_assign_dev: xsk_get_pool_from_qid). Closing
// the last socket of a pool does not unregister it at once; the kernel
// does it in three asynchronous steps (net/xdp/xsk.c, xsk_buff_pool.c):
//
//  1. the socket is freed only when its last reference goes (skbs still in
//     flight from copy-mode tx hold one), and AF_XDP sockets are
//     SOCK_RCU_FREE, so sk_destruct runs after an RCU grace period;
//  2. xsk_destruct -> xp_put_pool drops the pool's last user and only
//     schedules xp_release_deferred on the system workqueue;
//  3. that work item takes the RTNL lock and only then clears the queue
//     (xp_clear_dev -> xsk_clear_pool_at_qid).
//
// Here it took 7-22 ms on an idle machine, and longer when other tests
// hold RTNL (creating and deleting namespaces and veths). So a second
// AF_XDP user that binds the same queue right after the first closed it
// (the xsk-xc step then the asavie-xc step of TestE2ELoopAllocations, on
// one topology) gets EBUSY. Our own sockets retry EBUSY
// (ports/internal/xsk); github.com/asavie/xdp does not, and a failed
// xdp.NewSocket leaks its mappings and pinned UMEM (its Close never
// unmaps), so its callers wait for the queue first (waitQueueFree).

// xskReleaseWait bounds the wait for the kernel to let go of a queue.
const xskReleaseWait = 5 * time.Second

// The kernel's "netdev" generic netlink family (include/uapi/linux/netdev.h).
const (
	netdevCmdQueueGet   = 10 // NETDEV_CMD_QUEUE_GET
	netdevAQueueID      = 1  // NETDEV_A_QUEUE_ID
	netdevAQueueIfindex = 2  // NETDEV_A_QUEUE_IFINDEX
	netdevAQueueType    = 3  // NETDEV_A_QUEUE_TYPE
	netdevAQueueXSK     = 7  // NETDEV_A_QUEUE_XSK, Linux 6.15 and later
	netdevQueueTypeRx   = 0  // NETDEV_QUEUE_TYPE_RX
	netdevFamilyVersion = 1
)

// xskOnQueue reports whether the kernel has an AF_XDP buffer pool
// registered on rx queue q of ifindex (in the caller's namespace), the
// condition under which bind answers EBUSY. It asks the netdev family's
// queue-get; a kernel older than the queue's XSK attribute (6.15) answers
// without it, so busy is then always false.
func xskOnQueue(ifindex, q int) (busy bool, err error) {
	fam, err := netlink.GenlFamilyGet("netdev")
	if err != nil {
		return false, fmt.Errorf("perf: generic netlink family netdev: %w", err)
	}
	req := nl.NewNetlinkRequest(int(fam.ID), unix.NLM_F_REQUEST)
	req.AddData(genlHeader{netdevCmdQueueGet, netdevFamilyVersion})
	req.AddData(nl.NewRtAttr(netdevAQueueID, nl.Uint32Attr(uint32(q))))
	req.AddData(nl.NewRtAttr(netdevAQueueType, nl.Uint32Attr(netdevQueueTypeRx)))
	req.AddData(nl.NewRtAttr(netdevAQueueIfindex, nl.Uint32Attr(uint32(ifindex))))
	msgs, err := req.Execute(unix.NETLINK_GENERIC, 0)
	if err != nil {
		return false, fmt.Errorf("perf: netdev queue-get of ifindex %d rx queue %d: %w", ifindex, q, err)
	}
	for _, m := range msgs {
		if len(m) < nl.SizeofGenlmsg {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[nl.SizeofGenlmsg:])
		if err != nil {
			return false, fmt.Errorf("perf: netdev queue-get answer: %w", err)
		}
		for _, a := range attrs {
			if a.Attr.Type&^unix.NLA_F_NESTED == netdevAQueueXSK {
				return true, nil
			}
		}
	}
	return false, nil
}

// waitQueueFree waits up to timeout until no AF_XDP buffer pool is
// registered on rx queue q of ifindex (see the top of this file). Where
// the kernel cannot tell, it returns at once and the bind finds out.
func waitQueueFree(ifindex, q int, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for {
		busy, err := xskOnQueue(ifindex, q)
		if err != nil || !busy {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("perf: an AF_XDP socket still holds ifindex %d queue %d after %v", ifindex, q, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// genlHeader is struct genlmsghdr: command, version and two reserved
// bytes that strict families (netdev) require to be zero. nl.Genlmsg
// cannot be used: it serializes four bytes from a two-byte struct.
type genlHeader [2]uint8

func (h genlHeader) Len() int          { return nl.SizeofGenlmsg }
func (h genlHeader) Serialize() []byte { return []byte{h[0], h[1], 0, 0} }
