package vhostuser

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// rxOne polls rx queue q until a frame comes (or 5 s pass) and returns
// its buffer, which the caller frees.
func (r *portRig) rxOne(t testing.TB, q int) pipeline.BufID {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Microsecond) {
		n, err := r.rx[q].Rx(r.ids[:1])
		require.NoError(t, err)
		if n == 1 {
			return r.ids[0]
		}
	}
	t.Fatal("no frame from the guest")
	return 0
}

// TestNegotiateOffloads: the port offers the offloads unless NoOffload,
// and each front-end gets what it negotiated: a guest with every offload
// sends and receives 64 KiB frames whole; the next one, which takes none,
// gets the same frame in segments; a front-end that acknowledges an
// offload a NoOffload port did not offer is refused.
func TestNegotiateOffloads(t *testing.T) {
	r := newPortRig(t, Config{})
	require.True(t, r.p.Info().Offload)
	fr, h := gsoFrame(t, gsoTCP4, 64000, 1448)

	f := dial(t, r.sock)
	require.Equal(t, uint64(offloadFeatures), le.Uint64(f.get(reqGetFeatures, nil))&offloadFeatures)
	f.handshake(featWanted | offloadFeatures)
	r.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
	require.Equal(t, featWanted|offloadFeatures, r.p.Status().Features)

	// Guest to switch: one chain with the header's state.
	f.tx.txChain(t, encodeHdr(h, len(f.hdr)), fr, f.tx.bufSize)
	f.tx.publish()
	id := r.rxOne(t, 0)
	require.Equal(t, fr, chainBytes(r.pool, id))
	m := r.pool.Meta(id)
	require.Equal(t, uint8(pipeline.OffloadCsumPartial|pipeline.OffloadGSO), m.Offload)
	require.Equal(t, [4]uint16{offload.GSOTCPv4, 1448, h.CsumStart, h.CsumOffset}, [4]uint16{uint16(m.GSOType), m.GSOSize, m.CsumStart, m.CsumOff})

	// Switch to guest: the same chain, whole.
	f.rx.postRx(64, 2048)
	sent, err := r.tx[0].Tx([]pipeline.BufID{id})
	require.NoError(t, err)
	require.Equal(t, 1, sent)
	frames, hdrs := f.rx.rxFrames(t, len(f.hdr))
	require.Equal(t, [][]byte{fr}, frames)
	require.Equal(t, byte(offload.GSOTCPv4), hdrs[0][1])
	f.close()
	r.waitStatus(t, "disconnected", func(s Status) bool { return !s.Connected })

	// A guest without offloads: plain frames only.
	f = dial(t, r.sock)
	f.handshake(featWanted)
	r.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
	f.rx.postRx(128, 2048)
	id = poolChain(t, r.pool, fr, h)
	sent, err = r.tx[0].Tx([]pipeline.BufID{id})
	require.NoError(t, err)
	frames, hdrs = f.rx.rxFrames(t, len(f.hdr))
	require.Equal(t, (64000+1447)/1448, sent)
	require.Len(t, frames, sent)
	for i := range frames {
		require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, hdrs[i])
		checkSegment(t, gsoTCP4, frames[i], 1448)
	}
	f.close()
	s := r.p.Stats()
	require.Equal(t, uint64(1), s.RxGSOFrames)
	require.Equal(t, uint64(1), s.TxGSOFrames)
	require.Equal(t, uint64(1), s.TxSegmented)
	require.Zero(t, drops(s)+s.ProtocolErrors, "%+v", s)

	off := newPortRig(t, Config{NoOffload: true})
	require.False(t, off.p.Info().Offload)
	f = dial(t, off.sock)
	require.Zero(t, le.Uint64(f.get(reqGetFeatures, nil))&offloadFeatures)
	require.NoError(t, f.send(reqSetFeatures, 0, u64(featWanted|bit(featNetCsum))))
	f.waitClosed()
	require.Equal(t, uint64(1), off.p.Stats().ProtocolErrors)
}

// TestOffloadAllocations checks that the offload paths allocate nothing:
// 64 KiB GSO frames from the guest into chains, back to a guest that
// takes them whole, and to one that does not (segmented in the port),
// and partial checksums completed for it.
func TestOffloadAllocations(t *testing.T) {
	r := newPortRig(t, Config{})
	rx, tx := r.rx[0], r.tx[0]
	fr, h := gsoFrame(t, gsoTCP6, 64000, 1448)
	small, hs := gsoFrame(t, gsoTCP4, 1000, 1448)
	for _, tc := range []struct {
		name     string
		features uint64
		frame    []byte
		h        offload.VnetHdr
		check    func(Stats) uint64
	}{
		{"GSO frames whole", featWanted | offloadFeatures, fr, h, func(s Stats) uint64 { return s.TxGSOFrames }},
		{"GSO frames segmented", featWanted | bit(featNetCsum) | bit(featNetHostTSO6), fr, h, func(s Stats) uint64 { return s.TxSegmented }},
		{"checksum completed", featWanted | bit(featNetCsum), small, hs, func(s Stats) uint64 { return s.TxPackets }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := dial(t, r.sock)
			f.handshake(tc.features)
			r.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
			head := f.tx.txChain(t, encodeHdr(tc.h, len(f.hdr)), tc.frame, f.tx.bufSize)
			f.tx.next-- // made available in the loop
			f.rx.postRx(feRing, 2048)
			before := r.p.Stats()
			moved := 0
			allocs := testing.AllocsPerRun(50, func() {
				f.tx.addAvail(head)
				f.tx.publish()
				n, _ := rx.Rx(r.ids)
				sent, _ := tx.Tx(r.ids[:n])
				moved += sent
				f.tx.seen = f.tx.usedIdx()
				for idx := f.rx.usedIdx(); f.rx.seen != idx; f.rx.seen++ {
					id, _ := f.rx.usedElem(f.rx.seen)
					f.rx.addAvail(uint16(id))
				}
				f.rx.publish()
			})
			require.Zero(t, allocs)
			s := r.p.Stats()
			require.GreaterOrEqual(t, moved, 51)
			require.GreaterOrEqual(t, tc.check(s)-tc.check(before), uint64(51), "%+v", s)
			require.Zero(t, drops(s)+s.Faults, "%+v", s)
			f.close()
			r.waitStatus(t, "disconnected", func(s Status) bool { return !s.Connected })
		})
	}
}
