package proto

// Ethernet facts the frame builders need.
const (
	EthHeaderLen  = 14     // destination, source, EtherType
	MinFrameLen   = 60     // shortest Ethernet frame without FCS; builders pad to it
	EtherTypeIPv4 = 0x0800 // IPv4
	EtherTypeARP  = 0x0806 // ARP
	EtherTypeIPv6 = 0x86DD // IPv6
)

// putEth writes an Ethernet header at the front of b.
func putEth(b []byte, dst, src [6]byte, etherType uint16) {
	_ = b[13]
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	b[12], b[13] = byte(etherType>>8), byte(etherType)
}
