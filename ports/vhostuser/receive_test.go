package vhostuser

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
)

func TestReceiveLayouts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		features uint64
		hdrLen   int
	}{
		{"modern", featModern, 12},
		{"no mergeable", featNoMerge, 12},
		{"legacy", featLegacy, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, tc.features, 256, 2048)
			require.Equal(t, tc.hdrLen, r.vtx.hdrLen)
			f1, f2 := frame(60, 1), frame(1514, 2)
			r.tx.txFrame(t, f1, r.hdr, false)
			r.tx.txFrame(t, f2, r.hdr, true)
			r.tx.publish()
			got := r.rxAll(t)
			require.Equal(t, [][]byte{f1, f2}, got)
			used := r.tx.reclaim()
			require.Len(t, used, 2)
			for _, u := range used {
				require.Zero(t, u[1], "transmit buffers come back with length 0")
			}
			s := r.stats()
			require.Equal(t, uint64(2), s.RxPackets)
			require.Equal(t, uint64(60+1514), s.RxBytes)
			require.Zero(t, drops(s))
			require.Empty(t, r.rxAll(t))
		})
	}
}

func TestReceiveIndirect(t *testing.T) {
	r := newRingRig(t, featModern, 64, 2048)
	f := frame(300, 3)
	// An indirect table of three descriptors: header, two halves.
	tbl, data := r.tx.bufAt(10), r.tx.bufAt(11)
	copy(r.mem[data:], r.hdr)
	copy(r.mem[data+12:], f)
	put := func(i int, addr uint64, n uint32, flags, next uint16) {
		b := r.mem[tbl+16*i:]
		le.PutUint64(b, addr)
		le.PutUint32(b[8:], n)
		le.PutUint16(b[12:], flags)
		le.PutUint16(b[14:], next)
	}
	put(0, r.tx.gpa(data), 12, vringDescFNext, 2) // entries out of order
	put(2, r.tx.gpa(data+12), 100, vringDescFNext, 1)
	put(1, r.tx.gpa(data+112), 200, 0, 0)
	r.tx.setDesc(0, r.tx.gpa(tbl), 48, vringDescFIndirect, 0)
	r.tx.addAvail(0)
	r.tx.publish()
	require.Equal(t, [][]byte{f}, r.rxAll(t))
	require.Zero(t, drops(r.stats()))
}

