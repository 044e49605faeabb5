// Package afxdp is the AF_XDP port: one socket per (device, queue), bound
// through ports/internal/xsk, with an XDP program that steers each rx queue
// to its socket and passes everything else to the kernel.
//
// # Memory
//
// The UMEM is the pipeline Pool of the worker that opens the queue. The
// first socket opened on a pool registers the arena; every later socket on
// that pool — any device, any queue — shares it (XDP_SHARED_UMEM) with fill
// and completion rings of its own. So a frame received on one port is sent
// on another port of the same worker by handing its address to the other
// socket's tx ring: no copy in userspace.
//
// Frames are FrameSize (2176) bytes, not a power of two, so the UMEM runs in
// unaligned-chunk mode. The kernel writes a received frame 256 bytes
// (XDP_PACKET_HEADROOM) into its chunk, so a received packet has 256 bytes of
// headroom and at most 1920 bytes: the device MTU may be at most 1902 (1920
// less an Ethernet header and one VLAN tag). Longer frames are dropped by
// the kernel and counted in its rx_dropped statistic.
//
// Buffers posted to the kernel (fill ring, tx ring) are tracked in a bitmap
// per socket, so closing a queue gives every one of them back to the pool
// (Pool.GiveBack), even those the kernel never returned.
//
// # Queues
//
// The switch opens rx queue q on worker q mod W and tx queue w on worker w.
// Rx and tx of one device queue share one socket, so they must be opened on
// the same pool; with that mapping they always are. The device needs at
// least as many queues as the switch has workers (veth: numtxqueues and
// numrxqueues).
//
// # Per packet
//
// Rx reads descriptors in batches and tops the fill ring up once per call;
// Tx writes descriptors in a batch and kicks the kernel (sendto) once per
// batch — repeatedly only in copy mode, where one kick sends at most the
// kernel's budget. Nothing allocates, locks, or makes a syscall per packet.
// Rx queues are pipeline.Pollable (the socket's fd), so an idle worker in
// adaptive mode sleeps in epoll until frames arrive.
//
// # Fast path
//
// With Config.FastPath the port's XDP program is the fast-path program of
// ports/internal/fastpath instead of the plain redirect: it switches
// frames of known unicast flows to other member ports in the kernel and
// hands the rest to the sockets as before. FastPath (one per switch) holds
// the shared maps and implements ports.FastPath for the switch; a port
// that cannot take part (no program, a veth whose peer would drop or
// corrupt redirected frames) says why in FastPathIfindex and runs with the
// plain program.
package afxdp
