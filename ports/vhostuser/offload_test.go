package vhostuser

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

func TestOffloadCaps(t *testing.T) {
	all := capCsum | capTSO4 | capTSO6 | capECN | capUSO4 | capUSO6
	for _, tc := range []struct {
		name        string
		f           uint64
		host, guest caps
	}{
		{"none", featModern, 0, 0},
		{"all", offloadFeatures, all, all},
		{"host only", featHostOnly, all, 0},
		{"checksums only", featCsumOnly, capCsum, capCsum},
		{"TSO without checksum", bit(featNetHostTSO4) | bit(featNetGuestTSO6), 0, 0},
		{"ECN without TSO", bit(featNetCsum) | bit(featNetHostECN) | bit(featNetHostUSO), capCsum | capUSO4 | capUSO6, 0},
		{"guest USO4 only", bit(featNetGuestCsum) | bit(featNetGuestUSO4), 0, capCsum | capUSO4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.host, hostCaps(tc.f))
			require.Equal(t, tc.guest, guestCaps(tc.f))
		})
	}
	require.Zero(t, offeredFeatures(1, false)&offloadFeatures)
	require.Equal(t, uint64(offloadFeatures), offeredFeatures(1, true)&offloadFeatures)
}

// TestReceiveGSOChain: a guest with HOST_TSO/USO sends a 64 KiB frame in
// many descriptors; the switch gets it as one chain of pool buffers with
// the header's offload state in its metadata.
func TestReceiveGSOChain(t *testing.T) {
	for _, k := range []gsoKind{gsoTCP4, gsoTCP6, gsoUDP4, gsoUDP6} {
		for _, piece := range []int{4096, 1000, 333} {
			t.Run(k.String(), func(t *testing.T) {
				r := newRingRig(t, featOffload, 256, 2048)
				fr, h := gsoFrame(t, k, 64000, 1448)
				require.Greater(t, len(fr), 64000)
				r.tx.txChain(t, encodeHdr(h, len(r.hdr)), fr, piece)
				r.tx.publish()
				ids := r.rxIDs(t)
				require.Len(t, ids, 1)
				id := ids[0]
				m := *r.pool.Meta(id)
				require.Equal(t, uint16(pipeline.Headroom), m.Off)
				require.Equal(t, uint16(pipeline.MaxPacket), m.Len, "the first buffer is full")
				require.Equal(t, len(fr), r.pool.ChainLen(id))
				require.True(t, bytes.Equal(fr, chainBytes(r.pool, id)), "frame bytes")
				require.Equal(t, uint8(pipeline.OffloadCsumPartial|pipeline.OffloadGSO), m.Offload)
				require.Equal(t, h.GSOType, m.GSOType)
				require.Equal(t, uint16(1448), m.GSOSize)
				require.Equal(t, h.CsumStart, m.CsumStart)
				require.Equal(t, h.CsumOffset, m.CsumOff)
				r.pool.FreeN(ids)
				s := r.stats()
				require.Equal(t, uint64(1), s.RxPackets)
				require.Equal(t, uint64(1), s.RxGSOFrames)
				require.Equal(t, uint64(len(fr)), s.RxBytes)
				require.Zero(t, drops(s), "%+v", s)
				used := r.tx.reclaim()
				require.Len(t, used, 1)
			})
		}
	}
}

// TestReceivePartialKept: with CSUM negotiated a partial checksum stays
// partial (the switch carries it); without, it is completed (as before).
func TestReceivePartialKept(t *testing.T) {
	fr, h := gsoFrame(t, gsoTCP4, 1000, 1448)
	require.Equal(t, uint8(offload.GSONone), h.GSOType)
	complete := append([]byte(nil), fr...)
	require.NoError(t, offload.CompleteChecksum(complete, int(h.CsumStart), int(h.CsumOffset)))
	for _, tc := range []struct {
		name    string
		f       uint64
		want    []byte
		offload uint8
	}{
		{"negotiated", featCsumOnly, fr, pipeline.OffloadCsumPartial},
		{"not negotiated", featModern, complete, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, tc.f, 64, 2048)
			r.tx.txFrame(t, fr, encodeHdr(h, 12), true)
			r.tx.publish()
			ids := r.rxIDs(t)
			require.Len(t, ids, 1)
			m := r.pool.Meta(ids[0])
			require.Equal(t, tc.want, r.pool.Packet(ids[0]))
			require.Equal(t, tc.offload, m.Offload)
			require.Zero(t, m.Next)
			r.pool.FreeN(ids)
			require.Zero(t, drops(r.stats()))
		})
	}
}

