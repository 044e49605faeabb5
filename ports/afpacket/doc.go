// Package afpacket is a port on an existing interface (typically the host
// end of a container's veth) read and written through AF_PACKET sockets
// with PACKET_VNET_HDR: the kernel hands over the frames the container
// sends as they are, up to 64 KiB with their GSO state and partial
// checksums behind a virtio-net header, and takes such frames back. The
// container keeps TSO and checksum offload on a plain veth, so its TCP
// crosses the switch in large frames, as through an offload tap
// (ports/tap Config.Offload); the data path is the same
// (ports/internal/vnetio: one readv or writev per frame, zero-alloc).
//
// AF_XDP (ports/afxdp) moves more small frames per second (batched rings,
// no system call per frame) but only 1500-byte ones: the kernel turns TSO
// off on a veth whose peer has an XDP program, and AF_XDP carries no
// checksum state. This port is for TCP throughput; afxdp for packet rate.
//
// # Sockets
//
// Each queue is one AF_PACKET socket (SOCK_RAW, ETH_P_ALL, non-blocking)
// bound to the interface, with PACKET_VNET_HDR, PACKET_IGNORE_OUTGOING
// (the frames the switch sends are not read back) and PACKET_QDISC_BYPASS
// (sent frames skip the interface's qdisc). With several queues the
// sockets form a PACKET_FANOUT_HASH group, so each flow is read by one
// queue and a frame by one socket only.
//
// # The interface's own stack
//
// A packet socket taps frames; it does not take them. The kernel's stack
// would still receive every frame on the interface, and a host with IP
// forwarding on (any Docker or Kubernetes node) would route the
// container's traffic a second time. New therefore attaches a BPF
// program at the interface's tcx ingress hook (Linux 6.6) that drops every
// frame after the packet sockets have seen it (tc runs after AF_PACKET
// delivery); Close detaches it. The interface must carry no address the
// host uses.
package afpacket
