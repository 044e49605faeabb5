package proto

// Well-known IPv6 addresses, as hi, lo halves.
const (
	AllNodesHi   uint64 = 0xFF02 << 48 // ff02::1, all nodes on the link
	AllNodesLo   uint64 = 1
	AllRoutersHi uint64 = 0xFF02 << 48 // ff02::2, all routers on the link
	AllRoutersLo uint64 = 2

	solicitedNodeHi uint64 = 0xFF02 << 48 // ff02::1:ff00:0/104
	solicitedNodeLo uint64 = 0x1_FF00_0000
)

// IsMulticast4 reports whether a is an IPv4 multicast address (224/4).
func IsMulticast4(a uint32) bool { return a>>28 == 0xE }

// IsBroadcast4 reports whether a is the limited broadcast address
// 255.255.255.255. Subnet-directed broadcasts depend on the prefix and are
// the FIB's to recognize.
func IsBroadcast4(a uint32) bool { return a == 0xFFFFFFFF }

// IsLoopback4 reports whether a is in 127/8.
func IsLoopback4(a uint32) bool { return a>>24 == 127 }

// IsThisNetwork4 reports whether a is in 0/8 ("this network", RFC 1122),
// which includes the unspecified address 0.0.0.0.
func IsThisNetwork4(a uint32) bool { return a>>24 == 0 }

// IsReserved4 reports whether a is in the former class E, 240/4, which
// includes 255.255.255.255.
func IsReserved4(a uint32) bool { return a>>28 == 0xF }

// MulticastMAC4 returns the Ethernet address IPv4 multicast a maps to
// (RFC 1112): 01:00:5e and the low 23 bits of a.
func MulticastMAC4(a uint32) [6]byte {
	return [6]byte{0x01, 0x00, 0x5E, byte(a>>16) & 0x7F, byte(a >> 8), byte(a)}
}

// IsMulticast6 reports whether hi, lo is an IPv6 multicast address (ff00::/8).
func IsMulticast6(hi, lo uint64) bool { return hi>>56 == 0xFF }

// IsLinkLocal6 reports whether hi, lo is a link-local unicast address
// (fe80::/10).
func IsLinkLocal6(hi, lo uint64) bool { return hi>>54 == 0xFE80>>6 }

// IsUnspecified6 reports whether hi, lo is ::.
func IsUnspecified6(hi, lo uint64) bool { return hi|lo == 0 }

// IsLoopback6 reports whether hi, lo is ::1.
func IsLoopback6(hi, lo uint64) bool { return hi == 0 && lo == 1 }

// SolicitedNode6 returns the solicited-node multicast address of hi, lo
// (RFC 4291 2.7.1): ff02::1:ff00:0 and the low 24 bits of the address.
func SolicitedNode6(hi, lo uint64) (snHi, snLo uint64) {
	return solicitedNodeHi, solicitedNodeLo | lo&0xFFFFFF
}

// IsSolicitedNode6 reports whether hi, lo is a solicited-node multicast
// address (ff02::1:ff00:0/104).
func IsSolicitedNode6(hi, lo uint64) bool {
	return hi == solicitedNodeHi && lo&^0xFFFFFF == solicitedNodeLo
}

// MulticastMAC6 returns the Ethernet address IPv6 multicast hi, lo maps to
// (RFC 2464 7): 33:33 and the low 32 bits of the address.
func MulticastMAC6(hi, lo uint64) [6]byte {
	return [6]byte{0x33, 0x33, byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)}
}
