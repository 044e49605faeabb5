package vswitch

import (
	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// gso makes large frames plain for the nodes and ports that need them so.
// A port with ports.Info.Offload (a tap with a virtio-net header) hands
// the switch TCP frames of up to 64 KiB (pipeline chains, OffloadGSO) with
// their checksum left partial; between two such ports they travel as they
// are, one frame for up to 45 segments. Everywhere else the frame must be
// what the wire carries: l2-output sends it here for a port without
// offload (an AF_XDP veth, a VXLAN tunnel: segmentation before encap, so
// each segment is encapsulated as any frame is), and l2-input and l2-fwd
// send it here before L3 (which rewrites lengths and may transmit
// directly). The sender puts the index of the next node in Meta.Aux.
//
// A GSO frame is cut by offload.Segment into fresh buffers, one per
// segment, each with complete headers and checksums and the original's
// metadata; the chain is freed. A single frame with only a partial
// checksum is finished in place. This is VPP's gso node and the kernel's
// validate_xmit_skb: done last, and only where the egress cannot take the
// large frame.
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
		k, err := offload.Segment(frags, &h, n.dst[:segs], n.lens[:segs])
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