// TestReceiveOffloadMalformed: headers that offload.VnetHdr refuses, or
// that ask for what was not negotiated, or that do not fit their frame,
// are dropped and counted; the good frame after each comes through and no
// buffer of a half-built chain leaks.
func TestReceiveOffloadMalformed(t *testing.T) {
	tcp4, h4 := gsoFrame(t, gsoTCP4, 20000, 1448)
	tcp6, h6 := gsoFrame(t, gsoTCP6, 20000, 1448)
	udp4, hu := gsoFrame(t, gsoUDP4, 20000, 1400)
	huge, hh := gsoFrame(t, gsoTCP4, 65400, 1448)
	huge = append(huge, make([]byte, 200)...) // beyond a 64 KiB IP packet
	with := func(h offload.VnetHdr, f func(*offload.VnetHdr)) offload.VnetHdr { f(&h); return h }
	rxBadHdr := func(s Stats) uint64 { return s.RxBadHeader }
	rxGSO := func(s Stats) uint64 { return s.RxGSO }
	for _, tc := range []struct {
		name    string
		f       uint64
		frame   []byte
		h       offload.VnetHdr
		counter func(Stats) uint64
	}{
		{"unknown flag", featOffload, tcp4, with(h4, func(h *offload.VnetHdr) { h.Flags |= 4 }), rxBadHdr},
		{"unknown GSO type", featOffload, tcp4, with(h4, func(h *offload.VnetHdr) { h.GSOType = 2 }), rxBadHdr},
		{"GSO size 0", featOffload, tcp4, with(h4, func(h *offload.VnetHdr) { h.GSOSize = 0 }), rxBadHdr},
		{"TCP with UDP checksum offset", featOffload, tcp4, with(h4, func(h *offload.VnetHdr) { h.CsumOffset = 6 }), rxBadHdr},
		{"UDP GSO without NEEDS_CSUM", featOffload, udp4, with(hu, func(h *offload.VnetHdr) { h.Flags = 0 }), rxBadHdr},
		{"ECN on UDP", featOffload, udp4, with(hu, func(h *offload.VnetHdr) { h.GSOType |= offload.GSOECN }), rxBadHdr},
		{"checksum beyond the frame", featOffload, tcp4, with(h4, func(h *offload.VnetHdr) { h.CsumStart = uint16(len(tcp4) - 10) }), rxBadHdr},
		{"hdr_len beyond the frame", featOffload, tcp4, with(h4, func(h *offload.VnetHdr) { h.HdrLen = uint16(len(tcp4) + 1) }), rxBadHdr},
		{"UFO", featOffload, udp4, with(hu, func(h *offload.VnetHdr) { h.GSOType = offload.GSOUDP; h.CsumOffset = 6 }), rxGSO},
		{"TSO6 not negotiated", featModern | bit(featNetCsum) | bit(featNetHostTSO4), tcp6, h6, rxGSO},
		{"ECN not negotiated", featModern | bit(featNetCsum) | bit(featNetHostTSO4), tcp4, with(h4, func(h *offload.VnetHdr) { h.GSOType |= offload.GSOECN }), rxGSO},
		{"USO not negotiated", featModern | bit(featNetCsum) | bit(featNetHostTSO4), udp4, hu, rxGSO},
		{"no offload negotiated", featModern, tcp4, h4, func(s Stats) uint64 { return s.RxOversize }},
		{"large frame without GSO", featOffload, tcp4, with(h4, func(h *offload.VnetHdr) { h.GSOType, h.GSOSize = 0, 0 }), func(s Stats) uint64 { return s.RxOversize }},
		{"beyond 64 KiB", featOffload, huge, hh, func(s Stats) uint64 { return s.RxOversize }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, tc.f, 256, 2048)
			r.tx.txChain(t, encodeHdr(tc.h, 12), tc.frame, 4096)
			good := frame(64, 4)
			r.tx.txFrame(t, good, r.hdr, false)
			r.tx.publish()
			require.Equal(t, [][]byte{good}, r.rxAll(t))
			s := r.stats()
			require.Equal(t, uint64(1), tc.counter(s), "%+v", s)
			require.Equal(t, uint64(1), drops(s), "one drop only: %+v", s)
			require.Len(t, r.tx.reclaim(), 2, "both chains go back to the guest")
		})
	}
}

