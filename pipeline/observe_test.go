package pipeline

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// hairpinNode sends every packet back out on the port it came in on,
// except those whose first byte is 0xdd, dropped as "bad".
type hairpinNode struct{}

func (hairpinNode) Process(f *Frame) {
	for i, id := range f.IDs {
		if f.Pool.Packet(id)[0] == 0xdd {
			f.Drop(i, 0)
			continue
		}
		f.Tx(f.Pool.Meta(id).InPort, id)
		f.Next[i] = NextTaken
	}
}

// chainRx hands out, once per Arm, one frame built as a chain of pieces.
type chainRx struct {
	pool   *Pool
	pieces [][]byte
	armed  bool
}

func (q *chainRx) Rx(b []BufID) (int, error) {
	if !q.armed {
		return 0, nil
	}
	q.armed = false
	var head, prev BufID
	for i, piece := range q.pieces {
		id, ok := q.pool.Alloc()
		if !ok {
			panic("pool empty")
		}
		q.pool.SetPacket(id, piece)
		if i == 0 {
			head = id
		} else {
			q.pool.Link(prev, id)
		}
		prev = id
	}
	b[0] = head
	return 1, nil
}
func (q *chainRx) Close() error { return nil }

// freeTx frees what it is given.
type freeTx struct{ pool *Pool }

func (q freeTx) Tx(b []BufID) (int, error) { q.pool.FreeN(b); return len(b), nil }
func (q freeTx) Close() error              { return nil }

// newObserveRig is one worker with a hairpin node, port 7 receiving from
// a chainRx and sending to a freeTx, and an observer.
func newObserveRig(t *testing.T, pieces ...[]byte) (*Worker, *Pool, *chainRx, *Observer) {
	t.Helper()
	pool, err := NewPool(PoolConfig{Frames: 1024})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	g, err := NewGraph(NodeSpec{Name: "hairpin", Drops: []string{"bad"}, New: func(NodeContext) Node { return hairpinNode{} }})
	require.NoError(t, err)
	w, err := g.NewWorker(WorkerConfig{Pool: pool, CPU: -1})
	require.NoError(t, err)
	rx := &chainRx{pool: pool, pieces: pieces}
	tx := make([]TxQueue, 8)
	tx[7] = freeTx{pool}
	w.SetPollList(&PollList{Rx: []RxEntry{{Queue: rx, Port: 7, Entry: 0}}, Tx: tx})
	o := NewObserver(1, pool.Size())
	w.SetObserver(o)
	return w, pool, rx, o
}

// chainPieces is a 5000-byte frame in three buffers, each byte its offset
// mod 251 (the first byte is 0, so hairpinNode sends it back).
func chainPieces() (whole []byte, pieces [][]byte) {
	whole = make([]byte, 5000)
	for i := range whole {
		whole[i] = byte(i % 251)
	}
	return whole, [][]byte{whole[:2000], whole[2000:4000], whole[4000:]}
}

// TestCaptureChain: a frame larger than one buffer is captured with its
// whole length as OrigLen and its bytes gathered across the chain, up to
// the snap length (it was cut to its first buffer, OrigLen included), on
// rx, tx and drop alike.
func TestCaptureChain(t *testing.T) {
	whole, pieces := chainPieces()
	w, pool, rx, o := newObserveRig(t, pieces...)
	for _, snap := range []int{MaxSnaplen, 3000, 0} {
		o.SetCapture(&CaptureSpec{Port: 7, Rx: true, Tx: true, Drops: true, Snaplen: snap, Slots: 8})
		rx.armed = true
		w.Poll()
		want := whole
		if snap > 0 && snap < len(whole) {
			want = whole[:snap]
		}
		var dirs []int
		lost := o.Drain(func(p *CapturedPacket) {
			dirs = append(dirs, p.Dir)
			require.Equal(t, len(whole), p.OrigLen, "snaplen %d", snap)
			require.Equal(t, want, p.Data, "snaplen %d", snap)
		})
		require.Zero(t, lost)
		require.Equal(t, []int{CaptureRx, CaptureTx}, dirs, "snaplen %d", snap)
	}

	// A dropped chain.
	pieces[0][0] = 0xdd
	defer func() { pieces[0][0] = 0 }()
	rx.armed = true
	w.Poll()
	var got []CapturedPacket
	o.Drain(func(p *CapturedPacket) { got = append(got, *p) })
	require.Len(t, got, 2)
	require.Equal(t, CaptureDrop, got[1].Dir)
	require.Equal(t, "hairpin/bad", got[1].Reason)
	require.Equal(t, len(whole), got[1].OrigLen)
	require.Len(t, got[1].Data, len(whole))
	require.Equal(t, pool.Size(), pool.Available(), "every chain is back in the pool")
}

