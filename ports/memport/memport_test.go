package memport_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

func setup(t *testing.T, cfg memport.Config) (*memport.Port, *pipeline.Pool, pipeline.RxQueue, pipeline.TxQueue) {
	t.Helper()
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 1024})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	p, err := memport.New(cfg)
	require.NoError(t, err)
	rx, err := p.OpenRx(0, pool)
	require.NoError(t, err)
	tx, err := p.OpenTx(0, pool)
	require.NoError(t, err)
	return p, pool, rx, tx
}

func frames(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Repeat([]byte{byte(i)}, size)
	}
	return out
}

func TestRxTxRoundTrip(t *testing.T) {
	p, pool, rx, tx := setup(t, memport.Config{Name: "m0", RingSize: 64, BatchSize: 16})
	in := frames(40, 60)
	require.Equal(t, 40, p.Inject(0, in...))
	require.Equal(t, 40, p.Pending())
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	var got []pipeline.BufID
	for {
		n, err := rx.Rx(ids)
		require.NoError(t, err)
		require.LessOrEqual(t, n, 16, "batch size is a hard limit")
		if n == 0 {
			break
		}
		got = append(got, ids[:n]...)
	}
	require.Len(t, got, 40)
	for i, id := range got {
		require.Equal(t, in[i], pool.Packet(id))
		require.Equal(t, uint16(pipeline.Headroom), pool.Meta(id).Off)
	}
	sent, err := tx.Tx(got)
	require.NoError(t, err)
	require.Equal(t, 40, sent)
	require.Equal(t, 1024, pool.Available(), "tx owns and frees every buffer")
	require.Equal(t, in, p.Collect(0, 0))
}

func TestTxRingFullDropsAndFrees(t *testing.T) {
	p, pool, _, tx := setup(t, memport.Config{Name: "m0", RingSize: 8})
	ids := make([]pipeline.BufID, 20)
	require.Equal(t, 20, pool.AllocN(ids))
	sent, err := tx.Tx(ids)
	require.NoError(t, err)
	require.Equal(t, 8, sent)
	require.Equal(t, uint64(12), p.Dropped())
	require.Equal(t, 1024, pool.Available())
	require.Len(t, p.CollectAll(), 8)
}

func TestInjectLimits(t *testing.T) {
	p, _, _, _ := setup(t, memport.Config{Name: "m0", RingSize: 4})
	require.Equal(t, 4, p.Inject(0, frames(6, 60)...))
	p2, _, _, _ := setup(t, memport.Config{Name: "m1"})
	require.Equal(t, 0, p2.Inject(0, make([]byte, pipeline.MaxPacket+1)), "oversized frame refused")
}

func TestConfigAndQueueErrors(t *testing.T) {
	_, err := memport.New(memport.Config{})
	require.Error(t, err)
	_, err = memport.New(memport.Config{Name: "x", RingSize: 3})
	require.Error(t, err)
	_, err = memport.New(memport.Config{Name: "x", BatchSize: 1000})
	require.Error(t, err)

	p, pool, rx, tx := setup(t, memport.Config{Name: "m0", RxQueues: 2})
	_, err = p.OpenRx(0, pool)
	require.ErrorIs(t, err, ports.ErrQueueInUse)
	_, err = p.OpenRx(2, pool)
	require.ErrorIs(t, err, ports.ErrNoQueue)
	require.Error(t, p.Close(), "queues still open")
	require.NoError(t, rx.Close())
	require.NoError(t, tx.Close())
	require.NoError(t, p.Close())
	require.ErrorIs(t, p.Close(), ports.ErrClosed)
	_, err = p.OpenTx(0, pool)
	require.ErrorIs(t, err, ports.ErrClosed)
	require.Equal(t, ports.Info{RxQueues: 2, TxQueues: 1, BatchSize: pipeline.VectorSize, MaxFrame: pipeline.MaxPacket}, p.Info())
}

func TestSourceAndSink(t *testing.T) {
	p, pool, rx, tx := setup(t, memport.Config{Name: "m0"})
	require.NoError(t, p.SetSource(frames(3, 64)))
	p.SetSink(true)
	ids := make([]pipeline.BufID, 10)
	n, err := rx.Rx(ids)
	require.NoError(t, err)
	require.Equal(t, 10, n)
	for i, id := range ids {
		require.Equal(t, byte(i%3), pool.Packet(id)[0])
	}
	sent, err := tx.Tx(ids)
	require.NoError(t, err)
	require.Equal(t, 10, sent)
	require.Equal(t, uint64(10), p.Sunk())
	require.Equal(t, 1024, pool.Available())
	require.Error(t, p.SetSource([][]byte{}))
	require.NoError(t, p.SetSource(nil))
}

func TestRxTxAllocations(t *testing.T) {
	p, pool, rx, tx := setup(t, memport.Config{Name: "m0", RingSize: 512})
	in := frames(256, 60)
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	moved := 0
	allocs := testing.AllocsPerRun(200, func() {
		p.Inject(0, in...) // the wire side, allocation-free too
		n, _ := rx.Rx(ids)
		sent, _ := tx.Tx(ids[:n])
		moved += sent
		p.Drain(0)
	})
	require.Zero(t, allocs)
	require.Equal(t, 201*256, moved, "every round moved a full batch")
	p.SetSink(true)
	require.NoError(t, p.SetSource(in))
	allocs = testing.AllocsPerRun(200, func() {
		n, _ := rx.Rx(ids)
		tx.Tx(ids[:n])
	})
	require.Zero(t, allocs)
	require.Equal(t, 1024, pool.Available())
}

func TestConcurrentInjectAndRx(t *testing.T) {
	p, pool, rx, tx := setup(t, memport.Config{Name: "m0", RingSize: 128})
	const total = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the wire side, on another goroutine
		defer wg.Done()
		f := frames(1, 60)
		for sent := 0; sent < total; {
			sent += p.Inject(0, f...)
		}
	}()
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	got := 0
	for got < total {
		n, err := rx.Rx(ids)
		require.NoError(t, err)
		got += n
		p.SetSink(true)
		_, _ = tx.Tx(ids[:n])
	}
	wg.Wait()
	require.Equal(t, total, got)
	require.Equal(t, 1024, pool.Available())
}

func TestTxDropsOversizeFrames(t *testing.T) {
	p, pool, _, tx := setup(t, memport.Config{Name: "m0"})
	ids := make([]pipeline.BufID, 3)
	require.Equal(t, 3, pool.AllocN(ids))
	pool.SetPacket(ids[0], make([]byte, 60))
	pool.SetPacket(ids[1], make([]byte, pipeline.MaxPacket))
	_, ok := pool.Prepend(ids[1], 4) // grown past what a slot holds
	require.True(t, ok)
	pool.SetPacket(ids[2], make([]byte, 61))
	sent, err := tx.Tx(ids)
	require.NoError(t, err)
	require.Equal(t, 2, sent)
	require.Equal(t, uint64(1), p.Dropped())
	got := p.Collect(0, 0)
	require.Len(t, got, 2)
	require.Len(t, got[1], 61)
	require.Equal(t, 1024, pool.Available())
}
