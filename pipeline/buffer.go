package pipeline

// BufID names one frame of a Pool. IDs are dense, starting at 0.
type BufID uint32

const (
	// VectorSize is the largest number of packets in one vector.
	VectorSize = 256
	// FrameSize is the size of one frame in a Pool, headroom included:
	// Headroom plus 2048 bytes of packet. It is deliberately not a power of
	// two: with a 2048-byte stride every packet's first byte falls into the
	// same two L1 cache sets and a vector of 256 packets thrashes them
	// (measured: 15% slower per packet end to end). AF_XDP takes such a
	// chunk size in unaligned-chunk mode, as DPDK's AF_XDP driver does.
	FrameSize = 2176
	// Headroom is the space kept in front of received packet data, enough
	// for an outer Ethernet+VLAN+IPv6+UDP+VXLAN header with room to spare.
	Headroom = 128
	// MaxPacket is the largest packet a frame holds after the headroom.
	MaxPacket = FrameSize - Headroom
)

// Meta is the per-buffer metadata, kept in an array parallel to the frames.
// The pipeline itself only uses Off and Len; the other fields belong to the
// layers above (named here so every layer agrees on the layout and so the
// array needs no per-packet heap object).
type Meta struct {
	// Off is the offset of the packet's first byte within its frame.
	Off uint16
	// Len is the packet length in bytes.
	Len uint16
	// InPort is the index of the port the packet arrived on.
	InPort uint16
	// OutPort is the index of the port chosen for output.
	OutPort uint16
	// Domain is the forwarding domain: an L2 learning domain (bridge, VLAN)
	// or, for routed packets, a VRF.
	Domain uint16
	// VLAN is the packet's 802.1Q VLAN ID inside the switch (tags are
	// stripped on input and pushed again on output); 0 means untagged.
	VLAN uint16
	// Flags holds per-packet flag bits owned by the layers above.
	Flags uint16
	// Iface is the router interface a routed packet entered by (or, after
	// the route lookup, leaves by); 0 is none.
	Iface uint16
	// FlowHash is a hash of the packet's flow, 0 until computed.
	FlowHash uint32
	// Conn references a connection-tracking entry; 0 is none.
	Conn uint32
	// Verdict is a policy verdict; 0 is none.
	Verdict uint8
	// Offload holds the Offload* bits (checksum partial or valid, GSO,
	// tunnel).
	Offload uint8
	// GSOType is the large frame's segmentation type (the virtio-net
	// header's gso_type: 1 TCPv4, 4 TCPv6, 5 UDP L4; 0 none).
	GSOType uint8
	_       uint8
	// Aux is scratch one node passes to the next (for example the MTU an
	// ICMP error quotes); it means nothing across unrelated nodes.
	Aux uint32
	// GSOSize is the payload size of each segment of a GSO frame.
	GSOSize uint16
	// CsumStart and CsumOff locate a partial checksum (OffloadCsumPartial):
	// the ones-complement sum of the packet from CsumStart on goes into the
	// 16 bits at CsumStart+CsumOff, as in the virtio-net header.
	CsumStart, CsumOff uint16
	// RxFrom is one plus the port the frame was received on, 0 for a
	// frame the switch made. Unlike InPort, which routing (the router's
	// port) and decapsulation (the tunnel's) rewrite, it stays: a
	// capture of a port's dropped frames finds them by it.
	RxFrom uint16
	// Next links a frame larger than one buffer to its next piece: that
	// buffer's ID plus one; 0 ends the frame. Only the first buffer of a
	// chain carries the other fields; see chain.go.
	Next uint32
}

// Meta.Offload bits.
const (
	// OffloadCsumPartial: the L4 checksum is not computed; CsumStart and
	// CsumOff say where it goes (the kernel's CHECKSUM_PARTIAL).
	OffloadCsumPartial = 1 << iota
	// OffloadCsumValid: the sender vouches for the checksums (the kernel's
	// CHECKSUM_UNNECESSARY, virtio's DATA_VALID).
	OffloadCsumValid
	// OffloadGSO: a large frame to be cut into GSOSize segments (GSOType
	// says how) by the receiver, or by the switch before a port that
	// cannot take it.
	OffloadGSO
	// OffloadTunnel: an OffloadGSO frame already encapsulated in VXLAN;
	// CsumStart locates the inner L4 header. No port takes such a frame
	// as it is: the switch cuts it with offload.SegmentVXLAN (inner and
	// outer headers fixed per segment) before any port.
	OffloadTunnel
)
