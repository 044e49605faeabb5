package vswitch

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// IPv4 fragmentation (RFC 791, RFC 1812 4.2.2.7). A routed IPv4 packet
// larger than the outgoing interface's MTU without DF (a fragment a
// sender cut for a larger MTU, or a stack that does not do path MTU
// discovery) is cut here, at the end of ip4-forward's slow path, after
// its TTL is decremented and its neighbour found: the original buffer
// becomes the first fragment and each further one is a clone of its
// headers with its piece of the payload, every one sent where the
// original would have gone (routedOut, Frame.Emit), the first fragment
// first: a tracker behind (sg-policy on the egress side) gives the later
// ones its ports only if it saw it. Linux and VPP (ip4-frag) do the same;
// before, the switch dropped these (mtu-exceeded) and the sender never
// learned why, since without DF no error is due.
//
// Pieces are multiples of 8 bytes; the last keeps the original's "more
// fragments" flag and the others set it, so a fragment is cut again as a
// datagram would be. Not cut (dropped as mtu-exceeded, as before): the
// switch's own packets (flagLocal: VXLAN's outer packets are never
// fragmented, see vxlan-encap), a packet with IP options (RFC 791 copies
// only some of them into later fragments; none of the traffic this switch
// carries uses them), and one that would need more than maxFragments
// pieces (a frame in one buffer needs at most 40, at the smallest MTU
// allowed, 68), or whose pieces would end past the 65,535 bytes a datagram
// holds (a malformed fragment: its offsets would wrap); dropped when the
// pool is out of buffers: frag-no-buffer.
// A large frame (GSO, a chain) is cut into segments by gso first, as
// before, and each segment is then routed (and cut) on its own.
const maxFragments = 64

// fragment4 cuts packet i (buffer id, metadata m, frame pkt with its IPv4
// header at ethHdrLen, TTL already decremented) into fragments of at most
// mtu bytes and routes each out of interface iface (out) to neighbour mac.
func (n *ip4Forward) fragment4(f *pipeline.Frame, i int, id pipeline.BufID, m *pipeline.Meta, pkt []byte, out *ifaceEntry, iface uint16, mac uint64, mtu int) {
	v := &n.v
	ip := pkt[ethHdrLen:]
	hl := 20
	tot := proto.TotalLen4(ip)
	chunk := (mtu - hl) &^ 7
	data := tot - hl
	ff := binary.BigEndian.Uint16(ip[6:])
	off0, more := ff&0x1fff, ff&0x2000
	// A piece may not end past the 64 KiB a datagram can hold: its
	// offset would wrap (a malformed fragment, or a forged one).
	if ip[0] != 0x45 || chunk <= 0 || tot > len(ip) || int(off0)*8+data > 0xffff {
		f.Drop(i, ip4DropMTU)
		return
	}
	count := (data + chunk - 1) / chunk
	if count > maxFragments {
		f.Drop(i, ip4DropMTU)
		return
	}
	// The clones first, of the headers only (and of the metadata, before
	// routedOut moves the original's to the egress side).
	var clones [maxFragments]pipeline.BufID
	full := m.Len
	m.Len = uint16(ethHdrLen + hl)
	for k := 1; k < count; k++ {
		c, ok := f.Pool.Clone(id)
		if !ok {
			m.Len = full
			for _, c := range clones[1:k] {
				f.Pool.Free(c)
			}
			f.Drop(i, ip4DropFragNoBuffer)
			return
		}
		clones[k] = c
	}
	for k := 1; k < count; k++ {
		c := clones[k]
		piece := ip[hl+k*chunk : hl+min((k+1)*chunk, data)]
		cm := &v.meta[c]
		frame := pipeline.FrameAt(v.mem, c)[cm.Off:]
		copy(frame[ethHdrLen+hl:], piece)
		cm.Len = uint16(ethHdrLen + hl + len(piece))
		flags := more
		if k < count-1 {
			flags = 0x2000
		}
		fragHeader4(frame[ethHdrLen:], hl+len(piece), off0+uint16(k*chunk/8), flags)
	}
	fragHeader4(ip, hl+chunk, off0, 0x2000)
	m.Len = uint16(ethHdrLen + hl + chunk)
	// In order, the first fragment first (see above).
	clones[0] = id
	f.Next[i] = pipeline.NextTaken
	for _, c := range clones[:count] {
		cm := &v.meta[c]
		if nx := routedOut(f, v.t, v.mt, v.seqs, v.sg, cm, pipeline.PacketAt(v.mem, c, cm), out, iface, mac, c); nx != pipeline.NextTaken {
			f.Emit(nx, c)
		}
	}
}

// fragHeader4 sets an IPv4 header (20 bytes) to a fragment's total
// length, offset (8-byte units) and more-fragments flag (0x2000 or 0),
// keeping DF and the reserved bit as they were, and computes its checksum.
func fragHeader4(ip []byte, total int, off, more uint16) {
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[6:], binary.BigEndian.Uint16(ip[6:])&0xc000|more|off&0x1fff)
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], proto.Checksum(ip[:20], 0))
}
