package vhostuser

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRxTxAllocations checks that Rx and Tx allocate nothing, with a live
// front-end: empty polls, frames from the guest received and sent back
// into its receive ring, and the guest recycling both rings.
func TestRxTxAllocations(t *testing.T) {
	r := newPortRig(t, Config{})
	f := dial(t, r.sock)
	f.handshake(featWanted)
	r.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
	rx, tx := r.rx[0], r.tx[0]

	allocs := testing.AllocsPerRun(200, func() {
		n, _ := rx.Rx(r.ids)
		r.pool.FreeN(r.ids[:n])
	})
	require.Zero(t, allocs, "empty Rx")

	// The guest's descriptors are set up once; the loop only makes them
	// available again, as a driver recycling its buffers does.
	fr := frame(64, 1)
	for i := range uint16(feRing) {
		o := f.tx.bufAt(i)
		copy(f.mem[o+len(f.hdr):], fr)
		f.tx.setDesc(i, f.tx.gpa(o), uint32(len(f.hdr)+len(fr)), 0, 0)
	}
	f.rx.postRx(feRing, 2048)
	next := uint16(0)
	moved := 0
	allocs = testing.AllocsPerRun(500, func() {
		for range 8 {
			f.tx.addAvail(next % feRing)
			next++
		}
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
	require.Zero(t, allocs, "Rx and Tx of frames")
	require.GreaterOrEqual(t, moved, 500*8)

	allocs = testing.AllocsPerRun(200, func() {
		n := r.pool.AllocN(r.ids[:4])
		for _, id := range r.ids[:n] {
			r.pool.SetPacket(id, fr)
		}
		tx.Tx(r.ids[:n])
	})
	require.Zero(t, allocs, "Tx into a full ring")
	s := r.p.Stats()
	require.Zero(t, s.RxBadDesc+s.RxBadAddr+s.TxBadDesc+s.TxBadAddr+s.RxNoBuffer+s.Faults, "%+v", s)
	require.NotZero(t, s.TxFull)
}
