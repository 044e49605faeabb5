package encap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Defaults a zero TemplateConfig field stands for.
const (
	// DefaultTTL is the outer TTL (IPv6 hop limit) of unicast tunnels, the
	// kernel's default ip_default_ttl that Linux vxlan devices use.
	DefaultTTL = 64
	// DefaultSrcPortMin and DefaultSrcPortMax bound the UDP source ports
	// Encap picks from the flow hash: the dynamic/private range RFC 7348
	// section 5 recommends (RFC 6335).
	DefaultSrcPortMin = 49152
	DefaultSrcPortMax = 65535
)

// ErrConfig is wrapped by every error NewTemplate returns.
var ErrConfig = errors.New("encap: invalid tunnel configuration")

// Ethernet and IP constants the headers use.
const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86DD
	etherTypeVLAN = 0x8100
	protoUDP      = 17
	protoFragment = 44 // IPv6 fragment header
)

// TemplateConfig describes one tunnel: traffic from the local VTEP Src to
// the remote VTEP Dst in network VNI. Zero fields take the defaults named.
type TemplateConfig struct {
	// SrcMAC is the MAC address of our underlay interface.
	SrcMAC [6]byte
	// DstMAC is the MAC address of the next hop towards Dst. It may be
	// zero until the neighbor is resolved: see SetNextHopMAC.
	DstMAC [6]byte
	// VLAN, when not 0, tags the outer frame with this 802.1Q VLAN ID
	// (1 to 4094, priority 0), for an underlay on a VLAN.
	VLAN uint16
	// Src and Dst are the local and remote VTEP addresses, both IPv4 or
	// both IPv6 (IPv4-mapped IPv6 addresses count as IPv4; zones are
	// ignored). Dst may be a multicast group.
	Src, Dst netip.Addr
	// VNI is the VXLAN network identifier, at most MaxVNI.
	VNI uint32
	// DstPort is the UDP destination port; 0 means DefaultPort.
	DstPort uint16
	// SrcPortMin and SrcPortMax bound the UDP source ports (inclusive).
	// Both 0 means DefaultSrcPortMin to DefaultSrcPortMax; set them to
	// 32768 and 60999 to pick from the range Linux vxlan devices use by
	// default (the local port range).
	SrcPortMin, SrcPortMax uint16
	// TTL is the outer IPv4 TTL or IPv6 hop limit; 0 means DefaultTTL, or
	// 1 when Dst is multicast, as Linux vxlan devices do.
	TTL uint8
	// TOS is the outer IPv4 TOS byte or IPv6 traffic class.
	TOS uint8
	// DF sets don't-fragment in the outer IPv4 header. Off, as with Linux
	// vxlan devices' default "df unset", the IPv4 ID stays 0 in every
	// packet, so a receiver could not reassemble fragments of several
	// packets correctly: set it (as Open vSwitch does by default) unless
	// the underlay must fragment. IPv6 has no DF bit: routers never
	// fragment.
	DF bool
	// UDPChecksum4 computes the UDP checksum over IPv4 too. RFC 7348 says
	// it SHOULD be 0 over IPv4, which saves summing the whole packet; Linux
	// vxlan devices compute it unless created with "noudpcsum". IPv6
	// always has it (RFC 8200; zero-checksum UDP over IPv6, RFC 6935, is
	// never sent).
	UDPChecksum4 bool
}

// Template is the prebuilt outer header of one tunnel: Ethernet (with an
// optional 802.1Q tag), IPv4 or IPv6, UDP and VXLAN, with the per-packet
// fields (lengths, UDP source port, checksums) left zero and the checksum
// sums over the constant fields computed once. Encap copies it in front of
// each inner frame and patches those fields.
//
// A Template is a plain value of under 100 bytes with no pointers: the
// control plane builds it, copies it into the tables it publishes to the
// workers, and never changes a published copy (SetNextHopMAC is for the
// copy being prepared). Workers only read it. The zero Template is not a
// tunnel: Encap refuses it.
type Template struct {
	hdr      [MaxOverhead]byte
	n        uint8  // header length
	ip       uint8  // offset of the IP header in hdr
	is6      bool   // IPv6 underlay
	udpSum4  bool   // compute the UDP checksum over IPv4
	portMin  uint16 // first source port
	portSpan uint32 // number of source ports, 1 to 65535
	// ipSum is the partial sum of the IPv4 header with total length and
	// checksum zero: per packet the checksum is ^(ipSum + total length).
	ipSum uint16
	// udpSum is the partial sum of the constant words a UDP checksum
	// covers: the pseudo-header's addresses and protocol, the UDP
	// destination port and the VXLAN header. Per packet Encap adds the UDP
	// length twice (pseudo-header and UDP header), the source port and
	// the inner frame.
	udpSum uint16
}

