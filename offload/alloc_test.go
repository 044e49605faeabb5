package offload

import (
	"math/rand/v2"
	"testing"
)

// Sinks keep results alive so that the calls measured are not optimized out.
var (
	sinkInt int
	sinkErr error
	sinkHdr VnetHdr
)

// TestAllocations checks that no per-packet function allocates, on
// success and on refusal.
func TestAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	s4 := spec{mss: 1448}
	s4.payload = s4.maxPayload()
	f4, _, h4 := gsoFrame(t, s4, rng)
	sx := spec{tunnel: true, outer6: true, outerCsum: true, v6: true, mss: 1358}
	sx.payload = sx.maxPayload()
	fx, _, hx := gsoFrame(t, sx, rng)
	su := spec{udp: true, mss: 1472, payload: 30000}
	fu, _, hu := gsoFrame(t, su, rng)
	_, _, _, _, end := s4.offsets()
	frags := [][]byte{f4[:end], f4[end : end+1001], f4[end+1001:]}
	dst, lens := dsts(64, 2000)
	hb := make([]byte, HdrLenMrg)
	h4.Encode(hb)
	bad := h4
	bad.GSOSize = 0
	none := VnetHdr{Flags: FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}
	var h VnetHdr

	for name, f := range map[string]func(){
		"Decode":           func() { sinkErr = h.Decode(hb) },
		"DecodeMrg":        func() { sinkErr = h.DecodeMrg(hb) },
		"Decode refused":   func() { sinkErr = h.Decode(hb[:3]) },
		"Encode":           func() { sinkInt = h4.Encode(hb) + h4.EncodeMrg(hb) },
		"Validate refused": func() { sinkErr = bad.Validate() },
		"CompleteChecksum": func() { sinkErr = CompleteChecksum(f4, 34, 16) },
		"CompleteChecksum refused": func() {
			sinkErr = CompleteChecksum(f4[:10], 34, 16)
		},
		"Segment TCPv4":    func() { sinkInt, sinkErr = Segment(frags, &h4, dst, lens) },
		"Segment UDP L4":   func() { sinkInt, sinkErr = Segment([][]byte{fu}, &hu, dst, lens) },
		"Segment none":     func() { sinkInt, sinkErr = Segment(frags, &none, dst, lens) },
		"Segment refused":  func() { sinkInt, sinkErr = Segment(frags, &h4, dst[:3], lens) },
		"SegmentVXLAN":     func() { sinkInt, sinkErr = SegmentVXLAN([][]byte{fx}, &hx, dst, lens) },
		"Describe":         func() { sinkHdr, sinkErr = Describe(f4) },
		"DescribeGSO":      func() { sinkHdr, sinkErr = DescribeGSO(f4, 1448) },
		"Describe refused": func() { sinkHdr, sinkErr = Describe(f4[:20]) },
		"FillChecksums":    func() { sinkErr = FillChecksums(f4) },
		"PreparePartial":   func() { sinkHdr, sinkErr = PreparePartial(f4) },
		"PseudoSum":        func() { sinkInt = int(PseudoSum4(f4[14:], 6, 100) + PseudoSum6(fx[14:], 17, 100)) },
		"Error.Error":      func() { sinkInt = len(ErrDstTooSmall.Error()) },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
}
