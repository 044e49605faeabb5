package offload

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// FuzzDecode: Decode never panics, accepts exactly what Validate accepts,
// and what it accepts encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, h := range []VnetHdr{
		{},
		{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 66, GSOSize: 1448, CsumStart: 34, CsumOffset: 16},
		{Flags: FlagNeedsCsum, GSOType: GSOTCPv6 | GSOECN, HdrLen: 86, GSOSize: 1428, CsumStart: 54, CsumOffset: 16},
		{Flags: FlagNeedsCsum, GSOType: GSOUDPL4, HdrLen: 42, GSOSize: 1472, CsumStart: 34, CsumOffset: 6, NumBuffers: 1},
		{Flags: FlagDataValid},
	} {
		b := make([]byte, HdrLenMrg)
		h.EncodeMrg(b)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h VnetHdr
		err := h.Decode(b)
		if len(b) < HdrLen {
			if err != ErrShort {
				t.Fatalf("%d bytes: %v", len(b), err)
			}
			return
		}
		if verr := h.Validate(); verr != err {
			t.Fatalf("Decode %v, Validate %v", err, verr)
		}
		if err != nil {
			if _, ok := err.(Error); !ok {
				t.Fatalf("error %T", err)
			}
			return
		}
		out := make([]byte, HdrLenMrg)
		if n := h.Encode(out); n != HdrLen || !bytes.Equal(out[:HdrLen], b[:HdrLen]) {
			t.Fatalf("Encode gave % x from % x", out[:n], b[:HdrLen])
		}
		if len(b) >= HdrLenMrg {
			var m VnetHdr
			if err := m.DecodeMrg(b); err != nil {
				t.Fatal(err)
			}
			if m.EncodeMrg(out) != HdrLenMrg || !bytes.Equal(out, b[:HdrLenMrg]) {
				t.Fatalf("EncodeMrg gave % x from % x", out, b[:HdrLenMrg])
			}
		}
	})
}

// FuzzSegment: Segment and SegmentVXLAN never panic; when they succeed,
// every segment fits its buffer, all segments carry the same headers
// length, all but the last exactly GSOSize payload bytes, their payloads
// concatenated are the frame's, and every IPv4 header and L4 checksum
// verifies. The input is the frame, the header fields, where the frame is
// cut in pieces, and the number and size (below 8 KiB) of the buffers.
func FuzzSegment(f *testing.F) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, s := range []spec{
		{payload: 3000, mss: 1000, fin: true, cwr: true},
		{v6: true, vlan: true, payload: 2001, mss: 500},
		{udp: true, ipOpts: true, payload: 1500, mss: 700},
		{tunnel: true, payload: 3000, mss: 1000},
		{tunnel: true, outer6: true, outerCsum: true, v6: true, payload: 2500, mss: 999},
		{tunnel: true, outerCsum: true, udp: true, payload: 999, mss: 333},
	} {
		frame, _, h := gsoFrame(f, s, rng)
		_, _, _, _, end := s.offsets()
		f.Add(frame, h.Flags, h.GSOType, h.HdrLen, h.GSOSize, h.CsumStart, h.CsumOffset, uint16(end), uint16(1001), uint8(8), uint16(end+s.mss), s.tunnel)
		f.Add(frame, uint8(0), uint8(0), uint16(0), uint16(0), uint16(0), uint16(0), uint16(end), uint16(3), uint8(1), uint16(len(frame)), s.tunnel)
		f.Add(frame, uint8(FlagNeedsCsum), uint8(0), uint16(0), uint16(0), h.CsumStart, h.CsumOffset, uint16(end), uint16(3), uint8(1), uint16(len(frame)), s.tunnel)
	}
	// The destination buffers, reused (fuzz calls run one at a time).
	back, dst, lens := make([]byte, 80*8192), make([][]byte, 80), make([]int, 80)
	f.Fuzz(func(t *testing.T, frame []byte, flags, gsoType uint8, hdrLen, gsoSize, csumStart, csumOffset, cut, chunk uint16,
		ndst uint8, dstLen uint16, tunnel bool) {
		h := VnetHdr{Flags: flags, GSOType: gsoType, HdrLen: hdrLen, GSOSize: gsoSize, CsumStart: csumStart, CsumOffset: csumOffset}
		orig := append([]byte(nil), frame...)
		// frags: frame[:cut], then pieces of chunk bytes.
		c := min(int(cut), len(frame))
		frags := [][]byte{frame[:c]}
		for b, k := frame[c:], max(1, int(chunk)); len(b) > 0; {
			k = min(k, len(b))
			frags, b = append(frags, b[:k]), b[k:]
		}
		nd, dl := int(ndst%80), int(dstLen%8192)
		for i := range nd {
			dst[i] = back[i*8192 : i*8192+dl]
		}
		dst := dst[:nd]
		var n int
		var err error
		if tunnel {
			n, err = SegmentVXLAN(frags, &h, dst, lens)
		} else {
			n, err = Segment(frags, &h, dst, lens)
		}
		if !bytes.Equal(orig, frame) {
			t.Fatal("input modified")
		}
		if err != nil {
			if _, ok := err.(Error); !ok || n != 0 {
				t.Fatalf("n %d, error %T %v", n, err, err)
			}
			return
		}
		if n < 1 || n > len(dst) {
			t.Fatalf("%d segments for %d buffers", n, len(dst))
		}
		for i := range n {
			if lens[i] > len(dst[i]) {
				t.Fatalf("segment %d: %d bytes in a %d-byte buffer", i, lens[i], len(dst[i]))
			}
		}
		if h.GSOType&^GSOECN == GSONone {
			if n != 1 || lens[0] != len(frame) {
				t.Fatalf("GSONone: %d segments, %d bytes of %d", n, lens[0], len(frame))
			}
			if h.Flags&FlagNeedsCsum == 0 && !bytes.Equal(dst[0][:lens[0]], frame) {
				t.Fatal("GSONone without a partial checksum changed the frame")
			}
			return
		}
		checkFuzzSegments(t, frame, &h, dst, lens[:n], tunnel)
	})
}