// TestReceiveMalformed feeds chains that break a rule, each followed by a
// good frame: the bad chain is dropped and counted under its reason, its
// head goes back to the guest when it names a descriptor, the good frame
// comes through, nothing panics and no buffer leaks.
func TestReceiveMalformed(t *testing.T) {
	end := uint64(testGPA + 4<<20) // first address after guest memory
	type setup func(r *ringRig) (head uint16)
	direct := func(addr uint64, n uint32, flags uint16) setup {
		return func(r *ringRig) uint16 {
			r.tx.setDesc(5, addr, n, flags, 0)
			return 5
		}
	}
	withHdr := func(hdr []byte, payload int) setup {
		return func(r *ringRig) uint16 {
			o := r.tx.bufAt(5)
			copy(r.mem[o:], hdr)
			r.tx.setDesc(5, r.tx.gpa(o), uint32(len(hdr)+payload), 0, 0)
			return 5
		}
	}
	indirect := func(features uint64, tblAddr func(r *ringRig) uint64, n uint32, flags uint16, entry func(r *ringRig, tbl []byte)) setup {
		return func(r *ringRig) uint16 {
			o := r.tx.bufAt(5)
			if entry != nil {
				entry(r, r.mem[o:o+64])
			}
			addr := r.tx.gpa(o)
			if tblAddr != nil {
				addr = tblAddr(r)
			}
			r.tx.setDesc(5, addr, n, vringDescFIndirect|flags, 6)
			return 5
		}
	}
	goodEntry := func(r *ringRig, tbl []byte) {
		d := r.tx.bufAt(7)
		copy(r.mem[d:], r.hdr)
		copy(r.mem[d+12:], frame(64, 9))
		le.PutUint64(tbl, r.tx.gpa(d))
		le.PutUint32(tbl[8:], 76)
	}
	gsoHdr := make([]byte, 12)
	gsoHdr[1] = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	csumHdr := make([]byte, 12)
	csumHdr[0] = netHdrFlagNeedsCsum
	le.PutUint16(csumHdr[6:], 60) // csum_start beyond a 64-byte frame's end - 2
	le.PutUint16(csumHdr[8:], 6)
	for _, tc := range []struct {
		name     string
		features uint64
		setup    setup
		counter  func(Stats) uint64
		noUsed   bool // the head names no descriptor: nothing to give back
	}{
		{"head beyond ring", featModern, func(r *ringRig) uint16 { return 64 + 3 }, func(s Stats) uint64 { return s.RxBadDesc }, true},
		{"head at max", featModern, func(r *ringRig) uint16 { return math.MaxUint16 }, func(s Stats) uint64 { return s.RxBadDesc }, true},
		{"next beyond ring", featModern, func(r *ringRig) uint16 {
			r.tx.setDesc(5, r.tx.gpa(r.tx.bufAt(5)), 12, vringDescFNext, 64)
			return 5
		}, func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"loop", featModern, func(r *ringRig) uint16 {
			r.tx.setDesc(5, r.tx.gpa(r.tx.bufAt(5)), 8, vringDescFNext, 6)
			r.tx.setDesc(6, r.tx.gpa(r.tx.bufAt(6)), 8, vringDescFNext, 5)
			return 5
		}, func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"self loop", featModern, func(r *ringRig) uint16 {
			r.tx.setDesc(5, r.tx.gpa(r.tx.bufAt(5)), 100, vringDescFNext, 5)
			return 5
		}, func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"device-writable buffer", featModern, direct(testGPA+0x1000, 100, vringDescFWrite), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"beyond memory", featModern, direct(end, 100, 0), func(s Stats) uint64 { return s.RxBadAddr }, false},
		{"below memory", featModern, direct(0x1000, 100, 0), func(s Stats) uint64 { return s.RxBadAddr }, false},
		{"straddles the end", featModern, direct(end-50, 100, 0), func(s Stats) uint64 { return s.RxBadAddr }, false},
		{"wraps around", featModern, direct(math.MaxUint64-10, 100, 0), func(s Stats) uint64 { return s.RxBadAddr }, false},
		{"huge length", featModern, direct(testGPA, math.MaxUint32, 0), func(s Stats) uint64 { return s.RxBadAddr }, false},
		{"shorter than the header", featModern, direct(testGPA+0x1000, 5, 0), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"indirect not negotiated", featModern &^ bit(featRingIndirectDesc), indirect(0, nil, 16, 0, goodEntry), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"indirect with next", featModern, indirect(0, nil, 16, vringDescFNext, goodEntry), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"indirect partial entry", featModern, indirect(0, nil, 20, 0, goodEntry), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"indirect empty", featModern, indirect(0, nil, 0, 0, nil), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"indirect longer than ring", featModern, indirect(0, nil, 16*65, 0, nil), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"indirect table outside memory", featModern, indirect(0, func(*ringRig) uint64 { return end - 8 }, 16, 0, nil), func(s Stats) uint64 { return s.RxBadAddr }, false},
		{"nested indirect", featModern, indirect(0, nil, 16, 0, func(r *ringRig, tbl []byte) {
			le.PutUint64(tbl, r.tx.gpa(r.tx.bufAt(5)))
			le.PutUint32(tbl[8:], 16)
			le.PutUint16(tbl[12:], vringDescFIndirect)
		}), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"indirect entry beyond table", featModern, indirect(0, nil, 16, 0, func(r *ringRig, tbl []byte) {
			goodEntry(r, tbl)
			le.PutUint16(tbl[12:], vringDescFNext)
			le.PutUint16(tbl[14:], 1)
		}), func(s Stats) uint64 { return s.RxBadDesc }, false},
		{"indirect entry outside memory", featModern, indirect(0, nil, 16, 0, func(r *ringRig, tbl []byte) {
			le.PutUint64(tbl, end+4096)
			le.PutUint32(tbl[8:], 100)
		}), func(s Stats) uint64 { return s.RxBadAddr }, false},
		{"runt", featModern, withHdr(make([]byte, 12), 13), func(s Stats) uint64 { return s.RxRunt }, false},
		{"header only", featModern, withHdr(make([]byte, 12), 0), func(s Stats) uint64 { return s.RxRunt }, false},
		{"oversize", featModern, withHdr(make([]byte, 12), 3000), func(s Stats) uint64 { return s.RxOversize }, false},
		{"segmentation offload", featModern, withHdr(gsoHdr, 64), func(s Stats) uint64 { return s.RxGSO }, false},
		{"checksum offsets outside the frame", featModern, withHdr(csumHdr, 64), func(s Stats) uint64 { return s.RxBadHeader }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, tc.features, 64, 2048)
			r.tx.take() // keep descriptors 0..7 for the test's own chains
			for range 7 {
				r.tx.take()
			}
			head := tc.setup(r)
			r.tx.addAvail(head)
			good := frame(64, 4)
			r.tx.txFrame(t, good, r.hdr, false)
			r.tx.publish()
			require.Equal(t, [][]byte{good}, r.rxAll(t))
			s := r.stats()
			require.Equal(t, uint64(1), tc.counter(s), "%+v", s)
			require.Equal(t, uint64(1), drops(s), "one drop only: %+v", s)
			require.Equal(t, uint64(1), s.RxPackets)
			wantUsed := uint16(2)
			if tc.noUsed {
				wantUsed = 1
			}
			require.Equal(t, wantUsed, r.tx.usedIdx())
			if !tc.noUsed {
				id, n := r.tx.usedElem(0)
				require.Equal(t, uint32(head), id, "the bad chain goes back to the guest")
				require.Zero(t, n)
			}
		})
	}
}

func TestReceiveBrokenRing(t *testing.T) {
	r := newRingRig(t, featModern, 64, 2048)
	r.tx.txFrame(t, frame(64, 1), r.hdr, false)
	r.tx.publish()
	require.Len(t, r.rxAll(t), 1)
	r.tx.setAvailIdx(r.tx.next + 65) // more entries than the ring has
	for range 3 {
		require.Empty(t, r.rxAll(t))
	}
	s := r.stats()
	require.Equal(t, uint64(1), s.RxBrokenRings, "counted once")
	require.True(t, r.vtx.broken)
}

func TestReceiveNoBuffer(t *testing.T) {
	r := newRingRig(t, featModern, 64, 2048)
	for range 4 {
		r.tx.txFrame(t, frame(64, 1), r.hdr, false)
	}
	r.tx.publish()
	// Take all but two buffers of the pool.
	hold := make([]pipeline.BufID, r.pool.Available()-2)
	require.Equal(t, len(hold), r.pool.AllocN(hold))
	require.Len(t, r.rxAll(t), 2)
	require.Equal(t, uint64(1), r.stats().RxNoBuffer)
	r.pool.FreeN(hold)
	require.Len(t, r.rxAll(t), 2, "the rest waited in the ring")
}
