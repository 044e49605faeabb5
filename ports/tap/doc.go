// Package tap is a port on a Linux tap device: the way a VM's network, a
// clear container's, or any namespace without a faster path, is plugged
// into the switch.
//
// # Device
//
// New creates the tap with github.com/songgao/water (IFF_TAP|IFF_NO_PI,
// IFF_MULTI_QUEUE when Config.Queues > 1: one open file per queue), and
// either leaves it in the caller's namespace or creates it under a random
// temporary name, moves it into Config.Netns and renames it there (default
// eth0). ports/netdev then sets its MAC, MTU, addresses and routes and
// brings it up. The device is not persistent: closing its last file
// descriptor deletes it, wherever it is, which is what Port.Close does
// (checking afterwards that it is gone).
//
// Water hands each queue over as an *os.File registered with the Go
// poller. The port keeps a private duplicate of the descriptor (the open
// file, and so the queue, lives on) and closes water's file: the data path
// then uses a plain non-blocking descriptor with read(2) and write(2),
// without the poller's epoll wake-ups or a finalizer that could close the
// descriptor under it.
//
// # Data path
//
// Rx queue q and tx queue q share descriptor q. Rx reads one frame per
// read(2) straight into a pool buffer at pipeline.Headroom, until the batch
// is full or the read says EAGAIN; Tx writes one frame per write(2) and
// frees every buffer it is given. One system call per frame is inherent to
// tap: tun file descriptors offer no batch read or write (no recvmmsg, no
// ring), so a tap port costs a system call per frame where AF_XDP amortises
// one over a batch. Config.Offload batches bytes instead of calls: with a
// virtio-net header and TSO on, one read or write moves up to 64 KiB of
// TCP as a pipeline chain (offload_linux.go). The per-frame path
// allocates nothing in either mode.
//
// Frames are at most MTU+14 bytes, MTU+18 with Config.VLAN (Info.MaxFrame);
// MaxMTU keeps such a frame below pipeline.MaxPacket by a byte, so a read
// that fills a whole buffer can only be a longer frame that the kernel
// truncated (it returns the truncated length): it is dropped and counted,
// never passed on. That happens when the MTU is raised inside the
// container. Without Config.Offload the kernel sends tap frames with
// complete checksums (tun offers checksum offload only after
// TUNSETOFFLOAD).
//
// # When the device goes away
//
// Deleting the device, or the namespace it lives in, detaches the files:
// read and write then fail with EBADFD. The first queue to see that marks
// the port down (an atomic flag, read by every queue on each call), logs
// one line, and returns ErrDown once; from then on no queue touches its
// descriptor again: Rx returns nothing and Tx frees and counts what it is
// given (Stats.TxDown). Port.Probe finds the same without traffic, for a
// health check: tun polls POLLERR on a detached file, wherever the
// device lived, so no namespace is entered and a new device of the same
// name is not taken for the old one; it marks the port down alike (then
// no queue call returns ErrDown). Down and DownErr report it. The port
// never comes back by itself: its owner closes it and makes a new one
// (vswitchd does, once the namespace is there again). Queue Close and
// Port.Close still work. A device merely set down inside its namespace is
// not gone: writes fail with EIO and are counted (Stats.TxLinkDown),
// reads find nothing, and traffic resumes when it is set up again.
//
// # Counters
//
// Each queue counts into its own 64-byte block, written only by the goroutine
// using the queue (atomic stores, no read-modify-write) and summed by
// Stats at any time.
package tap
