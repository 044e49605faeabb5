package vhostuser_test

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/vhostuser"
)

// benchRig is a vhost-user port with testpmd attached, testpmd's two
// lcores on CPU 0 and the benchmark's goroutine pinned to CPU 1, so the
// switch side runs on one core of its own.
type benchRig struct {
	p    *vhostuser.Port
	pmd  *testpmd
	pool *pipeline.Pool
	rx   pipeline.RxQueue
	tx   pipeline.TxQueue
	ids  []pipeline.BufID
}

func newBenchRig(b *testing.B) *benchRig {
	needTestpmd(b)
	if runtime.NumCPU() < 2 {
		b.Skip("needs two CPUs: one for testpmd, one for the port")
	}
	sock := filepath.Join(b.TempDir(), "bench.sock")
	p, err := vhostuser.New(vhostuser.Config{Name: "bench", Socket: sock, Logger: quietUnlessVerbose()})
	if err != nil {
		b.Fatal(err)
	}
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 4096})
	if err != nil {
		b.Fatal(err)
	}
	r := &benchRig{p: p, pool: pool, ids: make([]pipeline.BufID, pipeline.VectorSize)}
	r.rx, _ = p.OpenRx(0, pool)
	r.tx, _ = p.OpenTx(0, pool)
	b.Cleanup(func() {
		r.rx.Close()
		r.tx.Close()
		p.Close()
		pool.Close()
	})
	r.pmd = startTestpmd(b, sock, "--lcores=0@0,1@0", "")
	if !waitUntil(10*time.Second, func() bool { return p.Status().RunningRings == 2 }) {
		b.Fatalf("testpmd did not start its rings: %+v", p.Status())
	}
	return r
}

// pin locks the goroutine to its thread and the thread to cpu; the
// returned function undoes it.
func pin(b *testing.B, cpu int) func() {
	runtime.LockOSThread()
	var all, one unix.CPUSet
	unix.SchedGetaffinity(0, &all)
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		b.Fatal(err)
	}
	return func() {
		unix.SchedSetaffinity(0, &all)
		runtime.UnlockOSThread()
	}
}

// BenchmarkTestpmdToPort measures frames/s from testpmd's txonly engine
// (64-byte UDP frames) through the port's Rx, on one core. An op is one
// Rx call.
func BenchmarkTestpmdToPort(b *testing.B) {
	r := newBenchRig(b)
	r.pmd.run("set fwd txonly")
	r.pmd.run("start")
	defer r.pmd.run("stop")
	defer pin(b, 1)()
	var got uint64
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		n, _ := r.rx.Rx(r.ids)
		r.pool.FreeN(r.ids[:n])
		got += uint64(n)
	}
	b.ReportMetric(float64(got)/time.Since(start).Seconds(), "pkts/s")
	if s := r.p.Stats(); s.RxBadDesc+s.RxBadAddr != 0 {
		b.Fatalf("bad descriptors: %+v", s)
	}
}

// BenchmarkPortToTestpmd measures frames/s from the port's Tx (batches of
// 32 64-byte frames) into testpmd's rxonly engine, on one core: only
// frames delivered into testpmd's receive ring count. An op is one Tx
// call.
func BenchmarkPortToTestpmd(b *testing.B) {
	r := newBenchRig(b)
	r.pmd.run("set fwd rxonly")
	r.pmd.run("start")
	defer r.pmd.run("stop")
	defer pin(b, 1)()
	fr := make([]byte, 60)
	copy(fr, []byte{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00})
	var sent uint64
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		n := r.pool.AllocN(r.ids[:32])
		for _, id := range r.ids[:n] {
			r.pool.SetPacket(id, fr)
		}
		k, _ := r.tx.Tx(r.ids[:n])
		sent += uint64(k)
	}
	el := time.Since(start)
	b.ReportMetric(float64(sent)/el.Seconds(), "pkts/s")
	s := r.p.Stats()
	b.ReportMetric(float64(s.TxFull)/el.Seconds(), "full/s")
	if s.TxBadDesc+s.TxBadAddr != 0 {
		b.Fatalf("bad descriptors: %+v", s)
	}
}
