package vhostuser

import (
	"testing"
	"time"
)

// benchGuest is a port with a test front-end whose transmit ring holds a
// ready 64-byte frame per descriptor and whose receive ring is full of
// 2 KiB buffers. The benchmarks recycle them as a guest driver would, in
// the same goroutine: the figures include that (small) cost and measure
// the port's own cost per frame, without a second process.
func benchGuest(b *testing.B) (*portRig, *frontend) {
	r := newPortRig(b, Config{})
	f := dial(b, r.sock)
	f.handshake(featWanted)
	r.waitStatus(b, "running", func(s Status) bool { return s.RunningRings == 2 })
	fr := frame(64, 1)
	for i := range uint16(feRing) {
		o := f.tx.bufAt(i)
		copy(f.mem[o+len(f.hdr):], fr)
		f.tx.setDesc(i, f.tx.gpa(o), uint32(len(f.hdr)+len(fr)), 0, 0)
	}
	f.rx.postRx(feRing, 2048)
	return r, f
}

// BenchmarkRx: the guest makes 32 frames available, one Rx takes them.
func BenchmarkRx(b *testing.B) {
	r, f := benchGuest(b)
	rx := r.rx[0]
	next := uint16(0)
	var got int
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		for range 32 {
			f.tx.addAvail(next % feRing)
			next++
		}
		f.tx.publish()
		n, _ := rx.Rx(r.ids)
		r.pool.FreeN(r.ids[:n])
		got += n
		f.tx.seen = f.tx.usedIdx()
	}
	el := time.Since(start)
	b.ReportMetric(float64(got)/el.Seconds(), "pkts/s")
	b.ReportMetric(float64(el.Nanoseconds())/float64(got), "ns/pkt")
}

// BenchmarkTx: one Tx of 32 frames, then the guest gives the buffers back.
func BenchmarkTx(b *testing.B) {
	r, f := benchGuest(b)
	tx := r.tx[0]
	fr := frame(64, 2)
	var sent int
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		n := r.pool.AllocN(r.ids[:32])
		for _, id := range r.ids[:n] {
			r.pool.SetPacket(id, fr)
		}
		k, _ := tx.Tx(r.ids[:n])
		sent += k
		for idx := f.rx.usedIdx(); f.rx.seen != idx; f.rx.seen++ {
			id, _ := f.rx.usedElem(f.rx.seen)
			f.rx.addAvail(uint16(id))
		}
		f.rx.publish()
	}
	el := time.Since(start)
	b.ReportMetric(float64(sent)/el.Seconds(), "pkts/s")
	b.ReportMetric(float64(el.Nanoseconds())/float64(sent), "ns/pkt")
}
