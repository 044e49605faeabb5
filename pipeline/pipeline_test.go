package pipeline_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
)

func newPool(t testing.TB, n int) *pipeline.Pool {
	t.Helper()
	p, err := pipeline.NewPool(pipeline.PoolConfig{Frames: n})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestGraphValidation(t *testing.T) {
	mk := func(pipeline.NodeContext) pipeline.Node { return nil }
	cases := map[string][]pipeline.NodeSpec{
		"no name":        {{New: mk}},
		"duplicate":      {{Name: "a", New: mk}, {Name: "a", New: mk}},
		"unknown next":   {{Name: "a", Next: []string{"b"}, New: mk}},
		"no constructor": {{Name: "a"}},
	}
	for name, specs := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := pipeline.NewGraph(specs...)
			require.ErrorIs(t, err, pipeline.ErrGraph)
		})
	}
	g, err := pipeline.NewGraph(pipeline.NodeSpec{Name: "a", Next: []string{"b"}, New: mk}, pipeline.NodeSpec{Name: "b", New: mk})
	require.NoError(t, err)
	i, ok := g.NextIndex("a", "b")
	require.True(t, ok)
	require.Equal(t, uint16(0), i)
	_, err = g.NewWorker(pipeline.WorkerConfig{Pool: newPool(t, 256)})
	require.Error(t, err, "nil node instance must be refused")
}

func TestPoolBasics(t *testing.T) {
	p := newPool(t, 256)
	require.Equal(t, 256, p.Size())
	id, ok := p.Alloc()
	require.True(t, ok)
	require.True(t, p.SetPacket(id, []byte{1, 2, 3, 4}))
	require.Equal(t, []byte{1, 2, 3, 4}, p.Packet(id))
	require.Equal(t, uint16(pipeline.Headroom), p.Meta(id).Off)

	pkt, ok := p.Prepend(id, 2)
	require.True(t, ok)
	require.Len(t, pkt, 6)
	_, ok = p.Prepend(id, pipeline.Headroom) // only Headroom-2 left
	require.False(t, ok)
	require.True(t, p.Advance(id, 2))
	require.Equal(t, []byte{1, 2, 3, 4}, p.Packet(id))
	require.False(t, p.Advance(id, 5))

	c, ok := p.Clone(id)
	require.True(t, ok)
	require.Equal(t, p.Packet(id), p.Packet(c))
	p.Packet(c)[0] = 9
	require.Equal(t, byte(1), p.Packet(id)[0], "clone shares no bytes")

	require.False(t, p.SetPacket(id, make([]byte, pipeline.MaxPacket+1)))
	p.Free(id)
	p.Free(c)
	require.Equal(t, 256, p.Available())

	ids := make([]pipeline.BufID, 300)
	require.Equal(t, 256, p.AllocN(ids))
	_, ok = p.Alloc()
	require.False(t, ok)
	p.FreeN(ids[:256])
	require.Equal(t, 256, p.Available())
}

// Test nodes: "split" sends packets by the first byte (0 -> even, 1 -> odd,
// 2 -> drop reason "bad", 3 -> replicated 3 times to "even" via Emit);
// "even" and "odd" record what they see and hand packets to tx port 1 or 2.
type splitNode struct{}

func (splitNode) Process(f *pipeline.Frame) {
	for i, id := range f.IDs {
		switch f.Pool.Packet(id)[0] {
		case 0:
			f.Next[i] = 0
		case 1:
			f.Next[i] = 1
		case 2:
			f.Drop(i, 0)
		default:
			for range 2 {
				c, ok := f.Pool.Clone(id)
				if !ok {
					f.CountDrop(0, 1)
					continue
				}
				f.Emit(0, c)
			}
			f.Next[i] = 0
		}
	}
}

type sinkNode struct {
	port    uint16
	mu      *sync.Mutex
	vectors *[]int
}

func (n sinkNode) Process(f *pipeline.Frame) {
	if n.vectors != nil {
		n.mu.Lock()
		*n.vectors = append(*n.vectors, len(f.IDs))
		n.mu.Unlock()
	}
	for i, id := range f.IDs {
		f.Tx(n.port, id)
		f.Next[i] = pipeline.NextTaken
	}
}

// txRecorder is a TxQueue that counts and frees what it is given.
type txRecorder struct {
	pool  *pipeline.Pool
	sent  int
	limit int // accept at most this many per call (0: all)
}

func (q *txRecorder) Tx(b []pipeline.BufID) (int, error) {
	n := len(b)
	if q.limit > 0 {
		n = min(n, q.limit)
	}
	q.sent += n
	q.pool.FreeN(b)
	return n, nil
}
func (q *txRecorder) Close() error { return nil }

