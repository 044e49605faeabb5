package vswitch

import (
	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// gso makes large frames plain for the nodes and ports that need them so.
// A port with ports.Info.Offload (a tap with a virtio-net header, an
// AF_PACKET veth) hands the switch TCP frames of up to 64 KiB (pipeline
// chains, OffloadGSO) with their checksum left partial. They travel as
// they are as far as they can, one frame for up to 45 segments:
//
//   - switched between two such ports;
//   - routed: ip4-forward and ip6-forward check the header against the
//     whole chain, compare the segments' size (wireLen) with the MTU and
//     decrement the TTL once; whatever is unusual (for the router itself,
//     TTL expiring, too big, no route, next hop unresolved) comes here
//     first and is then handled per segment, as the kernel does with
//     skb_gso_segment before an ICMP error;
//   - into a VXLAN tunnel: vxlan-encap wraps the whole frame once
//     (encap.EncapGSO, OffloadTunnel set, CsumStart moved to the inner L4
//     header) and the underlay route is looked up once.
//
// Everywhere else the frame must be what the wire carries: l2-output
// sends it here for a port without offload (an AF_XDP veth) and for any
// port when the frame is a tunnel's (no port here takes UDP-tunnel GSO),
// and l2-input and l2-fwd for ARP. The sender puts the index of the next
// node in Meta.Aux.
//
// A GSO frame is cut by offload.Segment (offload.SegmentVXLAN for a
// tunnel's: inner and outer lengths, IDs and checksums per segment) into
// fresh buffers, one per segment, each with complete headers and
// checksums and the original's metadata; the chain is freed. A single
// frame with only a partial checksum is finished in place. This is VPP's
// gso node and the kernel's validate_xmit_skb: done last, and only where
// the egress cannot take the large frame.
const (
	gsoNextL2Output = iota
	gsoNextIP4
	gsoNextIP6
	gsoNextARP
)

const (
	gsoDropBad = iota
	gsoDropTooMany
	gsoDropNoBuffer
)

// gsoMaxSegs bounds the segments of one frame: 64 KiB at the smallest MSS
// a Linux peer uses for such frames (536 bytes) needs 123.
const gsoMaxSegs = 128

// offloadWork is the Meta.Offload state that needs gso before a port or
// node without offload.
const offloadWork = pipeline.OffloadCsumPartial | pipeline.OffloadGSO

// needsGSO reports whether m's frame must pass through gso before a port
// or node that takes only plain frames.
func needsGSO(m *pipeline.Meta) bool { return m.Offload&offloadWork != 0 || m.Next != 0 }

func gsoSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeGSO,
		Next:  []string{nodeL2Output, nodeIP4Forward, nodeIP6Forward, nodeARPInput},
		Drops: []string{"bad-offload-frame", "too-many-segments", "no-buffer"},
		New:   func(pipeline.NodeContext) pipeline.Node { return &gsoNode{} },
	}
}

type gsoNode struct {
	frags [maxChain][]byte
	dst   [gsoMaxSegs][]byte
	lens  [gsoMaxSegs]int
	ids   [gsoMaxSegs]pipeline.BufID
}

// maxChain bounds the pieces of a frame gso reads: a 64 KiB frame needs
// 31 buffers.
const maxChain = 40

func (n *gsoNode) Process(f *pipeline.Frame) {
	pool := f.Pool
	meta, mem := pool.Arrays()
	for i, id := range f.IDs {
		m := &meta[id]
		nx := uint16(m.Aux)
		if nx > gsoNextARP {
			f.Drop(i, gsoDropBad)
			continue
		}
		if m.Next == 0 && m.Offload&pipeline.OffloadGSO == 0 {
			// One buffer, checksum partial: finish it in place.
			if offload.CompleteChecksum(pipeline.PacketAt(mem, id, m), int(m.CsumStart), int(m.CsumOff)) != nil {
				f.Drop(i, gsoDropBad)
				continue
			}
			m.Offload &^= pipeline.OffloadCsumPartial
			f.Next[i] = nx
			continue
		}
		frags := pool.Frags(id, n.frags[:0])
		if len(frags) > maxChain {
			f.Drop(i, gsoDropBad)
			continue
		}
		h := offload.VnetHdr{GSOType: m.GSOType, GSOSize: m.GSOSize, CsumStart: m.CsumStart, CsumOffset: m.CsumOff}
		if m.Offload&pipeline.OffloadCsumPartial != 0 {
			h.Flags = offload.FlagNeedsCsum
		}
		segs := 1
		if m.Offload&pipeline.OffloadGSO != 0 && m.GSOSize != 0 {
			segs = (pool.ChainLen(id) + int(m.GSOSize) - 1) / int(m.GSOSize)
		}
		if segs > gsoMaxSegs {
			f.Drop(i, gsoDropTooMany)
			continue
		}
		got := pool.AllocN(n.ids[:segs])
		if got < segs {
			pool.FreeN(n.ids[:got])
			f.Drop(i, gsoDropNoBuffer)
			continue
		}
		for k, b := range n.ids[:segs] {
			n.dst[k] = pipeline.FrameAt(mem, b)[pipeline.Headroom:]
		}
		var k int
		var err error
		if m.Offload&pipeline.OffloadTunnel != 0 {
			k, err = offload.SegmentVXLAN(frags, &h, n.dst[:segs], n.lens[:segs])
		} else {
			k, err = offload.Segment(frags, &h, n.dst[:segs], n.lens[:segs])
		}
		if err != nil {
			pool.FreeN(n.ids[:segs])
			f.Drop(i, gsoDropBad)
			continue
		}
		for j, b := range n.ids[:k] {
			sm := &meta[b]
			*sm = *m
			sm.Off, sm.Len, sm.Next = pipeline.Headroom, uint16(n.lens[j]), 0
			sm.Offload, sm.GSOType, sm.GSOSize, sm.CsumStart, sm.CsumOff = 0, 0, 0, 0, 0
			f.Emit(nx, b)
		}
		pool.FreeN(n.ids[k:segs])
		pool.Free(id)
		f.Next[i] = pipeline.NextTaken
	}
}

// toGSO records in m where gso sends the frame's segments (a gsoNext
// index) and returns the forwarding nodes' next index for gso.
func toGSO(m *pipeline.Meta, next uint32) uint16 {
	m.Aux = next
	return fwdNextSegment
}

// wireLen is the length of the longest frame m's packet (pkt its first
// buffer) becomes on the wire: for a GSO frame, the headers up to the end
// of the L4 header and GSOSize bytes of payload (an upper bound: the last
// segment, or a frame shorter than one segment, is shorter); for another
// chain its whole length.
func wireLen(pool *pipeline.Pool, id pipeline.BufID, m *pipeline.Meta, pkt []byte) int {
	if m.Offload&pipeline.OffloadGSO != 0 {
		l4, hl := int(m.CsumStart), 8 // UDP
		if m.GSOType&^offload.GSOECN != offload.GSOUDPL4 {
			if l4+12 >= len(pkt) {
				return 1 << 16 // not a frame the segmenter takes either
			}
			hl = int(pkt[l4+12]>>4) * 4
		}
		return l4 + hl + int(m.GSOSize)
	}
	if m.Next != 0 {
		return pool.ChainLen(id)
	}
	return int(m.Len)
}
