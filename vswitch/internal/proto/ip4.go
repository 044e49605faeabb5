package proto

import "encoding/binary"

// IP protocol numbers (IPv4 protocol, IPv6 next header) this package uses.
const (
	ProtoHopByHop uint8 = 0   // IPv6 hop-by-hop options
	ProtoICMP     uint8 = 1   // ICMP for IPv4
	ProtoTCP      uint8 = 6   // TCP
	ProtoUDP      uint8 = 17  // UDP
	ProtoRouting  uint8 = 43  // IPv6 routing header
	ProtoFragment uint8 = 44  // IPv6 fragment header
	ProtoAH       uint8 = 51  // authentication header
	ProtoICMPv6   uint8 = 58  // ICMP for IPv6
	ProtoNoNext   uint8 = 59  // IPv6 no next header
	ProtoDstOpts  uint8 = 60  // IPv6 destination options
	ProtoSCTP     uint8 = 132 // SCTP
)

// Header lengths.
const (
	MinHeaderLen4 = 20 // IPv4 header without options (IHL 5)
	MaxHeaderLen4 = 60 // IPv4 header with the most options (IHL 15)
	HeaderLen6    = 40 // IPv6 fixed header
)

// Check4 validates the IPv4 header at the front of ip (RFC 1812 5.2.2) and
// returns its length in bytes. Reasons: Runt (ip shorter than 20 bytes or
// than the header its IHL gives), BadVersion, BadIHL (IHL < 5), BadLength
// (total length below the header length or beyond ip) and BadChecksum.
// Options are not inspected.
//
// A total length shorter than ip is accepted: Ethernet pads frames to 60
// bytes, and the caller trims ip to TotalLen4 before using the payload.
func Check4(ip []byte) (hdrLen int, r Reason) { return Check4Avail(ip, len(ip)) }

// Check4Avail is Check4 for a packet of avail bytes of which ip holds the
// first (at least the header): a large frame in a pipeline chain.
func Check4Avail(ip []byte, avail int) (hdrLen int, r Reason) {
	if len(ip) < MinHeaderLen4 {
		return 0, Runt
	}
	if ip[0]>>4 != 4 {
		return 0, BadVersion
	}
	hl := int(ip[0]&0x0F) << 2
	if hl < MinHeaderLen4 {
		return 0, BadIHL
	}
	if hl > len(ip) {
		return 0, Runt
	}
	if tl := int(binary.BigEndian.Uint16(ip[2:])); tl < hl || tl > avail {
		return 0, BadLength
	}
	if sum32(ip[:hl]) != 0xFFFF {
		return 0, BadChecksum
	}
	return hl, OK
}

// HeaderLen4 returns the header length in bytes from the IHL field.
func HeaderLen4(ip []byte) int { return int(ip[0]&0x0F) << 2 }

// TotalLen4 returns the total length field: header plus payload, in bytes.
func TotalLen4(ip []byte) int { return int(binary.BigEndian.Uint16(ip[2:])) }

// Src4 returns the source address.
func Src4(ip []byte) uint32 { return binary.BigEndian.Uint32(ip[12:]) }

// Dst4 returns the destination address.
func Dst4(ip []byte) uint32 { return binary.BigEndian.Uint32(ip[16:]) }

// Proto4 returns the protocol field.
func Proto4(ip []byte) uint8 { return ip[9] }

// TTL4 returns the time to live.
func TTL4(ip []byte) uint8 { return ip[8] }

// DF4 reports whether the don't-fragment flag is set.
func DF4(ip []byte) bool { return ip[6]&0x40 != 0 }

// MF4 reports whether the more-fragments flag is set.
func MF4(ip []byte) bool { return ip[6]&0x20 != 0 }

// FragOffset4 returns the fragment offset in bytes (the field times 8).
func FragOffset4(ip []byte) int { return int(binary.BigEndian.Uint16(ip[6:])&0x1FFF) << 3 }

// IsFragment4 reports whether ip is a fragment: MF set or a non-zero
// offset. Only the first fragment (offset 0) carries the upper-layer header.
func IsFragment4(ip []byte) bool { return binary.BigEndian.Uint16(ip[6:])&0x3FFF != 0 }
