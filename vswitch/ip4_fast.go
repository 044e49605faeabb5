package vswitch

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// check4 is proto.Check4Avail with a fast path for the usual header
// (version 4, no options, total length within avail): its checksum is
// five 32-bit words added into 64 bits and folded, about a third of the
// instructions of the general sum (issue 24). Anything else, and every
// header that fails, goes to Check4Avail, which names the reason; the two
// agree on every input (TestCheck4Agrees).
func check4(ip []byte, avail int) (hdrLen int, r proto.Reason) {
	if len(ip) >= proto.MinHeaderLen4 && ip[0] == 0x45 {
		if tl := int(binary.BigEndian.Uint16(ip[2:])); tl >= proto.MinHeaderLen4 && tl <= avail && sum5OK(ip) {
			return proto.MinHeaderLen4, proto.OK
		}
	}
	return proto.Check4Avail(ip, avail)
}

// sum5OK reports whether the checksum of the 20-byte IPv4 header at the
// start of ip (at least 20 bytes) is right: its five 32-bit words added
// into 64 bits fold to 0xFFFF, that is (2^16 and so 2^32 being 1 modulo
// 0xFFFF) the sum is a multiple of 0xFFFF other than 0. check4 and
// ip4-forward's fast loop use it.
func sum5OK(ip []byte) bool {
	ac := uint64(binary.BigEndian.Uint32(ip[0:])) + uint64(binary.BigEndian.Uint32(ip[4:])) +
		uint64(binary.BigEndian.Uint32(ip[8:])) + uint64(binary.BigEndian.Uint32(ip[12:])) +
		uint64(binary.BigEndian.Uint32(ip[16:]))
	return ac != 0 && ac%0xFFFF == 0
}

// nbrMemo remembers a forwarding node's last neighbor lookup for one
// vector: routes through one gateway (most of a vector, usually) find
// their neighbor entry once. The entry stays valid for the vector (the
// slab does not move while a worker holds its view); its MAC and
// last-seen time are still loaded per packet.
type nbrMemo struct {
	iface uint16
	key   nbrAddr
	e     *nbrEntry // nil: nothing remembered
}

func (c *nbrMemo) find(nix *nbrIndex, slab []nbrEntry, iface uint16, key nbrAddr) *nbrEntry {
	if c.e != nil && c.iface == iface && c.key == key {
		return c.e
	}
	e := nix.find(slab, iface, key)
	if e != nil {
		c.iface, c.key, c.e = iface, key, e
	}
	return e
}
