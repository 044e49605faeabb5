package offload

import "encoding/binary"

// Sizes of struct virtio_net_hdr and of struct virtio_net_hdr_mrg_rxbuf
// (the same with num_buffers), from linux/virtio_net.h.
const (
	HdrLen    = 10
	HdrLenMrg = 12
)

// Flags of virtio_net_hdr.flags.
const (
	// FlagNeedsCsum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the checksum is partial
	// (CHECKSUM_PARTIAL): the 16-bit field at CsumStart+CsumOffset holds
	// the pseudo-header sum, and the sender expects the receiver to fold
	// the sum of everything from CsumStart to the end of the frame into it.
	FlagNeedsCsum = 1
	// FlagDataValid (VIRTIO_NET_HDR_F_DATA_VALID): the checksum was
	// verified (CHECKSUM_UNNECESSARY). Only set towards a guest or an
	// application.
	FlagDataValid = 2
)

// GSO types of virtio_net_hdr.gso_type.
const (
	GSONone  = 0    // VIRTIO_NET_HDR_GSO_NONE: not a GSO frame
	GSOTCPv4 = 1    // VIRTIO_NET_HDR_GSO_TCPV4: TSO over IPv4
	GSOUDP   = 3    // VIRTIO_NET_HDR_GSO_UDP: UFO (IP fragmentation); not supported
	GSOTCPv6 = 4    // VIRTIO_NET_HDR_GSO_TCPV6: TSO over IPv6
	GSOUDPL4 = 5    // VIRTIO_NET_HDR_GSO_UDP_L4: USO, one UDP datagram per segment
	GSOECN   = 0x80 // VIRTIO_NET_HDR_GSO_ECN: TCP with CWR set on the frame
)

// Offsets of the checksum field in the L4 headers.
const (
	tcpCsumOff = 16
	udpCsumOff = 6
)

// VnetHdr is struct virtio_net_hdr (and virtio_net_hdr_mrg_rxbuf). All
// offsets count from the first byte of the Ethernet frame that follows the
// header.
//
// On the wire the 16-bit fields are little-endian: this is the layout of
// virtio 1.0 (VIRTIO_F_VERSION_1, what vhost-user negotiates), of a tap
// with TUNSETVNETLE, and of a tap or PACKET_VNET_HDR socket on a
// little-endian host (x86, arm64), where "native" is little-endian. A
// big-endian host must set TUNSETVNETLE on its taps.
type VnetHdr struct {
	Flags   uint8 // FlagNeedsCsum, FlagDataValid
	GSOType uint8 // GSONone, GSOTCPv4, GSOTCPv6, GSOUDPL4, or'ed with GSOECN
	// HdrLen is the length of the headers, a hint only: Linux sets it to
	// the length of the linear part of the skb, which may be more. It is
	// checked against the frame length and not used otherwise.
	HdrLen     uint16
	GSOSize    uint16 // payload bytes per segment (the MSS for TCP)
	CsumStart  uint16 // where the checksummed data starts (the L4 header)
	CsumOffset uint16 // offset of the checksum field from CsumStart
	NumBuffers uint16 // merged receive buffers (HdrLenMrg layout only)
}

// Decode reads the HdrLen-byte virtio_net_hdr at the start of b into h
// (NumBuffers becomes 0) and checks it with Validate. h is filled even
// when the header is refused. It returns ErrShort if b is too short.
func (h *VnetHdr) Decode(b []byte) error {
	if len(b) < HdrLen {
		return ErrShort
	}
	h.decode(b)
	h.NumBuffers = 0
	return h.validate().err()
}

// DecodeMrg is Decode for the HdrLenMrg-byte virtio_net_hdr_mrg_rxbuf,
// which adds NumBuffers.
func (h *VnetHdr) DecodeMrg(b []byte) error {
	if len(b) < HdrLenMrg {
		return ErrShort
	}
	h.decode(b)
	h.NumBuffers = binary.LittleEndian.Uint16(b[10:])
	return h.validate().err()
}

func (h *VnetHdr) decode(b []byte) {
	_ = b[9]
	h.Flags = b[0]
	h.GSOType = b[1]
	h.HdrLen = binary.LittleEndian.Uint16(b[2:])
	h.GSOSize = binary.LittleEndian.Uint16(b[4:])
	h.CsumStart = binary.LittleEndian.Uint16(b[6:])
	h.CsumOffset = binary.LittleEndian.Uint16(b[8:])
}

// Encode writes h as a HdrLen-byte virtio_net_hdr at the start of b and
// returns HdrLen, or writes nothing and returns 0 if b is shorter. It does
// not validate h.
func (h *VnetHdr) Encode(b []byte) int {
	if len(b) < HdrLen {
		return 0
	}
	h.encode(b)
	return HdrLen
}

// EncodeMrg is Encode for the HdrLenMrg-byte virtio_net_hdr_mrg_rxbuf: it
// also writes NumBuffers and returns HdrLenMrg (or 0).
func (h *VnetHdr) EncodeMrg(b []byte) int {
	if len(b) < HdrLenMrg {
		return 0
	}
	h.encode(b)
	binary.LittleEndian.PutUint16(b[10:], h.NumBuffers)
	return HdrLenMrg
}

func (h *VnetHdr) encode(b []byte) {
	_ = b[9]
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
}

// Validate checks what can be checked without the frame, as Linux's
// virtio_net_hdr_to_skb does: known flags and GSO type, GSOECN only with
// TCP, a GSO size for GSO types, FlagNeedsCsum required by GSOUDPL4, and a
// CsumOffset of 16 (TCP) or 6 (UDP) when a GSO type names the L4
// protocol and FlagNeedsCsum is set. Segment checks the rest against the
// frame.
func (h *VnetHdr) Validate() error { return h.validate().err() }

func (h *VnetHdr) validate() Error {
	if h.Flags&^(FlagNeedsCsum|FlagDataValid) != 0 {
		return ErrBadFlags
	}
	gso := h.GSOType &^ GSOECN
	csum := h.Flags&FlagNeedsCsum != 0
	switch gso {
	case GSONone:
		if h.GSOType&GSOECN != 0 {
			return ErrBadGSOType
		}
		return 0
	case GSOTCPv4, GSOTCPv6:
		if csum && h.CsumOffset != tcpCsumOff {
			return ErrBadCsumOffset
		}
	case GSOUDPL4:
		if h.GSOType&GSOECN != 0 {
			return ErrBadGSOType
		}
		if !csum || h.CsumOffset != udpCsumOff {
			return ErrBadCsumOffset
		}
	case GSOUDP:
		if h.GSOType&GSOECN != 0 {
			return ErrBadGSOType
		}
	default:
		return ErrBadGSOType
	}
	if h.GSOSize == 0 || h.GSOSize == 0xFFFF {
		return ErrBadGSOSize
	}
	return 0
}

// Shift moves the offsets of h by n bytes, for a frame that got n bytes of
// outer headers in front (an encapsulation): CsumStart when FlagNeedsCsum
// is set, and HdrLen unless it is 0 (unknown).
func (h *VnetHdr) Shift(n uint16) {
	if h.Flags&FlagNeedsCsum != 0 {
		h.CsumStart += n
	}
	if h.HdrLen != 0 {
		h.HdrLen += n
	}
}