// TestReceiveGSONoBuffer: when the pool runs dry in the middle of a large
// frame the frame waits in the guest's ring, and comes whole once there
// are buffers again.
func TestReceiveGSONoBuffer(t *testing.T) {
	r := newRingRig(t, featOffload, 256, 2048)
	fr, h := gsoFrame(t, gsoTCP4, 30000, 1448)
	r.tx.txChain(t, encodeHdr(h, 12), fr, 4096)
	r.tx.publish()
	hold := make([]pipeline.BufID, r.pool.Available()-5)
	require.Equal(t, len(hold), r.pool.AllocN(hold))
	require.Empty(t, r.rxIDs(t))
	require.Equal(t, uint64(1), r.stats().RxNoBuffer)
	require.Equal(t, 5, r.pool.Available(), "the half-built chain went back")
	require.Zero(t, r.tx.usedIdx(), "nothing consumed")
	r.pool.FreeN(hold)
	ids := r.rxIDs(t)
	require.Len(t, ids, 1)
	require.Equal(t, fr, chainBytes(r.pool, ids[0]))
	r.pool.FreeN(ids)
}

// TestTransmitGSOMergeable: a 64 KiB GSO frame to a guest that negotiated
// GUEST_TSO*/USO goes whole, across mergeable buffers, behind a header
// that describes it.
func TestTransmitGSOMergeable(t *testing.T) {
	for _, k := range []gsoKind{gsoTCP4, gsoTCP6, gsoUDP4, gsoUDP6} {
		t.Run(k.String(), func(t *testing.T) {
			r := newRingRig(t, featOffload, 64, 2048)
			r.rx.postRx(64, 2048)
			fr, h := gsoFrame(t, k, 64000, 1448)
			id := poolChain(t, r.pool, fr, h)
			require.Equal(t, 1, r.txIDs(id))
			frames, hdrs := r.rx.rxFrames(t, 12)
			require.Len(t, frames, 1)
			require.True(t, bytes.Equal(fr, frames[0]), "frame bytes")
			var got offload.VnetHdr
			require.NoError(t, got.DecodeMrg(hdrs[0]))
			want := h
			want.NumBuffers = uint16((len(fr) + 12 + 2047) / 2048)
			require.Equal(t, want, got, "header (hdr_len the end of the L4 header)")
			s := r.stats()
			require.Equal(t, uint64(1), s.TxPackets)
			require.Equal(t, uint64(1), s.TxGSOFrames)
			require.Equal(t, uint64(len(fr)), s.TxBytes)
			require.Zero(t, drops(s)+s.TxSegmented, "%+v", s)
		})
	}
}

// TestTransmitGSOFull: a GSO frame that does not fit the buffers the
// guest posted consumes none of them.
func TestTransmitGSOFull(t *testing.T) {
	r := newRingRig(t, featOffload, 64, 2048)
	r.rx.postRx(10, 2048)
	fr, h := gsoFrame(t, gsoTCP4, 64000, 1448)
	require.Zero(t, r.txIDs(poolChain(t, r.pool, fr, h)))
	require.Equal(t, uint64(1), r.stats().TxFull)
	require.Zero(t, r.rx.usedIdx())
	require.Equal(t, 1, r.txAll(t, frame(100, 1)), "the buffers are still there")
}

