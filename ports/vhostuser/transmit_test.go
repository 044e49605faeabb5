package vhostuser

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTransmitOneBufferEach(t *testing.T) {
	for _, tc := range []struct {
		name     string
		features uint64
		hdrLen   int
	}{{"modern", featModern, 12}, {"no mergeable", featNoMerge, 12}, {"legacy", featLegacy, 10}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, tc.features, 64, 2048)
			r.rx.postRx(8, 2048)
			f1, f2 := frame(60, 1), frame(1514, 2)
			require.Equal(t, 2, r.txAll(t, f1, f2))
			frames, hdrs := r.rx.rxFrames(t, tc.hdrLen)
			require.Equal(t, [][]byte{f1, f2}, frames)
			for _, h := range hdrs {
				want := make([]byte, tc.hdrLen)
				if tc.hdrLen == 12 {
					want[10] = 1 // num_buffers
				}
				require.Equal(t, want, h, "no offload, one buffer")
			}
			s := r.stats()
			require.Equal(t, uint64(2), s.TxPackets)
			require.Equal(t, uint64(60+1514), s.TxBytes)
			require.Zero(t, drops(s))
		})
	}
}

func TestTransmitMergeable(t *testing.T) {
	r := newRingRig(t, featModern, 64, 256)
	r.rx.postRx(7, 256)
	big, small := frame(1514, 3), frame(100, 4)
	require.Equal(t, 2, r.txAll(t, big, small))
	frames, hdrs := r.rx.rxFrames(t, 12)
	require.Equal(t, [][]byte{big, small}, frames)
	require.Equal(t, uint16(6), le.Uint16(hdrs[0][10:]), "1526 bytes in 256-byte buffers")
	require.Equal(t, uint16(1), le.Uint16(hdrs[1][10:]))
	require.Equal(t, uint16(7), r.rx.usedIdx())

	// Not enough buffers left for a whole frame: nothing is consumed.
	r.rx.postRx(3, 256)
	before := r.rx.usedIdx()
	require.Equal(t, 0, r.txAll(t, big, small))
	require.Equal(t, before, r.rx.usedIdx())
	require.Equal(t, uint64(2), r.stats().TxFull, "the frame that did not fit and the rest of the batch")
	require.Equal(t, 1, r.txAll(t, small), "the buffers are still there")
}

func TestTransmitWithoutMergeable(t *testing.T) {
	r := newRingRig(t, featNoMerge, 64, 2048)
	r.rx.postRx(1, 512)
	big, small := frame(1000, 5), frame(400, 6)
	require.Equal(t, 1, r.txAll(t, big, small))
	frames, _ := r.rx.rxFrames(t, 12)
	require.Equal(t, [][]byte{small}, frames, "the buffer too small for the first went to the second")
	s := r.stats()
	require.Equal(t, uint64(1), s.TxNoRoom)
	require.Equal(t, uint64(1), drops(s))
}

func TestTransmitFull(t *testing.T) {
	r := newRingRig(t, featModern, 64, 2048)
	f := frame(64, 7)
	require.Equal(t, 0, r.txAll(t, f, f))
	require.Equal(t, uint64(2), r.stats().TxFull)
	r.rx.postRx(2, 2048)
	require.Equal(t, 2, r.txAll(t, f, f, f, f, f))
	require.Equal(t, uint64(5), r.stats().TxFull)
	frames, _ := r.rx.rxFrames(t, 12)
	require.Len(t, frames, 2)
}

