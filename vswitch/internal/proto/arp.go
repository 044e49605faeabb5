package proto

import "encoding/binary"

// ARP for IPv4 over Ethernet (RFC 826).
const (
	ARPLen     = 28 // an Ethernet/IPv4 ARP packet
	ARPRequest = 1  // operation: who has target IP?
	ARPReply   = 2  // operation: sender IP is at sender MAC
)

// CheckARP validates the Ethernet/IPv4 ARP packet at the front of arp.
// Reasons: Runt (shorter than 28 bytes), BadHardware (hardware type not 1
// or length not 6), BadProtocol (protocol type not IPv4 or length not 4)
// and BadOp (neither request nor reply). Addresses are not judged: whether
// a sender may be learned or a target is ours is the caller's policy.
func CheckARP(arp []byte) Reason {
	if len(arp) < ARPLen {
		return Runt
	}
	// htype(2) ptype(2) hlen(1) plen(1) op(2)
	if binary.BigEndian.Uint16(arp[0:]) != 1 || arp[4] != 6 {
		return BadHardware
	}
	if binary.BigEndian.Uint16(arp[2:]) != EtherTypeIPv4 || arp[5] != 4 {
		return BadProtocol
	}
	if op := binary.BigEndian.Uint16(arp[6:]); op != ARPRequest && op != ARPReply {
		return BadOp
	}
	return OK
}

// ARPOp returns the operation, ARPRequest or ARPReply.
func ARPOp(arp []byte) uint16 { return binary.BigEndian.Uint16(arp[6:]) }

// ARPSenderMAC returns the sender hardware address.
func ARPSenderMAC(arp []byte) [6]byte { return [6]byte(arp[8:14]) }

// ARPSenderIP returns the sender protocol address.
func ARPSenderIP(arp []byte) uint32 { return binary.BigEndian.Uint32(arp[14:]) }

// ARPTargetMAC returns the target hardware address (zero in requests).
func ARPTargetMAC(arp []byte) [6]byte { return [6]byte(arp[18:24]) }

// ARPTargetIP returns the target protocol address.
func ARPTargetIP(arp []byte) uint32 { return binary.BigEndian.Uint32(arp[24:]) }

// IsGratuitousARP reports whether arp announces its sender's own binding:
// sender IP equal to target IP (RFC 5227 3), in a request or a reply.
func IsGratuitousARP(arp []byte) bool {
	return binary.BigEndian.Uint32(arp[14:]) == binary.BigEndian.Uint32(arp[24:])
}

// IsARPProbe reports whether arp is an address conflict probe (RFC 5227
// 2.1.1): a request with sender IP 0.0.0.0. Its sender must not be learned.
func IsARPProbe(arp []byte) bool {
	return ARPOp(arp) == ARPRequest && ARPSenderIP(arp) == 0
}

// ARPReplyInPlace turns the request arp, which asks for one of our
// addresses, into its reply: the requester becomes the target, we become
// the sender with ourMAC and the address asked for, and the operation is
// reply. The caller rewrites the Ethernet header (destination: the
// requester's MAC, source: ourMAC) and pads the frame as before.
func ARPReplyInPlace(arp []byte, ourMAC [6]byte) {
	_ = arp[27]
	requester := binary.BigEndian.Uint32(arp[14:])
	asked := binary.BigEndian.Uint32(arp[24:])
	copy(arp[18:24], arp[8:14])
	binary.BigEndian.PutUint32(arp[24:], requester)
	copy(arp[8:14], ourMAC[:])
	binary.BigEndian.PutUint32(arp[14:], asked)
	arp[6], arp[7] = 0, ARPReply
}

// BuildARPRequest writes into dst a whole Ethernet frame asking who has
// targetIP: broadcast destination, source srcMAC, EtherType ARP, an ARP
// request from srcMAC/srcIP with a zero target MAC, zero padding to 60
// bytes. It returns 60, or 0 if dst is shorter. A srcIP of 0 makes an
// RFC 5227 probe; srcIP == targetIP a gratuitous ARP.
func BuildARPRequest(dst []byte, srcMAC [6]byte, srcIP, targetIP uint32) int {
	if len(dst) < MinFrameLen {
		return 0
	}
	f := dst[:MinFrameLen]
	putEth(f, [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, srcMAC, EtherTypeARP)
	a := f[EthHeaderLen:]
	binary.BigEndian.PutUint64(a, 1<<48|EtherTypeIPv4<<32|6<<24|4<<16|ARPRequest)
	copy(a[8:14], srcMAC[:])
	binary.BigEndian.PutUint32(a[14:], srcIP)
	clear(a[18:24])
	binary.BigEndian.PutUint32(a[24:], targetIP)
	clear(a[ARPLen:])
	return MinFrameLen
}
