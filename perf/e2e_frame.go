package perf

import (
	"encoding/binary"
	"net"
)

// UDP ports of the generator's frames; the sink counts frames to
// sinkUDPPort as its own.
const (
	genUDPPort  = 1024
	sinkUDPPort = 9 // discard
)

// udpFrame builds a FrameLen-byte Ethernet/IPv4/UDP frame (64 bytes on the
// wire with the FCS) with valid IPv4 and UDP checksums.
func udpFrame(dst, src net.HardwareAddr, srcIP, dstIP net.IP, sport, dport uint16) []byte {
	f := make([]byte, FrameLen)
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(FrameLen-14))
	ip[8] = 64 // TTL
	ip[9] = 17 // UDP
	copy(ip[12:16], srcIP.To4())
	copy(ip[16:20], dstIP.To4())
	binary.BigEndian.PutUint16(ip[10:], ^csumFold(csumAdd(0, ip)))
	udp := f[34:]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	for i := 8; i < len(udp); i++ {
		udp[i] = byte(i)
	}
	// Pseudo-header: addresses, protocol, UDP length.
	s := csumAdd(0, ip[12:20])
	s += 17 + uint32(len(udp))
	c := ^csumFold(csumAdd(s, udp))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], c)
	return f
}

// csumAdd adds b as big-endian 16-bit words to the one's complement sum s.
func csumAdd(s uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func csumFold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