// TestTransmitMalformed gives the switch receive buffers that break a
// rule, each followed by a good one: the bad chain is consumed and given
// back empty, the frame written to it is dropped and counted, the next
// frame lands in the good buffer.
func TestTransmitMalformed(t *testing.T) {
	end := uint64(testGPA + 4<<20)
	for _, tc := range []struct {
		name    string
		setup   func(r *ringRig) uint16
		counter func(Stats) uint64
		noUsed  bool
	}{
		{"read-only buffer", func(r *ringRig) uint16 {
			r.rx.setDesc(5, r.rx.gpa(r.rx.bufAt(5)), 2048, 0, 0)
			return 5
		}, func(s Stats) uint64 { return s.TxBadDesc }, false},
		{"shorter than the header", func(r *ringRig) uint16 {
			r.rx.setDesc(5, r.rx.gpa(r.rx.bufAt(5)), 8, vringDescFWrite, 0)
			return 5
		}, func(s Stats) uint64 { return s.TxBadDesc }, false},
		{"beyond memory", func(r *ringRig) uint16 {
			r.rx.setDesc(5, end, 2048, vringDescFWrite, 0)
			return 5
		}, func(s Stats) uint64 { return s.TxBadAddr }, false},
		{"data beyond memory", func(r *ringRig) uint16 {
			r.rx.setDesc(5, r.rx.gpa(r.rx.bufAt(5)), 12, vringDescFWrite|vringDescFNext, 6)
			r.rx.setDesc(6, end-10, 2048, vringDescFWrite, 0)
			return 5
		}, func(s Stats) uint64 { return s.TxBadAddr }, false},
		{"wraps around", func(r *ringRig) uint16 {
			r.rx.setDesc(5, math.MaxUint64-4, 2048, vringDescFWrite, 0)
			return 5
		}, func(s Stats) uint64 { return s.TxBadAddr }, false},
		{"loop", func(r *ringRig) uint16 {
			r.rx.setDesc(5, r.rx.gpa(r.rx.bufAt(5)), 12, vringDescFWrite|vringDescFNext, 6)
			r.rx.setDesc(6, r.rx.gpa(r.rx.bufAt(6)), 0, vringDescFWrite|vringDescFNext, 6)
			return 5
		}, func(s Stats) uint64 { return s.TxBadDesc }, false},
		{"head beyond ring", func(r *ringRig) uint16 { return 200 }, func(s Stats) uint64 { return s.TxBadDesc }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, featModern, 64, 2048)
			for range 8 {
				r.rx.take()
			}
			r.rx.addAvail(tc.setup(r))
			r.rx.postRx(1, 2048)
			f1, f2 := frame(100, 1), frame(100, 2)
			require.Equal(t, 1, r.txAll(t, f1, f2))
			s := r.stats()
			require.Equal(t, uint64(1), tc.counter(s), "%+v", s)
			require.Equal(t, uint64(1), drops(s), "%+v", s)
			used := r.rx.reclaim()
			if tc.noUsed {
				require.Len(t, used, 1)
			} else {
				require.Len(t, used, 2)
				require.Equal(t, [2]uint32{5, 0}, used[0], "the bad chain comes back empty")
				used = used[1:]
			}
			b := r.mem[r.rx.bufAt(uint16(used[0][0])):]
			require.Equal(t, uint32(112), used[0][1])
			require.Equal(t, f2, b[12:112])
		})
	}
}

func TestTransmitBadChainMidFrame(t *testing.T) {
	// A frame spread over mergeable buffers meets a bad one: every chain
	// it used goes back empty, and the frame is dropped.
	r := newRingRig(t, featModern, 64, 256)
	r.rx.postRx(2, 256)
	r.rx.setDesc(40, testGPA+4<<20, 256, vringDescFWrite, 0)
	r.rx.addAvail(40)
	r.rx.postRx(4, 256)
	require.Equal(t, 1, r.txAll(t, frame(1000, 1), frame(100, 2)))
	used := r.rx.reclaim()
	require.Len(t, used, 4)
	for _, u := range used[:3] {
		require.Zero(t, u[1])
	}
	require.Equal(t, uint32(112), used[3][1])
	require.Equal(t, uint64(1), r.stats().TxBadAddr)
}

func TestTransmitBrokenRing(t *testing.T) {
	r := newRingRig(t, featModern, 64, 2048)
	r.rx.setAvailIdx(100)
	require.Equal(t, 0, r.txAll(t, frame(64, 1)))
	require.Equal(t, 0, r.txAll(t, frame(64, 1)))
	s := r.stats()
	require.Equal(t, uint64(1), s.TxBrokenRings)
	require.Equal(t, uint64(2), s.TxNotReady)
}
