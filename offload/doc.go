// Package offload is the packet logic of Vecswitch's segmentation and
// checksum offloads (issue 18): the virtio-net header, partial checksums
// and software GSO. It lets the switch carry large TCP frames (up to 64
// KiB) with partial checksums from the ports that deliver them to the
// ports that take them, and cut them into wire-sized frames only where it
// has to. Everything here is a plain function over byte slices: no
// buffers, ports, syscalls or platform code, so it builds and is tested on
// any OS. Nothing on the per-packet path allocates, locks or uses
// interfaces other than returning an Error.
//
// # What the kernel hands over
//
// A tap opened with IFF_VNET_HDR, whose offloads were enabled with
// TUNSETOFFLOAD (TUN_F_CSUM, then TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN,
// TUN_F_USO4/6), reads and writes every frame behind a struct
// virtio_net_hdr (10 bytes, or 12 with TUNSETVNETHDRSZ, the mergeable
// buffers layout). A frame the host stack sends to the tap may then be:
//
//   - a plain frame with a full checksum: flags 0 (or FlagDataValid);
//   - a frame with a partial checksum (CHECKSUM_PARTIAL): FlagNeedsCsum,
//     CsumStart at the TCP or UDP header, CsumOffset 16 or 6, and the
//     checksum field holding the pseudo-header sum only;
//   - a GSO frame: the same, plus GSOType (TCPv4, TCPv6, UDP L4, ECN) and
//     GSOSize, the payload of each segment (the MSS). Its headers are those
//     of the first segment with the IP length of the whole frame, up to
//     64 KiB.
//
// The same applies the other way: what the switch writes to such a tap may
// be partial or GSO, and the kernel finishes it. An AF_PACKET socket with
// PACKET_VNET_HDR carries the same header in front of every frame (GSO
// frames arrive when the interface has GSO/GRO and the socket has the
// option set); vhost-user and virtio rings carry it in the first
// descriptor of each packet. VnetHdr.Decode and VnetHdr.Encode read and
// write the header, little-endian (see VnetHdr), and check it as Linux's
// virtio_net_hdr_to_skb does.
//
// # Where segmentation happens
//
// A port that reads large frames keeps them large: forwarding, learning,
// ACLs and encapsulation cost per frame, not per byte, so a 64 KiB frame
// through the graph costs about what one 1500-byte frame costs, and about
// 45 times fewer frames pass (65535/1448). The frame is cut last, at an egress port that cannot
// take it: one without the offload negotiated (a tap without TUN_F_TSO*,
// an AF_XDP or plain AF_PACKET port, a physical NIC without TSO through
// this path), or one whose frames are tunnelled. Segmenting after the
// encapsulation is what lets each segment be a complete VXLAN packet with
// correct outer headers, and it is needed because struct virtio_net_hdr
// has no way to describe a tunnelled GSO frame to the kernel (the
// UDP_TUNNEL GSO types of Linux 6.15 need the larger v1 hash-tunnel header,
// which this package does not handle). An egress port that takes partial
// checksums but not GSO frames for a non-GSO frame with FlagNeedsCsum hands
// it over as is; one that takes neither calls CompleteChecksum.
//
// A frame built by the switch itself (a reply, a frame from a port without
// offloads going to one with them) can be described for a port with
// Describe, DescribeGSO or PreparePartial; FillChecksums writes full
// checksums.
//
// # Supported
//
//   - VnetHdr: both header sizes, all flags and GSO types, validation.
//   - CompleteChecksum at any offset (the skb_checksum_help semantics),
//     pseudo-header sums for IPv4 and IPv6, full TCP and UDP checksums.
//   - Segment: GSOTCPv4, GSOTCPv6 (with or without GSOECN) and GSOUDPL4
//     over Ethernet with at most one 802.1Q or 802.1ad tag, IPv4 with or
//     without options, IPv6 without extension headers; TCP options are
//     copied to every segment (timestamps included, as Linux does). The
//     frame may be in pieces, with all its headers in the first. The IPv4
//     ID is incremented per segment (Linux's behaviour without
//     SKB_GSO_TCP_FIXEDID).
//   - SegmentVXLAN: the same inside a VXLAN packet over IPv4 or IPv6, every
//     outer header fixed per segment. The outer UDP checksum stays zero if
//     it was zero and is recomputed per segment if it was not.
//
// # Not supported
//
//   - GSOUDP (UFO, IP fragmentation of UDP): ErrUnsupportedGSO. Linux has
//     not produced it since 4.14 and only accepts it for compatibility.
//   - IPv6 extension headers (including the hop-by-hop jumbo option of BIG
//     TCP), IPv4 fragments, two VLAN tags, frames above 64 KiB.
//   - Tunnels other than VXLAN (Geneve, GRE), and GSO types for tunnels in
//     the virtio-net header; the TCP urgent pointer is copied unchanged.
//   - IP and TCP fields that Linux's GSO leaves alone are left alone: TTL,
//     DSCP/ECN bits, IPv4 DF, the TCP window, the IPv6 flow label.
//
// # How the switch uses it
//
// An ingress port that reads a virtio-net header decodes it with Decode
// and keeps the fields with the frame. Nodes that add headers in front of
// the frame move the offsets (VnetHdr.Shift). An egress port that can take
// the frame as it is writes the header back with Encode; one that cannot
// calls Segment, or SegmentVXLAN for a frame the VXLAN encap node wrapped,
// into buffers of its own, and sends the segments as plain frames.
//
// # Cost
//
// Segment copies the headers and the payload once into the segments and
// sums each segment's L4 header and payload once (internal/csum, eight
// bytes at a time); the IP header checksums cover 20 to 60 bytes. The outer
// UDP checksum of a VXLAN segment costs no pass over the payload. Rerun
// go test -bench . ./offload: on a 2-core VM (AMD Turin class, Go 1.26) a 64 KiB
// TCP/IPv4 frame cut at MSS 1448 takes about 8 µs (66 Gbit/s of payload
// on one core), through VXLAN about 9 µs, and CompleteChecksum over 64 KiB
// about 5 µs.
//
// # Errors
//
// Every refusal is an Error, a small integer with a fixed text, so that a
// port can count drops per reason in an array of NumErrors counters.
// Nothing panics on bad input: truncated headers, inconsistent lengths or
// GSO fields, too few or too small destination buffers are all refused
// before any segment is written.
package offload