// TestCaptureByteBudget: the buffered bytes are bounded (Slots times one
// buffer's worth, at least one snap length): what does not fit is lost,
// and after a Drain the space is there again.
func TestCaptureByteBudget(t *testing.T) {
	_, pieces := chainPieces()
	w, _, rx, o := newObserveRig(t, pieces...)
	// 4 slots of snap length 6000: 4*2048 bytes, room for one 5000-byte
	// frame, not two.
	o.SetCapture(&CaptureSpec{Port: 7, Rx: true, Snaplen: 6000, Slots: 4})
	for range 3 {
		rx.armed = true
		w.Poll()
	}
	n := 0
	lost := o.Drain(func(*CapturedPacket) { n++ })
	require.Equal(t, 1, n)
	require.Equal(t, uint64(2), lost)
	rx.armed = true
	w.Poll()
	n = 0
	o.Drain(func(*CapturedPacket) { n++ })
	require.Equal(t, 1, n, "a drain frees the space")
}

// TestCaptureStopKeepsBuffered: SetCapture(nil) stops capturing but what
// was captured before is still drained (it was thrown away, so the last
// packets before capture/stop never reached the file).
func TestCaptureStopKeepsBuffered(t *testing.T) {
	_, pieces := chainPieces()
	w, _, rx, o := newObserveRig(t, pieces...)
	o.SetCapture(&CaptureSpec{Port: 7, Rx: true, Snaplen: 100, Slots: 8})
	rx.armed = true
	w.Poll()
	o.SetCapture(nil)
	rx.armed = true
	w.Poll() // not captured
	n := 0
	o.Drain(func(*CapturedPacket) { n++ })
	require.Equal(t, 1, n)
	n = 0
	o.Drain(func(*CapturedPacket) { n++ })
	require.Zero(t, n)
	require.Nil(t, o.ws[0].bytes, "the buffers are freed once drained")
}

// TestEndTraceKeepsRecords: EndTrace stops a trace taking packets and
// keeps what it recorded.
func TestEndTraceKeepsRecords(t *testing.T) {
	_, pieces := chainPieces()
	w, _, rx, o := newObserveRig(t, pieces...)
	o.SetTrace(&TraceSpec{Port: 7, Count: 10})
	rx.armed = true
	w.Poll()
	require.Len(t, o.Traces(), 1)
	o.EndTrace()
	require.False(t, o.Tracing())
	rx.armed = true
	w.Poll()
	require.Len(t, o.Traces(), 1, "an ended trace takes no packet")
}

// TestCaptureChainAllocations: capturing chained frames allocates nothing.
func TestCaptureChainAllocations(t *testing.T) {
	_, pieces := chainPieces()
	w, pool, rx, o := newObserveRig(t, pieces...)
	o.SetCapture(&CaptureSpec{Port: 7, Rx: true, Tx: true, Snaplen: MaxSnaplen, Slots: 64})
	n := 0
	count := func(*CapturedPacket) { n++ }
	allocs := testing.AllocsPerRun(100, func() {
		rx.armed = true
		w.Poll()
		o.Drain(count)
	})
	require.Zero(t, allocs)
	require.Equal(t, 202, n) // 101 runs (one warm-up), rx and tx each
	require.Equal(t, pool.Size(), pool.Available())
}

// rewriteDropNode rewrites a packet's InPort, as routing does (the router's
// port), then drops it.
type rewriteDropNode struct{}

func (rewriteDropNode) Process(f *Frame) {
	for i, id := range f.IDs {
		f.Pool.Meta(id).InPort = 99
		f.Drop(i, 0)
	}
}

// A capture of a port's drops keeps the frames that entered on it and
// were dropped after routing rewrote their InPort (a security group
// behind the router dropped them unseen).
func TestCaptureDropAfterInPortRewrite(t *testing.T) {
	pool, err := NewPool(PoolConfig{Frames: 256})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	g, err := NewGraph(NodeSpec{Name: "route", Drops: []string{"denied"}, New: func(NodeContext) Node { return rewriteDropNode{} }})
	require.NoError(t, err)
	w, err := g.NewWorker(WorkerConfig{Pool: pool, CPU: -1})
	require.NoError(t, err)
	rx := &chainRx{pool: pool, pieces: [][]byte{{1, 2, 3, 4}}}
	w.SetPollList(&PollList{Rx: []RxEntry{{Queue: rx, Port: 7, Entry: 0}}, Tx: make([]TxQueue, 8)})
	o := NewObserver(1, pool.Size())
	w.SetObserver(o)
	o.SetCapture(&CaptureSpec{Port: 7, Drops: true, Slots: 8})
	rx.armed = true
	w.Poll()
	var got []string
	o.Drain(func(p *CapturedPacket) { got = append(got, p.Reason) })
	require.Equal(t, []string{"route/denied"}, got)
	require.Equal(t, 256, pool.Available())
}
