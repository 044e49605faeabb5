package tap_test

import (
	"testing"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/ports/tap"
)

// BenchmarkTapTx measures frames/s from the port's Tx (batches of 32
// 64-byte frames) into the kernel through the tap, on one core, in a
// namespace of its own: the kernel takes each frame (one write per frame)
// and drops it as not for it. It stands beside the vhost-user port's
// BenchmarkPortToTestpmd.
func BenchmarkTapTx(b *testing.B) {
	netdevtest.EnterNetns(b, netdevtest.NewNetns(b))
	p, err := tap.New(tap.Config{Name: "bench", Ifname: netdevtest.Name("vstb")})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 512})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	q, err := p.OpenTx(0, pool)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	fr := make([]byte, 60)
	copy(fr, []byte{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00})
	ids := make([]pipeline.BufID, 32)
	var sent uint64
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		n := pool.AllocN(ids)
		for _, id := range ids[:n] {
			pool.SetPacket(id, fr)
		}
		k, _ := q.Tx(ids[:n])
		sent += uint64(k)
	}
	b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "pkts/s")
}
