package encap

// VXLAN header (RFC 7348 section 5):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|R|R|R|R|I|R|R|R|            Reserved                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                VXLAN Network Identifier (VNI) |   Reserved    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	// HeaderLen is the length of the VXLAN header.
	HeaderLen = 8
	// FlagI is the I flag in the first byte of the VXLAN header: the VNI
	// is valid. It is the only flag RFC 7348 defines.
	FlagI = 0x08
	// DefaultPort is the IANA-assigned VXLAN UDP destination port.
	DefaultPort = 4789
	// MaxVNI is the largest VXLAN network identifier (24 bits).
	MaxVNI = 1<<24 - 1
)

// Header lengths of the outer encapsulation.
const (
	EthLen     = 14 // outer Ethernet header, untagged
	VLANTagLen = 4  // one 802.1Q tag
	IPv4Len    = 20 // outer IPv4 header as Encap writes it (no options)
	IPv6Len    = 40 // outer IPv6 header (no extension headers)
	UDPLen     = 8  // UDP header

	// Overhead4 is what encapsulation over an IPv4 underlay puts in front
	// of the inner frame: Ethernet, IPv4, UDP and VXLAN, 50 bytes.
	Overhead4 = EthLen + IPv4Len + UDPLen + HeaderLen
	// Overhead6 is the same over an IPv6 underlay, 70 bytes.
	Overhead6 = EthLen + IPv6Len + UDPLen + HeaderLen
	// MaxOverhead is the longest header a Template writes: a tagged
	// Ethernet header over IPv6, 74 bytes. It fits the pipeline's
	// 128-byte headroom.
	MaxOverhead = Overhead6 + VLANTagLen
)

// Overhead returns the bytes encapsulation adds in front of the inner
// frame over an untagged underlay: Overhead6 for IPv6, else Overhead4. An
// 802.1Q tag on the underlay adds VLANTagLen more (Template.Len counts it).
func Overhead(is6 bool) int {
	if is6 {
		return Overhead6
	}
	return Overhead4
}

// InnerMTU returns the largest inner IP packet (the MTU to give the
// overlay's interfaces) that fits an underlay whose IP MTU is underlayMTU
// once encapsulated: underlayMTU minus the outer IP, UDP and VXLAN headers
// and the inner Ethernet header, so 1450 for IPv4 and 1430 for IPv6 over
// a 1500-byte underlay, as Linux vxlan devices default to. The outer
// Ethernet header and any outer tag do not count against an IP MTU. It
// returns 0 when nothing fits.
func InnerMTU(underlayMTU int, is6 bool) int {
	m := underlayMTU - (Overhead(is6) - EthLen) - EthLen
	return max(m, 0)
}

// InnerFrameMax returns the largest inner Ethernet frame (header included,
// FCS not) that fits an underlay IP MTU: InnerMTU plus the inner Ethernet
// header.
func InnerFrameMax(underlayMTU int, is6 bool) int {
	if m := InnerMTU(underlayMTU, is6); m > 0 {
		return m + EthLen
	}
	return 0
}