type testGraph struct {
	w         *pipeline.Worker
	pool      *pipeline.Pool
	even, odd *txRecorder
	split     int
	evenSizes []int
	mu        sync.Mutex
}

func newTestGraph(t testing.TB, frames int) *testGraph {
	tg := &testGraph{pool: newPool(t, frames)}
	g, err := pipeline.NewGraph(
		pipeline.NodeSpec{Name: "split", Next: []string{"even", "odd"}, Drops: []string{"bad"},
			New: func(pipeline.NodeContext) pipeline.Node { return splitNode{} }},
		pipeline.NodeSpec{Name: "even", New: func(pipeline.NodeContext) pipeline.Node {
			return sinkNode{port: 1, mu: &tg.mu, vectors: &tg.evenSizes}
		}},
		pipeline.NodeSpec{Name: "odd", New: func(pipeline.NodeContext) pipeline.Node { return sinkNode{port: 2} }},
	)
	require.NoError(t, err)
	tg.w, err = g.NewWorker(pipeline.WorkerConfig{Pool: tg.pool, CPU: -1})
	require.NoError(t, err)
	tg.even, tg.odd = &txRecorder{pool: tg.pool}, &txRecorder{pool: tg.pool}
	tg.w.SetPollList(&pipeline.PollList{Tx: []pipeline.TxQueue{nil, tg.even, tg.odd}})
	tg.split, _ = g.Index("split")
	return tg
}

func (tg *testGraph) alloc(t testing.TB, kinds ...byte) []pipeline.BufID {
	ids := make([]pipeline.BufID, len(kinds))
	require.Equal(t, len(kinds), tg.pool.AllocN(ids))
	for i, k := range kinds {
		tg.pool.SetPacket(ids[i], []byte{k, 0, 0, 0})
	}
	return ids
}

func counters(w *pipeline.Worker, node string) pipeline.NodeCounters {
	for _, c := range w.Runtime() {
		if c.Name == node {
			return c
		}
	}
	return pipeline.NodeCounters{}
}

func TestEnqueueToNext(t *testing.T) {
	tg := newTestGraph(t, 4096)
	kinds := make([]byte, 0, 1000)
	for i := range 1000 {
		kinds = append(kinds, byte(i%3)) // even, odd, drop in turn
	}
	tg.w.Inject(tg.split, tg.alloc(t, kinds...))
	require.Equal(t, 334, tg.even.sent)
	require.Equal(t, 333, tg.odd.sent)
	split := counters(tg.w, "split")
	require.Equal(t, uint64(1000), split.Packets)
	require.Equal(t, uint64(4), split.Vectors, "1000 packets make 4 vectors of at most 256")
	require.Equal(t, []pipeline.DropCount{{Reason: "bad", Packets: 333}}, split.Drops)
	require.Equal(t, 4096, tg.pool.Available(), "every buffer is back in the pool")
	for _, n := range tg.evenSizes {
		require.LessOrEqual(t, n, pipeline.VectorSize)
	}
	tx := counters(tg.w, pipeline.TxNodeName)
	require.Equal(t, uint64(667), tx.Packets)
}

func TestReplicationOverflowsIntoNextFrame(t *testing.T) {
	tg := newTestGraph(t, 4096)
	kinds := make([]byte, 256)
	for i := range kinds {
		kinds[i] = 3 // each becomes 3 packets for "even"
	}
	tg.w.Inject(tg.split, tg.alloc(t, kinds...))
	require.Equal(t, 768, tg.even.sent)
	require.Equal(t, 4096, tg.pool.Available())
	for _, n := range tg.evenSizes {
		require.LessOrEqual(t, n, pipeline.VectorSize)
	}
}

func TestTxOwnershipAndDropCounters(t *testing.T) {
	tg := newTestGraph(t, 1024)
	tg.even.limit = 10
	tg.w.Inject(tg.split, tg.alloc(t, make([]byte, 100)...))
	require.Equal(t, 10, tg.even.sent)
	pc := tg.w.PortCounters(1)
	require.Equal(t, uint64(10), pc.TxPackets)
	require.Equal(t, uint64(40), pc.TxBytes)
	require.Equal(t, uint64(90), pc.TxDrops)
	require.Equal(t, 1024, tg.pool.Available())

	// A port without a tx queue: staged packets are dropped and counted.
	tg.w.SetPollList(&pipeline.PollList{Tx: []pipeline.TxQueue{nil, tg.even}})
	tg.w.Inject(tg.split, tg.alloc(t, 1, 1, 1))
	tx := counters(tg.w, pipeline.TxNodeName)
	require.Contains(t, tx.Drops, pipeline.DropCount{Reason: pipeline.DropTxNoQueue, Packets: 3})
	require.Equal(t, 1024, tg.pool.Available())
}

