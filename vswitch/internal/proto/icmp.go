package proto

import "encoding/binary"

// ICMP for IPv4 (RFC 792) message types and codes.
const (
	ICMP4EchoReply           uint8 = 0
	ICMP4DestUnreach         uint8 = 3
	ICMP4Redirect            uint8 = 5
	ICMP4Echo                uint8 = 8
	ICMP4TimeExceeded        uint8 = 11
	ICMP4ParamProblem        uint8 = 12
	icmp4MaxKnownType        uint8 = 18 // types above are neither errors nor known queries
	ICMP4CodeNet             uint8 = 0  // dest unreachable: network unreachable
	ICMP4CodeHost            uint8 = 1  // dest unreachable: host unreachable
	ICMP4CodeProto           uint8 = 2  // dest unreachable: protocol unreachable
	ICMP4CodePort            uint8 = 3  // dest unreachable: port unreachable
	ICMP4CodeFragNeed        uint8 = 4  // dest unreachable: fragmentation needed and DF set
	ICMP4CodeAdmin           uint8 = 13 // dest unreachable: administratively prohibited
	ICMP4CodeTTL             uint8 = 0  // time exceeded: TTL exceeded in transit
	ICMP4CodeReassemblyuint8       = 1  // time exceeded: fragment reassembly time exceeded
)

// ICMPv6 (RFC 4443, RFC 4861) message types and codes.
const (
	ICMP6DestUnreach     uint8 = 1
	ICMP6PacketTooBig    uint8 = 2
	ICMP6TimeExceeded    uint8 = 3
	ICMP6ParamProblem    uint8 = 4
	ICMP6EchoRequest     uint8 = 128
	ICMP6EchoReply       uint8 = 129
	ICMP6RouterSolicit   uint8 = 133
	ICMP6RouterAdvert    uint8 = 134
	ICMP6NeighborSolicit uint8 = 135
	ICMP6NeighborAdvert  uint8 = 136
	ICMP6Redirect        uint8 = 137
	ICMP6CodeNoRoute     uint8 = 0 // dest unreachable: no route to destination
	ICMP6CodeAdmin       uint8 = 1 // dest unreachable: administratively prohibited
	ICMP6CodeAddr        uint8 = 3 // dest unreachable: address unreachable
	ICMP6CodePort        uint8 = 4 // dest unreachable: port unreachable
	ICMP6CodeHopLimit    uint8 = 0 // time exceeded: hop limit exceeded in transit
	ICMP6CodeOption      uint8 = 2 // parameter problem: unrecognized IPv6 option
)

// ICMPHeaderLen is the length of the ICMP and ICMPv6 header: type, code,
// checksum and one 32-bit word whose meaning depends on the type.
const ICMPHeaderLen = 8

// CheckICMP4 validates the ICMP message of the IPv4 packet ip, which passed
// Check4 with header length hdrLen. The message runs to the total length.
// Reasons: Runt (shorter than 8 bytes) and BadChecksum.
func CheckICMP4(ip []byte, hdrLen int) Reason {
	tl := TotalLen4(ip)
	if tl > len(ip) || hdrLen+ICMPHeaderLen > tl {
		return Runt
	}
	if Sum(ip[hdrLen:tl], 0) != 0xFFFF {
		return BadChecksum
	}
	return OK
}

// ICMP4Type returns the type of the ICMP message of ip.
func ICMP4Type(ip []byte, hdrLen int) uint8 { return ip[hdrLen] }

// CheckICMP6 validates the ICMPv6 message of the IPv6 packet ip, which
// passed Check6; the message must follow the fixed header directly.
// Reasons: BadType (next header not ICMPv6), Runt (message shorter than
// 8 bytes) and BadChecksum. Messages behind extension headers (such as
// MLD behind hop-by-hop) are not handled here.
func CheckICMP6(ip []byte) Reason {
	if len(ip) < HeaderLen6 || ip[6] != ProtoICMPv6 {
		return BadType
	}
	n := PayloadLen6(ip)
	if n < ICMPHeaderLen || HeaderLen6+n > len(ip) {
		return Runt
	}
	if Sum(ip[HeaderLen6:HeaderLen6+n], icmp6Pseudo(ip, n)) != 0xFFFF {
		return BadChecksum
	}
	return OK
}

// ICMP6Type returns the type of the ICMPv6 message that directly follows
// the fixed header of ip.
func ICMP6Type(ip []byte) uint8 { return ip[HeaderLen6] }

// icmp6Pseudo returns the pseudo-header sum of the ICMPv6 message of
// length n carried by the IPv6 header at the front of ip.
func icmp6Pseudo(ip []byte, n int) uint16 {
	_ = ip[39]
	return PseudoSum6(binary.BigEndian.Uint64(ip[8:]), binary.BigEndian.Uint64(ip[16:]),
		binary.BigEndian.Uint64(ip[24:]), binary.BigEndian.Uint64(ip[32:]), ProtoICMPv6, uint32(n))
}

// setICMP6Checksum computes and stores the checksum of the ICMPv6 message
// that follows the fixed header of ip, whose payload length is set.
func setICMP6Checksum(ip []byte) {
	n := PayloadLen6(ip)
	msg := ip[HeaderLen6 : HeaderLen6+n]
	msg[2], msg[3] = 0, 0
	binary.BigEndian.PutUint16(msg[2:], Checksum(msg, icmp6Pseudo(ip, n)))
}
