package acl

import (
	"encoding/binary"
	"net/netip"
)

// Key is what the classifier looks at in a packet. The caller fills it
// from the packet's headers; it is a plain value with no pointers, so a
// node can keep one per packet of a vector in a fixed array.
type Key struct {
	// Src and Dst are the addresses: for IPv4 in the first 4 bytes (the
	// other 12 are ignored), for IPv6 all 16.
	Src, Dst [16]byte
	IPv6     bool
	// Proto is the IP protocol (the last next-header for IPv6).
	Proto uint8
	// SrcPort and DstPort are the ports for tcp, udp, sctp and udplite.
	// For icmp and icmpv6, DstPort holds the message type and SrcPort the
	// code. For other protocols they are ignored.
	SrcPort, DstPort uint16
}

// SetAddrs fills Src, Dst and IPv6 from two addresses of the same family
// (an IPv4-mapped IPv6 address counts as IPv4). It is for tests and the
// control plane; a data-plane node copies header bytes instead.
func (k *Key) SetAddrs(src, dst netip.Addr) {
	src, dst = src.Unmap(), dst.Unmap()
	k.IPv6 = src.Is6()
	k.Src, k.Dst = [16]byte{}, [16]byte{}
	if k.IPv6 {
		k.Src, k.Dst = src.As16(), dst.As16()
		return
	}
	s, d := src.As4(), dst.As4()
	copy(k.Src[:], s[:])
	copy(k.Dst[:], d[:])
}

// SetICMP stores an ICMP type and code where the classifier reads them.
func (k *Key) SetICMP(typ, code uint8) { k.DstPort, k.SrcPort = uint16(typ), uint16(code) }

func v4(a *[16]byte) uint32 { return binary.BigEndian.Uint32(a[:4]) }

func v6(a *[16]byte) (hi, lo uint64) {
	return binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
}