func TestEnqueueAllocations(t *testing.T) {
	tg := newTestGraph(t, 4096)
	kinds := make([]byte, 512)
	for i := range kinds {
		kinds[i] = byte(i % 4)
	}
	ids := make([]pipeline.BufID, len(kinds))
	allocs := testing.AllocsPerRun(100, func() {
		n := tg.pool.AllocN(ids)
		for i, id := range ids[:n] {
			tg.pool.Packet(id) // reset below
			tg.pool.Meta(id).Len = 4
			tg.pool.Frame(id)[pipeline.Headroom] = kinds[i]
		}
		tg.w.Inject(tg.split, ids[:n])
	})
	require.Zero(t, allocs)
	require.Equal(t, 4096, tg.pool.Available())
}

// sliceRx is an RxQueue that hands out one batch of prepared packets per
// call until it runs dry.
type sliceRx struct {
	pool  *pipeline.Pool
	left  int
	batch int
	kind  byte
}

func (q *sliceRx) Rx(b []pipeline.BufID) (int, error) {
	n := q.pool.AllocN(b[:min(len(b), q.batch, q.left)])
	for _, id := range b[:n] {
		q.pool.SetPacket(id, []byte{q.kind, 1, 2, 3})
	}
	q.left -= n
	return n, nil
}
func (q *sliceRx) Close() error { return nil }

func TestWorkerLoopStartStopAndCounters(t *testing.T) {
	tg := newTestGraph(t, 2048)
	rx := &sliceRx{pool: tg.pool, left: 10000, batch: 32}
	tg.w.SetPollList(&pipeline.PollList{
		Rx: []pipeline.RxEntry{{Queue: rx, Port: 7, Entry: tg.split}},
		Tx: []pipeline.TxQueue{nil, tg.even, tg.odd},
	})
	w2 := newTestGraph(t, 256).w // a worker that never runs: Quiesce returns at once
	w2.Quiesce()

	require.NoError(t, tg.w.Start())
	require.Error(t, tg.w.Start(), "second start is refused")
	// Read counters concurrently with the running worker (race detector).
	deadline := time.Now().Add(10 * time.Second)
	for tg.w.PortCounters(7).RxPackets < 10000 {
		_ = tg.w.Runtime()
		require.True(t, time.Now().Before(deadline), "worker did not receive everything")
		time.Sleep(time.Millisecond)
	}
	tg.w.Quiesce()
	tg.w.Stop()
	require.False(t, tg.w.Running())
	tg.w.Stop() // idempotent
	require.Equal(t, 10000, tg.even.sent)
	rxc := counters(tg.w, pipeline.RxNodeName)
	require.Equal(t, uint64(10000), rxc.Packets)
	require.InDelta(t, 10000.0/313, rxc.PacketsPerVector(), 0.001) // 312 full batches of 32 and one of 16
	require.Equal(t, uint64(40000), tg.w.PortCounters(7).RxBytes)
	require.Equal(t, 2048, tg.pool.Available())
	require.Greater(t, tg.w.Iterations(), uint64(0))
}

func TestSumCounters(t *testing.T) {
	a := []pipeline.NodeCounters{{Name: "x", Calls: 1, Packets: 10, MaxNanos: 5, Drops: []pipeline.DropCount{{"r", 1}}}}
	b := []pipeline.NodeCounters{{Name: "x", Calls: 2, Packets: 20, MaxNanos: 9, Drops: []pipeline.DropCount{{"r", 2}, {"s", 3}}}}
	s := pipeline.SumCounters(a, b)
	require.Equal(t, uint64(3), s[0].Calls)
	require.Equal(t, uint64(30), s[0].Packets)
	require.Equal(t, uint64(9), s[0].MaxNanos)
	require.Equal(t, uint64(6), s[0].Dropped())
}

func TestGiveBackAndDriverState(t *testing.T) {
	p := newPool(t, 256)
	ids := make([]pipeline.BufID, 10)
	require.Equal(t, 10, p.AllocN(ids))
	done := make(chan struct{})
	go func() { p.GiveBack(ids); close(done) }() // from another goroutine
	<-done
	require.Equal(t, 246, p.Available(), "given-back buffers wait for Reclaim")
	p.Reclaim()
	require.Equal(t, 256, p.Available())
	require.Zero(t, testing.AllocsPerRun(100, p.Reclaim))

	n := 0
	mk := func() any { n++; return &n }
	a := p.DriverState("k", mk)
	b := p.DriverState("k", mk)
	require.Same(t, a, b)
	require.Equal(t, 1, n)
	require.Equal(t, pipeline.BufID(3), pipeline.IDAt(pipeline.Offset(3)+300))
}
