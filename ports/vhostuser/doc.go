// Package vhostuser is a port on a vhost-user socket: the fast way to plug
// a VM (QEMU, Cloud Hypervisor, Kata Containers, Clear Containers) into a
// userspace switch. The VMM connects to a unix socket the port listens on,
// shares the guest's memory, and the switch moves frames straight in and
// out of the guest's virtio-net rings: no tap device, no kernel, no system
// call per frame. It is pure Go on golang.org/x/sys/unix: SCM_RIGHTS for
// the memory and eventfd descriptors, mmap of the memory regions, eventfd
// writes for interrupts.
//
// # Protocol
//
// The port is a vhost-user backend in server mode (the switch listens, the
// VMM connects as client), following QEMU's docs/interop/vhost-user.rst.
// It serves one front-end at a time; another one waits in the listen
// backlog until the first goes. Supported:
//
//   - Virtio features offered: VIRTIO_F_VERSION_1, VIRTIO_NET_F_MRG_RXBUF,
//     VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX,
//     VIRTIO_F_ANY_LAYOUT, VIRTIO_NET_F_GUEST_ANNOUNCE,
//     VHOST_USER_F_PROTOCOL_FEATURES, and VIRTIO_NET_F_MQ when Config.Queues
//     is above 1; unless Config.NoOffload (offload=off), the checksum and
//     segmentation offloads VIRTIO_NET_F_CSUM, GUEST_CSUM, HOST_TSO4,
//     HOST_TSO6, HOST_ECN, HOST_USO, GUEST_TSO4, GUEST_TSO6, GUEST_ECN,
//     GUEST_USO4 and GUEST_USO6 (see "Virtio-net header"). Legacy drivers
//     (no VERSION_1) work too.
//   - Protocol features offered: MQ, REPLY_ACK, RARP.
//   - Requests: GET/SET_FEATURES, GET/SET_PROTOCOL_FEATURES, SET_OWNER,
//     RESET_OWNER, SET_MEM_TABLE (up to 8 regions, also while rings run),
//     SET_VRING_NUM/ADDR/BASE/KICK/CALL/ERR/ENABLE, GET_VRING_BASE (stops
//     the ring and returns where it stopped), GET_QUEUE_NUM, SEND_RARP.
//     The NEED_REPLY flag is honoured once REPLY_ACK is negotiated.
//
// Any other request, or a malformed one (bad version, wrong payload size,
// wrong number of descriptors, ring index out of range, ring size not a
// power of two up to 32768, overlapping or wrapping memory regions, a
// feature that was not offered), is a protocol error: the port drops the
// connection, counts it (Stats.ProtocolErrors), logs it and waits for the
// next front-end. Every descriptor received with a message is kept or
// closed, whatever happens.
//
// Rings follow the specification's life cycle: with
// VHOST_USER_F_PROTOCOL_FEATURES a ring starts disabled and runs once it
// has a size, addresses, a kick eventfd and SET_VRING_ENABLE 1; without
// it, it runs once the kick eventfd is set. GET_VRING_BASE stops it until
// its next SET_VRING_KICK. A ring whose addresses do not lie in guest
// memory is not started (logged). When the connection ends (the VMM quits,
// crashes or restarts), every ring is stopped, the memory unmapped and the
// eventfds closed; the next VMM to connect starts afresh. Not supported:
// packed rings, dirty-page logging (live migration with the port's memory
// writes tracked: LOG_SHMFD, VHOST_F_LOG_ALL), IOTLB (vIOMMU), in-flight
// descriptor tracking (INFLIGHT_SHMFD: when the switch itself restarts without
// a takeover, a QEMU started with reconnect= connects again and sets the
// rings up anew, but frames in flight at that moment may be lost; see
// "Handing a port to another process"), client mode (the
// switch connecting to a VMM's socket), postcopy, the backend request
// channel, SET_CONFIG/GET_CONFIG, SET_STATUS, and adding memory slots one
// by one.
//
// # Data path
//
// Rx queue q polls the guest's transmit ring of queue pair q (virtqueue
// 2q+1) and copies each frame into a fresh buffer of the worker's pool
// (a GSO frame into a chain of them), batch by batch; every consumed chain goes back to the guest as a used
// entry at once. Tx queue q copies frames into the guest's receive ring of
// pair q (virtqueue 2q), spreading a frame over as many receive buffers as
// it needs with mergeable buffers; when the guest runs out of buffers the
// rest of the batch is dropped (Stats.TxFull), never waited for. The used
// index is published once per batch. Neither allocates.
//
// The guest is interrupted (call eventfd) only when it asked: not while
// VRING_AVAIL_F_NO_INTERRUPT is set, and with EVENT_IDX only when the used
// index passes its used_event; at most once per batch. Kicks are asked
// for only when they are useful: on the guest's receive ring never (the
// switch fills it when it has frames), on its transmit ring only after a
// run of empty polls (as many as a worker makes before it sleeps in
// epoll), so that a busy guest makes no system call to kick. The rx
// queue's pipeline.Pollable descriptor is an epoll set holding the kick
// eventfd, so an idle worker sleeps until the guest sends.
//
// A worker and the control plane share each ring through a small lock
// held for one Rx or Tx batch (no lock per frame); the control plane swaps
// rings in and out under it, so after a ring is stopped no worker touches
// it or its memory. Two tx queues may share one guest receive ring (when
// the guest enabled fewer queue pairs than the port has): the same lock
// serialises them. Ring indices are read and written with atomic 32-bit
// operations (avail->idx an acquire load, used->idx a release store after
// the used elements); ring_unsafe.go is the only file that uses unsafe.
//
// # Guest memory is untrusted
//
// Every address the guest gives (descriptor buffers, indirect tables) is
// checked against the memory table before it is touched, so no guest can
// make the switch read or write outside its own memory; ring addresses are
// checked once, when the ring starts. Each descriptor is read once into
// locals. A chain is bounded by the ring size (loops end), indirect tables
// are bounded and may not nest, buffers must have the right direction. A
// bad chain is dropped, counted (Stats.RxBadDesc/RxBadAddr,
// TxBadDesc/TxBadAddr) and given back to the guest. An avail index that
// runs more than a ring's size ahead marks the ring broken
// (Stats.RxBrokenRings/TxBrokenRings) until the front-end sets it up again.
// A front-end that shrinks its memory file under the switch makes a
// worker's access fault: the fault is caught (debug.SetPanicOnFault), the
// connection dropped and counted (Stats.Faults); the switch does not crash.
//
// # Virtio-net header
//
// The header (10 bytes, or 12 with VERSION_1 or MRG_RXBUF) comes before
// every frame both ways. What it may say depends on what the guest
// negotiated; the port offers the offloads (unless Config.NoOffload) and
// the guest's driver picks (Linux's virtio-net takes all of them, DPDK's
// those its application enables). The features the specification makes
// depend on others count only with them (TSO without CSUM is none).
//
// From the guest (Rx). A guest that negotiated VIRTIO_NET_F_CSUM may leave
// checksums partial (NEEDS_CSUM); with HOST_TSO4/6 (HOST_ECN) or HOST_USO
// it may send GSO frames of up to 64 KiB in one descriptor chain, header
// first. The header is decoded and checked with offload.VnetHdr (known
// flags and GSO type, a GSO size, the L4 checksum offset the type
// implies), and its offsets against the frame; the frame is copied into a
// pipeline chain (pipeline.MaxPacket bytes in the first buffer, every
// header there, a whole frame in each further one, as a tap reads them)
// and the header becomes the first buffer's Meta: OffloadCsumPartial with
// CsumStart/CsumOff, OffloadGSO with GSOType/GSOSize. The switch carries
// it as it is to ports that take it and segments it before the others. A
// header that is refused or does not fit its frame is dropped
// (Stats.RxBadHeader); a GSO type the guest did not negotiate (or UFO,
// never offered) is dropped (Stats.RxGSO); GSO frames taken are counted
// (Stats.RxGSOFrames). DATA_VALID from a guest is ignored. A guest that
// did not negotiate offloads is treated as before: a partial checksum is
// completed in software (as Linux's skb_checksum_help does), a GSO frame
// dropped (RxGSO), and frames above pipeline.MaxPacket are dropped
// (RxOversize) whatever the guest negotiated, unless they are GSO frames.
// When the pool runs dry in the middle of a large frame, the frame waits
// in the guest's ring (Stats.RxNoBuffer).
//
// To the guest (Tx). The port reports ports.Info.Offload (unless
// Config.NoOffload), so the switch hands it large frames (chains) and
// partial checksums. Info is fixed for the port's lifetime, but each
// front-end negotiates anew (a VM reboots into another OS, a DPDK guest
// enables fewer offloads, offloads differ per connection), so the port
// itself makes a frame fit the guest it has, rather than asking the
// switch to: a GSO frame goes whole, its header describing it (GSO type
// and size, NEEDS_CSUM, hdr_len) and the frame spread over as many
// mergeable receive buffers as it needs (num_buffers), to a guest that
// negotiated GUEST_TSO4/6 (GUEST_ECN for frames with the ECN bit,
// GUEST_USO4/6 for UDP) (Stats.TxGSOFrames); to any other guest it is cut
// by offload.Segment into plain segments with full checksums, in buffers
// of the pool, and each segment is delivered as a frame of its own
// (Stats.TxSegmented). A frame with only a partial checksum goes with
// NEEDS_CSUM to a guest with GUEST_CSUM and is completed in place
// otherwise; a frame the sender verified (OffloadCsumValid) is marked
// DATA_VALID for a guest with GUEST_CSUM. Frames whose offload state
// cannot be honoured are dropped (Stats.TxBadOffload: offload.Segment
// refused them, a checksum field outside the first buffer, more than 128
// segments, segments larger than a pool buffer), as are GSO frames when
// the pool has no buffers to segment into (Stats.TxNoBuffer). The
// segment buffers are freed before Tx returns (and on a guest memory
// fault); the per-queue scratch (piece and segment tables) is made when
// the queue opens, so neither direction allocates.
//
// With Config.NoOffload nothing of this is offered, Info.Offload is
// false, and the switch's gso node segments before the port, as for any
// port without offloads.
//
// # Limits
//
// Frames up to pipeline.MaxPacket (2048) bytes both ways (no jumbo frames:
// a longer guest frame is dropped, Stats.RxOversize), except GSO frames,
// up to a 64 KiB IP packet behind an Ethernet header and a VLAN tag, when
// offloads are negotiated. At most MaxQueues
// queue pairs. Split rings only. Little-endian layout as virtio 1.x
// defines (legacy drivers on big-endian guests are not supported). A
// virtio-net header must lie in the first buffer of a receive chain and in
// one memory region (every driver does so).
//
// # Handing a port to another process
//
// vswitchd --takeover (a hitless restart or upgrade) moves a running port
// to the new process without the front-end (QEMU, a DPDK guest) noticing:
// no reconnect, no ring reset, no frame lost or sent twice. What moves is
// what the front-end shares with the port: the listening socket, the
// connection, each guest memory region's file (the memory table keeps a
// descriptor per region for this, closed with the table), and each
// ring's kick and call eventfds; with them a description (Handover, JSON)
// of the device state the requests built: the port's shape, negotiated
// features and protocol features, the memory table, and per ring its
// size, addresses, base, started, enabled and running.
//
// A ring has one consumer, and the connection one reader, so the move has
// two phases, in this order:
//
//  1. The giver, still forwarding, calls Port.Handover: from then on it
//     reads no request and accepts no connection (a request under way is
//     finished first; what the front-end sends meanwhile waits in the
//     socket, and a front-end that connects waits in the backlog); its
//     rings keep running. The taker calls Adopt with the description and
//     duplicates of the descriptors: it checks each (a listening unix
//     socket bound to the path, a connection on it, memory files as long
//     as their regions, eventfds), maps the memory again and rebuilds the
//     state, checking that exactly the rings that run in the giver can
//     run here, but starts no ring and reads nothing. The switch opens
//     its queues.
//  2. Once the giver's workers have stopped, Port.LateState says where
//     each running ring stands (the next avail entry to consume, the used
//     index, broken or not; every batch publishes its used entries and
//     signals the guest before it ends, so nothing else is pending), and
//     the taker's Port.Restore, before its workers start, starts the
//     rings there and begins reading the connection, requests queued in
//     the meantime first. Guest kicks the giver's worker drained went
//     with it, so Restore kicks each rx queue once itself.
//
// After the commit the giver calls Port.Release, then closes its queues
// and the port: only its own descriptors and mappings go; the socket path
// stays and nothing is sent to the front-end. A takeover abandoned before
// Restore is undone by Release and Close in the taker (likewise) and
// Port.TakeBack in the giver, which reads requests again. Refusals are
// typed: Handover wraps ErrNoHandover (a closed port, or a front-end that
// does not finish a request within 10 s), Adopt and Restore wrap
// ErrBadHandover and change nothing (the caller keeps its descriptors).
//
// The gap between the giver's last poll and the taker's first costs
// latency, not frames, as long as the guest's rings do not fill
// meanwhile; requests the front-end sends during the handover (QEMU waits
// for the replies) are answered late, not lost. Not handed over: the
// announce (SEND_RARP, Config.MAC) a ring start would make (the switch's
// learned addresses move with the takeover), the error eventfds (never
// kept), counters (each process counts its own), and in-flight
// descriptor tracking, which is not supported at all (INFLIGHT_SHMFD):
// the takeover needs none, since the giver stops between batches.
//
// # Plugging in
//
// vsctl add-port BR vm1 type=vhostuser socket=/run/vswitch/vm1.sock
// [mac=02:00:00:00:00:01] [queues=N] [socket_mode=0660] [offload=off]:
// ParseOptions reads those
// options into a Config. The socket is created by the port (a stale one
// replaced) and removed when the port goes. QEMU then attaches with
//
//	-chardev socket,id=c0,path=/run/vswitch/vm1.sock,reconnect=1
//	-netdev vhost-user,id=n0,chardev=c0
//	-device virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01
//	-object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem
//
// (guest memory must be shared: memfd or hugetlbfs with share=on). Set
// mac= to the guest's MAC and the switch learns where the VM is as soon as
// it starts its rings (a RARP broadcast from that MAC, as after a live
// migration).
//
// # Tested with
//
// DPDK's virtio_user (testpmd) plays the guest in the testpmd tests. A
// real VM does in TestQEMUGuest: Debian 12's QEMU 7.2 (TCG, no KVM)
// boots Debian's kernel (6.1) with an initramfs the test builds
// (internal/vmtest: busybox-static, virtio_pci and virtio_net with their
// dependencies, a script as /init), QEMU as vhost-user client on the
// port's socket with guest memory in a shared memfd, the NIC
// virtio-net-pci with mrg_rxbuf, csum, guest_csum and host/guest_tso4/6.
// The port's other side is a container (a namespace on an offload tap).
// The guest's Linux virtio-net driver pings the container, sends it
// 16 MiB by TCP (busybox nc) and receives 16 MiB from it; both arrive
// intact (SHA-256 at both ends), neither kernel counts a checksum error,
// the guest's feature bits (/sys/bus/virtio/devices/virtio0/features)
// match Status.Features, and with offloads the frames cross as GSO
// frames both ways (Stats.RxGSOFrames, TxGSOFrames); with offload=off,
// as plain frames of at most 1514 bytes. Both variants run in about
// 30 s (the guest is up about 8 s after QEMU starts).
//
// QEMU 7.2 under TCG segfaults (a NULL dereference below
// msix_set_vector_notifiers, from vhost_net_start, before it sends
// SET_FEATURES) when the guest starts a vhost-user NIC that uses MSI-X;
// the test gives the NIC vectors=0 (INTx). With KVM the MSI-X path goes
// through irqfds instead; it was not tried here (no /dev/kvm).
//
// # Kata Containers
//
// Kata's runtime (virtcontainers, in kata-containers/runtime 1.x and in
// src/runtime of kata-containers 2.x and later; checked against their
// sources) looks, for every interface of the pod's network namespace that
// is not a physical NIC, and for each IP address on it, for a socket at
//
//	/tmp/vhostuser_<IP address>/vhu.sock
//
// (Go's formatting of the address, for example
// /tmp/vhostuser_10.1.1.5/vhu.sock). If one exists, the interface is a
// placeholder: Kata plugs a vhost-user NIC into the VM instead of its
// tap/veth plumbing, with QEMU as client on that socket and the
// interface's MAC as the guest NIC's MAC. The path is the one the Clear
// Containers VPP and OVS-DPDK network plugins used, and no configuration
// option changes it. So a CNI plugin for this switch leaves a placeholder
// interface (a dummy link) with the container's IP and MAC in the
// namespace and adds the port with socket=/tmp/vhostuser_<IP>/vhu.sock
// mac=<that MAC>; the port creates the directory. Not verified here: that
// QEMU under Kata shares guest memory with the backend only when
// configured to (from memory: enable_hugepages = true, or a shared file
// memory backend, in configuration.toml); without shared memory the
// memory table cannot be mapped and the rings never start.
//
// /tmp is world-writable, so the port refuses a socket directory that is
// a link, belongs to another user (root excepted) or is writable by
// others without the sticky bit: a local user who created
// /tmp/vhostuser_<IP> first cannot take the VM's traffic.
package vhostuser
