// Package afpacket is a port on an existing interface (typically the host
// end of a container's veth) read and written through AF_PACKET sockets
// with PACKET_VNET_HDR: the kernel hands over the frames the container
// sends as they are, up to 64 KiB with their GSO state and partial
// checksums behind a virtio-net header, and takes such frames back. The
// container keeps TSO and checksum offload on a plain veth, so its TCP
// crosses the switch in large frames, as through an offload tap
// (ports/tap Config.Offload); the data path is the same (one system call
// per frame, zero-alloc): ports/internal/vnetio's Writer, and a reader of
// the port's own that brings each frame's VLAN tag back (below).
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
// # VLAN tags
//
// The kernel takes the 802.1Q (or 802.1ad) tag out of every frame an
// interface receives, into the packet's metadata, before packet sockets
// see it (veth offers rx VLAN offload, and the stack untags in software
// anyway): a container's tagged frame would reach the switch untagged, in
// the trunk's native VLAN or the access port's own. Each socket therefore
// has PACKET_AUXDATA on and is read with recvmsg(2) instead of readv(2)
// (vnetio.NewPacketReader);
// when the auxdata reports a tag (TP_STATUS_VLAN_VALID), the port puts it
// back at offset 12 (its TPID when TP_STATUS_VLAN_TPID_VALID, else
// 0x8100), moving the MACs 4 bytes into the headroom as the switch's own
// tagging does, and a partial checksum's start with them. No extra system
// call and no allocation per frame. Frames the port sends keep their tags
// as written.
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
