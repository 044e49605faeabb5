package offload

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSegmentErrors: every refusal of Segment and SegmentVXLAN, with no
// segment written.
func TestSegmentErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	v4s := spec{payload: 5000, mss: 1000}
	v4, _, h4 := gsoFrame(t, v4s, rng)
	v6, _, h6 := gsoFrame(t, spec{v6: true, payload: 5000, mss: 1000}, rng)
	u4, _, hu := gsoFrame(t, spec{udp: true, payload: 5000, mss: 1000}, rng)
	vxs := spec{tunnel: true, payload: 5000, mss: 1000}
	vx, _, hx := gsoFrame(t, vxs, rng)
	outerL3, outerL4, _, _, vxEnd := vxs.offsets()
	_, _, _, _, v4End := v4s.offsets()

	mod := func(b []byte, f func([]byte)) []byte { c := append([]byte(nil), b...); f(c); return c }
	hdr := func(h VnetHdr, f func(*VnetHdr)) VnetHdr { f(&h); return h }
	one := func(b []byte) [][]byte { return [][]byte{b} }
	type tc struct {
		frags  [][]byte
		h      VnetHdr
		vxlan  bool
		ndst   int
		dstLen int
		err    Error
	}
	ok := func(frags [][]byte, h VnetHdr, err Error) tc {
		return tc{frags: frags, h: h, ndst: 8, dstLen: 2000, err: err}
	}
	vxc := func(frags [][]byte, h VnetHdr, err Error) tc {
		c := ok(frags, h, err)
		c.vxlan = true
		return c
	}
	for name, c := range map[string]tc{
		"bad header":              ok(one(v4), hdr(h4, func(h *VnetHdr) { h.GSOSize = 0 }), ErrBadGSOSize),
		"bad flags":               ok(one(v4), hdr(h4, func(h *VnetHdr) { h.Flags = 0x10 }), ErrBadFlags),
		"no frame":                ok(nil, h4, ErrTruncated),
		"empty frags":             ok([][]byte{{}, {}}, h4, ErrTruncated),
		"hdr_len past end":        ok(one(v4), hdr(h4, func(h *VnetHdr) { h.HdrLen = uint16(len(v4) + 1) }), ErrBadHdrLen),
		"UFO":                     ok(one(v4), hdr(h4, func(h *VnetHdr) { h.GSOType = GSOUDP; h.Flags = 0 }), ErrUnsupportedGSO),
		"headers truncated":       ok(one(v4[:60]), hdr(h4, func(h *VnetHdr) { h.HdrLen = 0 }), ErrTruncated),
		"headers split":           ok([][]byte{v4[:v4End-1], v4[v4End-1:]}, h4, ErrSplitHeaders),
		"frame shorter than IP":   ok(one(v4[:len(v4)-1]), h4, ErrBadLength),
		"frame longer than IP":    ok([][]byte{v4, {0}}, h4, ErrBadLength),
		"TCPv4 on IPv6":           ok(one(v6), hdr(h6, func(h *VnetHdr) { h.GSOType = GSOTCPv4 }), ErrGSOMismatch),
		"TCPv6 on IPv4":           ok(one(v4), hdr(h4, func(h *VnetHdr) { h.GSOType = GSOTCPv6 }), ErrGSOMismatch),
		"TCP on UDP":              ok(one(u4), hdr(hu, func(h *VnetHdr) { h.GSOType, h.CsumOffset = GSOTCPv4, 16 }), ErrGSOMismatch),
		"UDP L4 on TCP":           ok(one(v4), hdr(h4, func(h *VnetHdr) { h.GSOType, h.CsumOffset = GSOUDPL4, 6 }), ErrGSOMismatch),
		"csum_start wrong":        ok(one(v4), hdr(h4, func(h *VnetHdr) { h.CsumStart-- }), ErrBadCsumStart),
		"not IP":                  ok(one(mod(v4, func(b []byte) { b[12] = 0x86 })), h4, ErrNotIP),
		"IPv6 extension header":   ok(one(mod(v6, func(b []byte) { b[20] = 0 })), h6, ErrIPv6ExtHeaders),
		"IPv4 fragment":           ok(one(mod(v4, func(b []byte) { b[20] |= 0x20 })), h4, ErrFragment),
		"too few dst":             {frags: one(v4), h: h4, ndst: 4, dstLen: 2000, err: ErrTooManySegments},
		"dst too small":           {frags: one(v4), h: h4, ndst: 8, dstLen: v4End + 999, err: ErrDstTooSmall},
		"last dst too small":      {frags: one(v4[:len(v4)]), h: h4, ndst: 8, dstLen: -1, err: ErrDstTooSmall},
		"none: no dst":            {frags: one(v4), h: VnetHdr{}, ndst: 0, err: ErrTooManySegments},
		"none: dst too small":     {frags: one(v4), h: VnetHdr{}, ndst: 1, dstLen: len(v4) - 1, err: ErrDstTooSmall},
		"none: csum past end":     ok(one(v4[:100]), VnetHdr{Flags: FlagNeedsCsum, CsumStart: 90, CsumOffset: 9}, ErrBadCsumOffset),
		"none: csum start past":   ok(one(v4[:100]), VnetHdr{Flags: FlagNeedsCsum, CsumStart: 200}, ErrBadCsumOffset),
		"VXLAN: plain frame":      vxc(one(v4), h4, ErrNotVXLAN),
		"VXLAN: outer TCP":        vxc(one(mod(vx, func(b []byte) { b[outerL3+9] = 6 })), hx, ErrNotVXLAN),
		"VXLAN: outer ICMP":       vxc(one(mod(vx, func(b []byte) { b[outerL3+9] = 1 })), hx, ErrNotVXLAN),
		"VXLAN: no I flag":        vxc(one(mod(vx, func(b []byte) { b[outerL4+8] = 0 })), hx, ErrNotVXLAN),
		"VXLAN: outer UDP length": vxc(one(mod(vx, func(b []byte) { b[outerL4+5]++ })), hx, ErrBadLength),
		"VXLAN: outer IP length":  vxc(one(mod(vx, func(b []byte) { b[outerL3+3]++ })), hx, ErrBadLength),
		"VXLAN: cut in VXLAN":     vxc([][]byte{vx[:outerL4+12], vx[outerL4+12:]}, hx, ErrSplitHeaders),
		"VXLAN: cut in outer IP":  vxc([][]byte{vx[:outerL3+10], vx[outerL3+10:]}, hx, ErrSplitHeaders),
		"VXLAN: cut in inner TCP": vxc([][]byte{vx[:vxEnd-1], vx[vxEnd-1:]}, hx, ErrSplitHeaders),
		"VXLAN: truncated":        vxc(one(vx[:outerL4+12]), hdr(hx, func(h *VnetHdr) { h.HdrLen = 0 }), ErrTruncated),
		"VXLAN: inner not IP":     vxc(one(mod(vx, func(b []byte) { b[outerL4+16+12] = 0 })), hx, ErrNotIP),
		"VXLAN: csum_start outer": vxc(one(vx), hdr(hx, func(h *VnetHdr) { h.CsumStart = uint16(outerL4) }), ErrBadCsumStart),
	} {
		t.Run(name, func(t *testing.T) {
			total := totalLen(c.frags)
			dl := c.dstLen
			if dl < 0 { // room for all but the last byte of the last segment
				dl = total - 4*1000 - 1
			}
			dst, lens := dsts(c.ndst, max(dl, 0))
			var n int
			var err error
			if c.vxlan {
				n, err = SegmentVXLAN(c.frags, &c.h, dst, lens)
			} else {
				n, err = Segment(c.frags, &c.h, dst, lens)
			}
			require.ErrorIs(t, err, c.err)
			require.Zero(t, n)
			for i := range dst {
				require.Equal(t, make([]byte, len(dst[i])), dst[i], "dst %d written", i)
				require.Zero(t, lens[i])
			}
		})
	}
}

// TestSegmentDstExactSize: buffers of exactly the segment sizes are enough.
func TestSegmentDstExactSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	s := spec{payload: 5000, mss: 1000}
	frame, _, h := gsoFrame(t, s, rng)
	_, _, _, _, end := s.offsets()
	dst, lens := dsts(5, end+1000)
	n, err := Segment([][]byte{frame}, &h, dst, lens)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, []int{end + 1000, end + 1000, end + 1000, end + 1000, end + 1000}, lens)
}
