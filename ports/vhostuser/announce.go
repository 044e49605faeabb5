package vhostuser

// rarpLen is the length of an announce frame: a minimum Ethernet frame.
const rarpLen = 60

// rarp writes into p the frame QEMU's announce-self sends for a guest: a
// broadcast RARP request (ethertype 0x8035, opcode 3) from mac, asking
// for mac's own address, padded to 60 bytes. Switches learn mac's
// location from it; hosts ignore it. It returns the frame's length.
func rarp(p []byte, mac uint64) int {
	p = p[:rarpLen]
	clear(p)
	for i := range 6 {
		b := byte(mac >> (40 - 8*i))
		p[i] = 0xff
		p[6+i] = b  // source
		p[22+i] = b // sender hardware address
		p[32+i] = b // target hardware address
	}
	p[12], p[13] = 0x80, 0x35 // RARP
	p[15] = 1                 // hardware: Ethernet
	p[16] = 0x08              // protocol: IPv4
	p[18], p[19] = 6, 4       // address lengths
	p[21] = 3                 // reverse request
	return rarpLen
}
