package vhostuser

import (
	"encoding/binary"
	"math/bits"

	"github.com/vecswitch/vecswitch/internal/csum"
	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// Large frames (see the package doc, "Virtio-net header").
const (
	// maxFrame is the longest frame taken from or given to a guest as a
	// GSO frame: a 64 KiB IP packet behind an Ethernet header and one
	// VLAN tag, as a tap reads them.
	maxFrame = 65535 + ethHeader + 4
	// maxFrags bounds the pieces of a chain the port transmits: a
	// maxFrame frame laid out by the pipeline needs 31.
	maxFrags = 64
	// maxSegs bounds the segments the port cuts one GSO frame into for a
	// guest that does not take it whole: 64 KiB at the smallest MSS a
	// Linux peer uses for such frames (536 bytes) needs 123.
	maxSegs = 128
)

// capGSO is every GSO capability.
const capGSO = capTSO4 | capTSO6 | capUSO4 | capUSO6

// gsoCaps are the capabilities a frame of virtio-net GSO type t needs: a
// TSO capability, with capECN if it carries the ECN bit; uso for UDP (the
// IP version's, or both). 0 means no capability takes it (UFO, unknown).
func gsoCaps(t uint8, uso caps) caps {
	var c caps
	switch t &^ offload.GSOECN {
	case offload.GSOTCPv4:
		c = capTSO4
	case offload.GSOTCPv6:
		c = capTSO6
	case offload.GSOUDPL4:
		if t&offload.GSOECN != 0 {
			return 0
		}
		return uso
	default:
		return 0
	}
	if t&offload.GSOECN != 0 {
		c |= capECN
	}
	return c
}

// usoCap is the USO capability a UDP GSO frame needs: capUSO6 if the
// Ethernet frame b (at most one VLAN tag) carries IPv6, else capUSO4.
func usoCap(b []byte) caps {
	if len(b) < ethHeader {
		return capUSO4
	}
	et := binary.BigEndian.Uint16(b[12:])
	if (et == 0x8100 || et == 0x88a8) && len(b) >= ethHeader+4 {
		et = binary.BigEndian.Uint16(b[16:])
	}
	if et == 0x86dd {
		return capUSO6
	}
	return capUSO4
}

// gsoHdrLen is the hdr_len a guest is told for a GSO frame whose first
// piece is b: the end of its TCP or UDP header (csum_start plus its
// length), or 0 (unknown) when the header does not say where it starts.
func gsoHdrLen(b []byte, h *offload.VnetHdr) uint16 {
	if h.Flags&offload.FlagNeedsCsum == 0 {
		return 0
	}
	s := int(h.CsumStart)
	if h.GSOType&^offload.GSOECN == offload.GSOUDPL4 {
		if s+8 > len(b) {
			return 0
		}
		return uint16(s + 8)
	}
	if s+13 > len(b) {
		return 0
	}
	return uint16(s + int(b[s+12]>>4)*4)
}

// chainFrags puts the packet bytes of each buffer of id's chain in dst and
// returns them with the frame's length; ok is false for a chain of more
// than len(dst) pieces.
func chainFrags(pool *pipeline.Pool, id pipeline.BufID, dst [][]byte) (frags [][]byte, size int, ok bool) {
	meta, mem := pool.Arrays()
	n := 0
	for b, more := id, true; more; b, more = pool.NextBuf(b) {
		if n == len(dst) {
			return nil, 0, false
		}
		p := pipeline.PacketAt(mem, b, &meta[b])
		dst[n] = p
		size += len(p)
		n++
	}
	return dst[:n], size, true
}

// completeChain is offload.CompleteChecksum for a frame in pieces: the
// checksum field must lie in the first piece (where every header is).
func completeChain(frags [][]byte, start, offset int) bool {
	b := frags[0]
	if len(frags) == 1 {
		return offload.CompleteChecksum(b, start, offset) == nil
	}
	if start < 0 || offset < 0 || start > len(b) || offset > len(b)-start-2 {
		return false
	}
	sum := csum.Sum(b[start:], 0)
	odd := (len(b)-start)&1 == 1
	for _, f := range frags[1:] {
		s := csum.Sum(f, 0)
		if odd {
			// This piece starts in the middle of a 16-bit word: its sum
			// counts byte-swapped (RFC 1071, byte order independence).
			s = bits.ReverseBytes16(s)
		}
		sum = csum.Fold(uint64(sum) + uint64(s))
		odd = odd != (len(f)&1 == 1)
	}
	c := ^sum
	if c == 0 {
		c = 0xFFFF
	}
	binary.BigEndian.PutUint16(b[start+offset:], c)
	return true
}