func checkFuzzSegments(t *testing.T, frame []byte, h *VnetHdr, dst [][]byte, lens []int, tunnel bool) {
	var out, in layout
	var e Error
	if tunnel {
		if out, e = parse(frame, 0); e != 0 {
			t.Fatalf("accepted frame does not parse: %v", e)
		}
		in, e = parse(frame, out.end+vxlanLen)
	} else {
		in, e = parse(frame, 0)
	}
	if e != 0 {
		t.Fatalf("accepted frame does not parse: %v", e)
	}
	hdr, mss := in.end, int(h.GSOSize)
	var all []byte
	for i, l := range lens {
		seg := dst[i][:l]
		p := l - hdr
		if p < 0 || i < len(lens)-1 && p != mss || p > mss {
			t.Fatalf("segment %d of %d: %d payload bytes, GSO size %d", i, len(lens), p, mss)
		}
		all = append(all, seg[hdr:]...)
		verifyLayout(t, seg, &in, i)
		if tunnel {
			if !out.v6 && refSum(seg[out.l3:out.l4], 0) != 0xFFFF {
				t.Fatalf("segment %d: outer IPv4 header checksum", i)
			}
			if binary.BigEndian.Uint16(seg[out.l4+4:]) != uint16(l-out.l4) {
				t.Fatalf("segment %d: outer UDP length", i)
			}
			if binary.BigEndian.Uint16(seg[out.l4+6:]) != 0 &&
				refSum(seg[out.l4:], uint32(refPseudo(seg[out.l3:], out.v6, true, l-out.l4))) != 0xFFFF {
				t.Fatalf("segment %d: outer UDP checksum", i)
			}
		}
	}
	if !bytes.Equal(all, frame[hdr:]) {
		t.Fatalf("payloads: %d bytes, frame has %d", len(all), len(frame)-hdr)
	}
}

// verifyLayout checks the IP length, the IPv4 header checksum and the L4
// checksum of the packet laid out as l in segment seg.
func verifyLayout(t *testing.T, seg []byte, l *layout, i int) {
	if l.v6 {
		if int(binary.BigEndian.Uint16(seg[l.l3+4:])) != len(seg)-l.l4 {
			t.Fatalf("segment %d: IPv6 payload length", i)
		}
	} else {
		if int(binary.BigEndian.Uint16(seg[l.l3+2:])) != len(seg)-l.l3 || refSum(seg[l.l3:l.l4], 0) != 0xFFFF {
			t.Fatalf("segment %d: IPv4 length or header checksum", i)
		}
	}
	if refSum(seg[l.l4:], uint32(refPseudo(seg[l.l3:], l.v6, l.proto == protoUDP, len(seg)-l.l4))) != 0xFFFF {
		t.Fatalf("segment %d: L4 checksum", i)
	}
}