// NewTemplate builds the template of the tunnel c describes, or returns an
// error wrapping ErrConfig.
func NewTemplate(c TemplateConfig) (Template, error) {
	var t Template
	src, dst := c.Src.Unmap(), c.Dst.Unmap()
	switch {
	case !src.IsValid() || !dst.IsValid():
		return t, fmt.Errorf("%w: source and destination VTEP addresses are required", ErrConfig)
	case src.Is4() != dst.Is4():
		return t, fmt.Errorf("%w: VTEP addresses %v and %v are of different families", ErrConfig, src, dst)
	case src.IsUnspecified() || src.IsMulticast():
		return t, fmt.Errorf("%w: source VTEP address %v is not a unicast address", ErrConfig, src)
	case dst.IsUnspecified():
		return t, fmt.Errorf("%w: destination VTEP address %v is unspecified", ErrConfig, dst)
	case c.VNI > MaxVNI:
		return t, fmt.Errorf("%w: VNI %d above %d", ErrConfig, c.VNI, MaxVNI)
	case c.VLAN > 4094:
		return t, fmt.Errorf("%w: VLAN %d above 4094", ErrConfig, c.VLAN)
	case c.SrcMAC[0]&1 != 0:
		return t, fmt.Errorf("%w: source MAC %x is a group address", ErrConfig, c.SrcMAC)
	}
	portMin, portMax := c.SrcPortMin, c.SrcPortMax
	if portMin == 0 && portMax == 0 {
		portMin, portMax = DefaultSrcPortMin, DefaultSrcPortMax
	}
	if portMin == 0 || portMin > portMax {
		return t, fmt.Errorf("%w: source port range %d-%d", ErrConfig, portMin, portMax)
	}
	t.portMin, t.portSpan = portMin, uint32(portMax-portMin)+1
	dport := c.DstPort
	if dport == 0 {
		dport = DefaultPort
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTTL
		if dst.IsMulticast() {
			ttl = 1
		}
	}

	h := t.hdr[:]
	copy(h[0:6], c.DstMAC[:])
	copy(h[6:12], c.SrcMAC[:])
	l2 := EthLen
	if c.VLAN != 0 {
		binary.BigEndian.PutUint16(h[12:], etherTypeVLAN)
		binary.BigEndian.PutUint16(h[14:], c.VLAN)
		l2 += VLANTagLen
	}
	ip := h[l2:]
	ipLen := IPv4Len
	if src.Is4() {
		binary.BigEndian.PutUint16(h[l2-2:], etherTypeIPv4)
		ip[0] = 0x45
		ip[1] = c.TOS
		if c.DF {
			ip[6] = 0x40
		}
		ip[8] = ttl
		ip[9] = protoUDP
		s, d := src.As4(), dst.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		t.ipSum = sum(ip[:IPv4Len], 0)
		t.udpSum = sum(ip[12:20], protoUDP)
		t.udpSum4 = c.UDPChecksum4
	} else {
		binary.BigEndian.PutUint16(h[l2-2:], etherTypeIPv6)
		binary.BigEndian.PutUint32(ip[0:], 6<<28|uint32(c.TOS)<<20)
		ip[6] = protoUDP
		ip[7] = ttl
		s, d := src.As16(), dst.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
		t.udpSum = sum(ip[8:40], protoUDP)
		t.is6 = true
		ipLen = IPv6Len
	}
	udp := ip[ipLen:]
	binary.BigEndian.PutUint16(udp[2:], dport)
	vx := udp[UDPLen:]
	vx[0] = FlagI
	binary.BigEndian.PutUint32(vx[4:], c.VNI<<8)
	t.udpSum = sum(udp[:UDPLen+HeaderLen], t.udpSum)
	t.ip = uint8(l2)
	t.n = uint8(l2 + ipLen + UDPLen + HeaderLen)
	return t, nil
}

// SetNextHopMAC sets the outer destination MAC, for when the neighbor
// towards the remote VTEP is resolved or changes. Call it on a copy that
// workers do not use yet.
func (t *Template) SetNextHopMAC(mac [6]byte) { copy(t.hdr[0:6], mac[:]) }

// NextHopMAC returns the outer destination MAC.
func (t *Template) NextHopMAC() [6]byte { return [6]byte(t.hdr[0:6]) }

// Len returns the length of the outer header Encap writes: Overhead4 or
// Overhead6, plus VLANTagLen when tagged.
func (t *Template) Len() int { return int(t.n) }

// Is6 reports whether the underlay is IPv6.
func (t *Template) Is6() bool { return t.is6 }

// VNI returns the VXLAN network identifier.
func (t *Template) VNI() uint32 {
	if t.n == 0 {
		return 0
	}
	return binary.BigEndian.Uint32(t.hdr[t.n-4:]) >> 8
}

// SrcPort returns the UDP source port Encap uses for flowHash: the hash
// scaled into the template's port range by a multiply and shift (the high
// bits of the hash choose), as Linux's udp_flow_src_port does.
func (t *Template) SrcPort(flowHash uint32) uint16 {
	return t.portMin + uint16(uint64(flowHash)*uint64(t.portSpan)>>32)
}
