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
// # Sharing the pool
//
// Every socket of a worker draws its fill frames from the same pool, and a
// frame posted to a fill ring stays there until a packet arrives on that
// socket: userspace cannot take it back. So "keep every fill ring full"
// lets the first few sockets take the whole pool (four rings of 4096 on
// the default 16384 frames) and leaves later sockets dead, and even fill
// targets recomputed as ports are added do not help: an idle socket keeps
// what it got under the old, larger target. The pool is therefore split
// once, when its first socket opens (budget):
//
//   - FillFloor (64) frames per socket, which its fill ring is always
//     topped up to (below the floor any shortfall is refilled, above it
//     only batches of 32 or more);
//   - an elastic part, half the pool, that all fill rings together may
//     hold above their floors;
//   - a tx part, an eighth of the pool, that all tx rings together may
//     hold in flight (at most a quarter of it, and at least two vectors,
//     per socket; more is dropped and counted in TxRingFull);
//   - a reserve of two vectors (less in tiny pools) for the pipeline:
//     the vector in flight and its flood copies.
//
// Admission reserves a floor: a socket is refused (ErrPoolFull, with the
// numbers and the pool size it would take) when the floors would no
// longer fit beside the other three parts. The default pool serves 88
// sockets, 65536 frames serve 376; PoolCapacity and FramesFor give the
// figures. With that, whatever the sockets hold — idle rings that keep
// their frames, busy rings above their floors, tx rings waiting for
// completions — the sum is at most floors + elastic + tx, so after each
// worker iteration the pool still has the reserve plus every socket's
// missing floor, and no socket can starve. The elastic and tx sums are
// counted exactly (two atomic adds per rx or tx call, none per packet);
// a socket that closes hands its share back with its frames.
//
// A socket's fill target starts at the floor and is set two ways, both
// capped by its ring size and its fair share of the elastic part
// (FillFloor + elastic / sockets: 4096 for each of two ports on the
// default pool, the depth they had before the budget):
//
//   - by rate: every 64 rx calls the clock is read, and once 10 ms have
//     passed the target becomes what the socket received in that window
//     scaled to 200 ms (stallCover) — deep enough that the kernel can go
//     on filling rx while the worker is descheduled for 200 ms. It grows at
//     once and shrinks by at most half per window, down to the floor. A
//     port at 5,000 frames/s keeps 1,000 frames, one at 1 Mpps its whole
//     share, an idle one the floor. (A first version sized only by what
//     the kernel took between two polls: a busy poller at a low rate never
//     saw more than a frame taken, stayed at 64 frames, and lost frames
//     whenever the VM stole 3 ms from the worker.)
//   - by drain: when the kernel took at least half of what the fill ring
//     held (and 32 frames or more) between two refills, the worker polls
//     too seldom for the rate and the target doubles at once.
//
// Frames above a lowered target return to the elastic part as packets
// consume them. An idle socket thus holds 64 frames, a busy one up to its
// ring, and the elastic part goes to the sockets that use it. Sockets that
// were busy and went idle keep their frames; that is why the elastic part
// is a fixed share of the pool and not what the floors leave: however many
// ports come later, their floors are still there.
//
// A refill that finds the ring below its floor and the pool empty is
// starvation: it is counted per queue (QueueStats.FillStarved, summed in
// Stats.FillEmpty), logged the first time for each queue, and Degraded
// reports the port for StarvedWindow after the last one, so the control
// plane can show it. The budget makes it a sign of a bug or of a flood
// that held the whole pool in copies, not of too many ports.
//
// # Queues
//
// The switch opens rx queue q of the port with index i (its number in the
// switch) on worker (q + i) mod W, unless an rx affinity places it
// elsewhere, so that the first queues of different ports spread over the
// workers; each worker transmits on the tx queue numbered like the first
// rx queue it got. Rx and tx of one device queue share one socket, so they
// must be opened on the same pool; with that mapping they always are. The
// device needs at least as many queues as the switch has workers (veth:
// numtxqueues and numrxqueues), so that every worker gets one.
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
// # Handing a port to another process
//
// vswitchd --takeover moves a running port to a new process (Handover,
// Adopt, Swap, then SocketStates and Restore; Release, TakeBack;
// handover_linux.go). The descriptors of the XDP link and the sockets
// travel over SCM_RIGHTS; the rings map again from the sockets with their
// indices where the giver left them; the adopter loads its own program
// (plain or fast path, against its own maps) at Adopt and swaps it into
// the link at Swap, once its maps hold the learned MACs. The UMEM is
// the worker pool, so the pool moves too: it must be shared
// (pipeline.PoolConfig.Shared, a memfd the adopter maps), each socket
// names its pool's arena, and once the giver's workers have stopped each
// socket's ownership bitmap and budget counts move with the pool's free
// list, so that the adopter's pool accounts for every frame exactly once.
// The rings have one producer and one consumer each, so the giver stops
// polling before the adopter starts; what arrives meanwhile waits in the
// rx ring. A shared pool on 4 KiB pages (no shmem huge pages on the host:
// pipeline.Pool.ChunksContiguous) puts sockets in copy mode: zero-copy
// drivers drop frames that cross into a non-contiguous page.
//
// # Fast path
//
// With Config.FastPath the port's XDP program is the fast-path program of
// ports/internal/fastpath instead of the plain redirect: it switches
// frames of known unicast flows to other member ports in the kernel and
// hands the rest to the sockets as before — among them frames longer than
// the egress port sends (FastPath.SetPort reads its MTU), for the
// pipeline to drop and count. FastPath (one per switch) holds the shared
// maps and implements ports.FastPath for the switch; a port that cannot
// take part (no program, a veth whose peer would drop or corrupt
// redirected frames) says why in FastPathIfindex and runs with the plain
// program.
package afxdp