// TestTransmitSegmented: a guest that did not negotiate taking GSO frames
// gets the frame cut into segments by the port, each a valid frame
// (checked with gopacket) with a plain header; their payloads joined are
// the frame's.
func TestTransmitSegmented(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    uint64
		k    gsoKind
		ecn  bool
	}{
		{"tcp4 no offload", featModern, gsoTCP4, false},
		{"tcp4 host only", featHostOnly, gsoTCP4, false},
		{"tcp6 checksum only", featCsumOnly, gsoTCP6, false},
		{"udp4", featHostOnly, gsoUDP4, false},
		{"udp6 with USO4 only", featCsumOnly | bit(featNetGuestUSO4), gsoUDP6, false},
		{"tcp4 ECN without GUEST_ECN", featCsumOnly | bit(featNetGuestTSO4), gsoTCP4, true},
		{"legacy layout", featLegacy, gsoTCP4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, tc.f, 256, 2048)
			r.rx.postRx(200, 2048)
			const mss = 1000
			fr, h := gsoFrame(t, tc.k, 64000, mss)
			if tc.ecn {
				h.GSOType |= offload.GSOECN
			}
			want := l4Payload(tc.k, fr)
			nseg := (len(want) + mss - 1) / mss
			require.Equal(t, nseg, r.txIDs(poolChain(t, r.pool, fr, h)))
			hl := r.vrx.hdrLen
			frames, hdrs := r.rx.rxFrames(t, hl)
			require.Len(t, frames, nseg)
			var joined []byte
			seq := uint32(1000)
			for i, seg := range frames {
				plain := make([]byte, hl)
				if hl == 12 {
					plain[10] = 1
				}
				require.Equal(t, plain, hdrs[i], "segment %d: plain header", i)
				p, s := checkSegment(t, tc.k, seg, mss)
				if tc.k == gsoTCP4 || tc.k == gsoTCP6 {
					require.Equal(t, seq, s, "segment %d: sequence number", i)
					seq += uint32(len(p))
				}
				joined = append(joined, p...)
			}
			require.True(t, bytes.Equal(want, joined), "payload joined")
			s := r.stats()
			require.Equal(t, uint64(nseg), s.TxPackets)
			require.Equal(t, uint64(1), s.TxSegmented)
			require.Zero(t, drops(s)+s.TxGSOFrames, "%+v", s)
		})
	}
}

// TestTransmitPartial: a frame with a partial checksum goes as it is to a
// guest with GUEST_CSUM (NEEDS_CSUM in the header), completed to any
// other; a verified one is marked DATA_VALID for a guest with GUEST_CSUM.
func TestTransmitPartial(t *testing.T) {
	fr, h := gsoFrame(t, gsoUDP4, 3001, 65000) // a chain: longer than a buffer, one UDP datagram
	require.Equal(t, uint8(offload.GSONone), h.GSOType)
	complete := append([]byte(nil), fr...)
	require.NoError(t, offload.CompleteChecksum(complete, int(h.CsumStart), int(h.CsumOffset)))
	for _, tc := range []struct {
		name  string
		f     uint64
		want  []byte
		flags uint8
	}{
		{"GUEST_CSUM", featCsumOnly, fr, offload.FlagNeedsCsum},
		{"no GUEST_CSUM", featHostOnly, complete, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, tc.f, 64, 2048)
			r.rx.postRx(8, 2048)
			require.Equal(t, 1, r.txIDs(poolChain(t, r.pool, fr, h)))
			frames, hdrs := r.rx.rxFrames(t, 12)
			require.Equal(t, [][]byte{tc.want}, frames)
			var got offload.VnetHdr
			require.NoError(t, got.DecodeMrg(hdrs[0]))
			require.Equal(t, tc.flags, got.Flags)
			if tc.flags != 0 {
				require.Equal(t, h.CsumStart, got.CsumStart)
				require.Equal(t, h.CsumOffset, got.CsumOffset)
			}
			require.Equal(t, uint16(2), got.NumBuffers)
			checkSegment(t, gsoUDP4, complete, 3001)
			require.Zero(t, drops(r.stats()))

			// A verified plain frame.
			r.rx.postRx(1, 2048)
			valid := poolChain(t, r.pool, complete[:1000], offload.VnetHdr{Flags: offload.FlagDataValid})
			require.Equal(t, 1, r.txIDs(valid))
			_, hdrs = r.rx.rxFrames(t, 12)
			wantFlags := uint8(0)
			if tc.f&bit(featNetGuestCsum) != 0 {
				wantFlags = offload.FlagDataValid
			}
			require.Equal(t, wantFlags, hdrs[0][0])
		})
	}
}

