package pipeline

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// chainOf builds a chain of len(pieces) buffers holding pieces.
func chainOf(t *testing.T, p *Pool, pieces ...[]byte) BufID {
	t.Helper()
	var head, prev BufID
	for i, b := range pieces {
		id, ok := p.Alloc()
		require.True(t, ok)
		require.True(t, p.SetPacket(id, b))
		if i == 0 {
			head = id
		} else {
			p.Link(prev, id)
		}
		prev = id
	}
	return head
}

func TestChainLenFragsFree(t *testing.T) {
	p, err := NewPool(PoolConfig{Frames: VectorSize})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	full := p.Available()
	a, b, c := bytes.Repeat([]byte{1}, 2000), bytes.Repeat([]byte{2}, 1500), []byte{3, 3, 3}
	h := chainOf(t, p, a, b, c)
	require.Equal(t, 3503, p.ChainLen(h))
	frags := p.Frags(h, nil)
	require.Equal(t, [][]byte{a, b, c}, frags)
	require.Equal(t, full-3, p.Available())
	p.Free(h)
	require.Equal(t, full, p.Available(), "Free returns the whole chain")

	// FreeN: plain buffers around chains.
	x, _ := p.Alloc()
	h1 := chainOf(t, p, a, b)
	y, _ := p.Alloc()
	h2 := chainOf(t, p, c, c, c)
	p.FreeN([]BufID{x, h1, y, h2})
	require.Equal(t, full, p.Available(), "FreeN returns every chain")

	// Every link was cleared: fresh buffers are single.
	ids := make([]BufID, full)
	require.Equal(t, full, p.AllocN(ids))
	for _, id := range ids {
		_, more := p.NextBuf(id)
		require.False(t, more)
	}
	p.FreeN(ids)
}

func TestChainClone(t *testing.T) {
	p, err := NewPool(PoolConfig{Frames: VectorSize})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	full := p.Available()
	a, b := bytes.Repeat([]byte{7}, 2048), bytes.Repeat([]byte{8}, 100)
	h := chainOf(t, p, a, b)
	p.Meta(h).GSOSize = 1448
	c, ok := p.Clone(h)
	require.True(t, ok)
	require.NotEqual(t, h, c)
	require.Equal(t, [][]byte{a, b}, p.Frags(c, nil))
	require.Equal(t, uint16(1448), p.Meta(c).GSOSize)
	// The copy shares no buffer with the original.
	p.Packet(h)[0] = 9
	next, _ := p.NextBuf(h)
	p.Packet(next)[0] = 9
	require.Equal(t, [][]byte{a, b}, p.Frags(c, nil))
	p.Free(h)
	p.Free(c)
	require.Equal(t, full, p.Available())

	// A clone that runs out of buffers gives back what it took.
	h = chainOf(t, p, a, b, a)
	rest := make([]BufID, p.Available()-1)
	p.AllocN(rest)
	_, ok = p.Clone(h)
	require.False(t, ok)
	require.Equal(t, 1, p.Available(), "the partial copy was freed")
	p.FreeN(rest)
	p.Free(h)
	require.Equal(t, full, p.Available())
}

// A corrupt, cyclic chain does not hang the worker.
func TestChainCycleBounded(t *testing.T) {
	p, err := NewPool(PoolConfig{Frames: VectorSize})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	h := chainOf(t, p, []byte{1}, []byte{2})
	next, _ := p.NextBuf(h)
	p.Link(next, h)
	require.LessOrEqual(t, p.ChainLen(h), 2*(p.Size()+1))
	require.LessOrEqual(t, len(p.Frags(h, nil)), p.Size()+1)
}

func TestChainAllocs(t *testing.T) {
	p, err := NewPool(PoolConfig{Frames: VectorSize})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	big := make([]byte, 2000)
	frags := make([][]byte, 0, 8)
	ids := make([]BufID, 3)
	allocs := testing.AllocsPerRun(1000, func() {
		p.AllocN(ids)
		for _, id := range ids {
			p.SetPacket(id, big)
		}
		p.Link(ids[0], ids[1])
		p.Link(ids[1], ids[2])
		_ = p.ChainLen(ids[0])
		frags = p.Frags(ids[0], frags[:0])
		c, _ := p.Clone(ids[0])
		p.FreeN([]BufID{ids[0], c})
	})
	require.Zero(t, allocs)
}

// dropTx sends nothing (a full ring): it frees what it is given.
type dropTx struct{ pool *Pool }

func (q dropTx) Tx(b []BufID) (int, error) { q.pool.FreeN(b); return 0, nil }
func (q dropTx) Close() error              { return nil }

// A port's byte counters count every piece of a large frame, on rx and on
// tx, and only the frames the tx queue took (they counted only the first
// piece: 2000 bytes of 5000).
func TestPortBytesCountChains(t *testing.T) {
	_, pieces := chainPieces()
	w, pool, rx, _ := newObserveRig(t, pieces...)
	w.SetObserver(nil)
	for range 3 {
		rx.armed = true
		w.Poll()
	}
	w.PublishStats()
	require.Equal(t, uint64(3*5000), w.PortCounters(7).RxBytes)
	require.Equal(t, uint64(3), w.PortCounters(7).TxPackets)
	require.Equal(t, uint64(3*5000), w.PortCounters(7).TxBytes)
	require.Equal(t, pool.Size(), pool.Available())

	tx := make([]TxQueue, 8)
	tx[7] = dropTx{pool}
	w.SetPollList(&PollList{Rx: []RxEntry{{Queue: rx, Port: 7, Entry: 0}}, Tx: tx})
	rx.armed = true
	w.Poll()
	w.PublishStats()
	require.Equal(t, uint64(4*5000), w.PortCounters(7).RxBytes)
	require.Equal(t, uint64(3*5000), w.PortCounters(7).TxBytes, "bytes of a frame not sent")
	require.Equal(t, uint64(1), w.PortCounters(7).TxDrops)
	require.Equal(t, pool.Size(), pool.Available())
}
