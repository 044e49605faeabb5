// Package vnetio reads and writes frames behind a virtio-net header on a
// file descriptor, as pipeline chains: the data path shared by the ports
// whose kernel side speaks that header (a tap opened with IFF_VNET_HDR, an
// AF_PACKET socket with PACKET_VNET_HDR on a veth).
//
// A Reader reads with readv(2) (a packet socket's, NewPacketReader: with
// recvmsg(2), to get each frame's PACKET_AUXDATA and put back the VLAN
// tag the kernel took out of it) straight into a reserve of pool buffers:
// the header lands in the first buffer's headroom, the frame after it, and
// whatever does not fit in the first buffer continues in the next ones,
// each used whole (offset 0), so the reserve holds enough for the largest
// frame (64 KiB of IP behind Ethernet and one VLAN tag). The buffers a
// read filled become a chain, the header becomes the chain's offload
// metadata (pipeline.Meta: partial checksum, GSO type and size), and the
// reserve is topped up from the pool. A Writer writes a header made from
// the metadata and the chain's pieces with one writev(2). Neither
// allocates per frame; both are used by one goroutine at a time.
package vnetio