// TestTransmitBadOffload: offload state the port cannot honour drops the
// frame (counted), and the next frame goes.
func TestTransmitBadOffload(t *testing.T) {
	fr, h := gsoFrame(t, gsoTCP4, 20000, 1448)
	notIP := append([]byte(nil), fr...)
	notIP[12], notIP[13] = 0x88, 0xcc
	for _, tc := range []struct {
		name    string
		f       uint64
		frame   []byte
		h       offload.VnetHdr
		counter func(Stats) uint64
	}{
		{"GSO frame not IP", featModern, notIP, h, func(s Stats) uint64 { return s.TxBadOffload }},
		{"UFO", featModern, fr, offload.VnetHdr{Flags: h.Flags, GSOType: offload.GSOUDP, GSOSize: 1448, CsumStart: h.CsumStart, CsumOffset: 6}, func(s Stats) uint64 { return s.TxBadOffload }},
		{"checksum beyond the first buffer", featModern, fr, offload.VnetHdr{Flags: offload.FlagNeedsCsum, CsumStart: 3000, CsumOffset: 16}, func(s Stats) uint64 { return s.TxBadOffload }},
		{"too many segments", featModern, fr, offload.VnetHdr{Flags: h.Flags, GSOType: h.GSOType, GSOSize: 100, CsumStart: h.CsumStart, CsumOffset: h.CsumOffset}, func(s Stats) uint64 { return s.TxBadOffload }},
		{"segment too large", featModern, fr, offload.VnetHdr{Flags: h.Flags, GSOType: h.GSOType, GSOSize: 9000, CsumStart: h.CsumStart, CsumOffset: h.CsumOffset}, func(s Stats) uint64 { return s.TxBadOffload }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRingRig(t, tc.f, 256, 2048)
			r.rx.postRx(100, 2048)
			good := frame(100, 3)
			id2, ok := r.pool.Alloc()
			require.True(t, ok)
			require.True(t, r.pool.SetPacket(id2, good))
			require.Equal(t, 1, r.txIDs(poolChain(t, r.pool, tc.frame, tc.h), id2))
			frames, _ := r.rx.rxFrames(t, 12)
			require.Equal(t, [][]byte{good}, frames)
			s := r.stats()
			require.Equal(t, uint64(1), tc.counter(s), "%+v", s)
			require.Equal(t, uint64(1), drops(s), "%+v", s)
		})
	}
}

// TestTransmitSegmentNoBuffer: a pool too short to segment into drops the
// frame (TxNoBuffer) and leaks nothing.
func TestTransmitSegmentNoBuffer(t *testing.T) {
	r := newRingRig(t, featModern, 256, 2048)
	r.rx.postRx(100, 2048)
	fr, h := gsoFrame(t, gsoTCP4, 20000, 1448)
	id := poolChain(t, r.pool, fr, h)
	hold := make([]pipeline.BufID, r.pool.Available()-3)
	require.Equal(t, len(hold), r.pool.AllocN(hold))
	require.Zero(t, r.txIDs(id))
	r.pool.FreeN(hold)
	s := r.stats()
	require.Equal(t, uint64(1), s.TxNoBuffer)
	require.Equal(t, uint64(1), drops(s))
}
