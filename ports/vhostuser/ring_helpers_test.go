package vhostuser

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
)

// Guest-physical and front-end virtual bases of the unit tests' memory.
const (
	testGPA = 0x100000
	testUVA = 0x7f1200000000
)

// Feature sets used by the tests.
var (
	featModern  = bit(featVersion1) | bit(featNetMRGRxBuf) | bit(featRingIndirectDesc)
	featNoMerge = bit(featVersion1) | bit(featRingIndirectDesc)
	featLegacy  = uint64(0)
	featEvent   = featModern | bit(featRingEventIdx)
)

// ringRig is one queue pair over heap memory: the test's driver on one
// side, the backend's vrings (built as the control plane builds them) on
// the other, and a pool that must hold every buffer again at the end.
type ringRig struct {
	mem    []byte
	gm     *guestMem
	tx, rx *drvRing // the guest's transmit (vq 1) and receive (vq 0) rings
	vtx    *vring   // what the switch receives from
	vrx    *vring   // what the switch transmits into
	pool   *pipeline.Pool
	rc     rxCounters
	tc     txCounters
	ts     txScratch
	hdr    []byte // a zero virtio-net header of the negotiated length
}

func newRingRig(t *testing.T, features uint64, num uint16, rxBufSize int) *ringRig {
	t.Helper()
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 1024})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.Equal(t, pool.Size(), pool.Available(), "buffers leaked")
		pool.Close()
	})
	return ringRigOn(t, make([]byte, 4<<20), pool, features, num, rxBufSize)
}

// ringRigOn is newRingRig over the given memory (cleared) and pool.
func ringRigOn(t testing.TB, mem []byte, pool *pipeline.Pool, features uint64, num uint16, rxBufSize int) *ringRig {
	t.Helper()
	clear(mem)
	r := &ringRig{mem: mem, pool: pool}
	var off int
	r.tx, off = newDrvRing(r.mem, testGPA, 0, num, 4096)
	r.rx, off = newDrvRing(r.mem, testGPA, off, num, rxBufSize)
	require.LessOrEqual(t, off, len(r.mem))
	r.gm = &guestMem{regions: []region{{gpa: testGPA, uva: testUVA, size: uint64(len(r.mem)), data: r.mem}}}
	r.vtx = buildTestRing(t, r.gm, features, r.tx, 1)
	r.vrx = buildTestRing(t, r.gm, features, r.rx, 0)
	r.hdr = make([]byte, r.vtx.hdrLen)
	return r
}

// buildTestRing makes the backend's vring for driver ring d as
// virtqueue i, through the control plane's own code.
func buildTestRing(t testing.TB, gm *guestMem, features uint64, d *drvRing, i int) *vring {
	t.Helper()
	b := &backend{mem: gm, features: features}
	uva := func(off int) uint64 { return testUVA + uint64(off) }
	v := &vqState{num: uint32(d.num), addr: vringAddr{desc: uva(d.desc), avail: uva(d.avail), used: uva(d.used)}, hasAddr: true, kick: -1, call: -1}
	r, err := b.buildRing(i, v, nil)
	require.NoError(t, err)
	return r
}

// rxAll receives once and returns copies of the frames, freeing the
// buffers.
func (r *ringRig) rxAll(t *testing.T) [][]byte {
	t.Helper()
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	held := 0
	n := r.vtx.receive(r.pool, ids, &r.rc, &held)
	require.Zero(t, held)
	var out [][]byte
	for _, id := range ids[:n] {
		require.Equal(t, uint16(pipeline.Headroom), r.pool.Meta(id).Off)
		out = append(out, append([]byte(nil), r.pool.Packet(id)...))
	}
	r.pool.FreeN(ids[:n])
	return out
}

// txAll transmits frames in one batch and returns how many went.
func (r *ringRig) txAll(t *testing.T, frames ...[]byte) int {
	t.Helper()
	ids := make([]pipeline.BufID, len(frames))
	require.Equal(t, len(frames), r.pool.AllocN(ids))
	for i, f := range frames {
		require.True(t, r.pool.SetPacket(ids[i], f))
	}
	sent := r.vrx.transmit(r.pool, ids, &r.tc, &r.ts)
	r.pool.FreeN(ids)
	return sent
}

func (r *ringRig) stats() Stats {
	var s Stats
	s.addRx(&r.rc)
	s.addTx(&r.tc)
	return s
}

// frame makes a test frame of n bytes whose bytes are not all alike.
func frame(n int, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = seed + byte(i*7)
	}
	copy(f, []byte{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00})
	return f
}

// drops sums every drop counter of s.
func drops(s Stats) uint64 {
	return s.RxNoBuffer + s.RxOversize + s.RxRunt + s.RxGSO + s.RxBadHeader + s.RxBadDesc + s.TxBadDesc +
		s.RxBadAddr + s.TxBadAddr + s.RxBrokenRings + s.TxBrokenRings + s.TxFull + s.TxNoRoom + s.TxNotReady +
		s.TxBadOffload + s.TxNoBuffer
}
