package afxdp

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
)

// Fill budget constants (see "Sharing the pool" in the package doc).
const (
	// FillFloor is how many frames every socket's fill ring is kept at
	// whatever the load: admission reserves them for each socket.
	FillFloor = 64
	// refillMin is the fewest buffers worth a fill-ring top-up above the
	// floor (below it, any).
	refillMin = 32
	// stallCover is how long a socket's fill ring must last at the
	// socket's recent receive rate with nobody refilling it: a worker
	// descheduled by the host (this project's VMs lose up to ~15 ms to
	// steal) or slowed by a burst elsewhere must not make the kernel drop
	// frames at a port that receives only a few thousand a second. 50 ms
	// was not enough: with the VM loaded by a parallel test run, a UDP
	// stream of 5,000 frames/s lost 8.6 % through a veth port.
	stallCover = 200 * time.Millisecond
	// rateWindow is how long the receive rate is measured over, and
	// rateEvery how many rx calls go between two clock reads (a clock
	// read per call would cost more than the refill).
	rateWindow = 10 * time.Millisecond
	rateEvery  = 64
)

// ErrPoolFull is wrapped by the error that refuses a socket its worker's
// pool cannot serve.
var ErrPoolFull = errors.New("the worker's buffer pool cannot serve another AF_XDP socket")

// budget divides one worker pool between the AF_XDP sockets that share it
// as their UMEM. The sizes are fixed when the pool is first used; sockets,
// elasticUsed and txUsed change as sockets come and go and traffic flows.
type budget struct {
	frames  int // the pool's size
	elastic int // frames above the floors that all fill rings may hold together
	tx      int // frames all tx rings may hold in flight together
	txSock  int // frames one tx ring may hold in flight
	reserve int // frames left to the pipeline: a vector in flight, flood copies

	mu      sync.Mutex // serializes admission
	sockets atomic.Int32
	// elasticUsed is the sum over sockets of max(0, inFill-FillFloor);
	// txUsed the frames on tx rings not yet completed. The worker adds and
	// subtracts as it posts and reaps; a closing socket subtracts what it
	// still held.
	elasticUsed, txUsed atomic.Int64
}

// newBudget plans a pool of frames: half of it may sit above the floors in
// fill rings (so a busy socket's ring runs as deep as its ring size), an
// eighth in flight on tx rings, up to two vectors stay for the pipeline,
// and the rest is FillFloor frames for each socket.
func newBudget(frames int) *budget {
	b := &budget{frames: frames, elastic: frames / 2, tx: frames / 8, reserve: min(2*pipeline.VectorSize, frames/8)}
	b.txSock = max(2*pipeline.VectorSize, b.tx/4)
	return b
}

// capacity is how many sockets the pool can serve.
func (b *budget) capacity() int {
	return max(0, (b.frames-b.elastic-b.tx-b.reserve)/FillFloor)
}

// FramesFor is the smallest pool (a multiple of pipeline.VectorSize) whose
// budget serves n AF_XDP sockets.
func FramesFor(n int) int {
	f := pipeline.VectorSize
	for newBudget(f).capacity() < n {
		f += pipeline.VectorSize
	}
	return f
}

// PoolCapacity is how many AF_XDP sockets (one per port queue) a worker
// pool of frames can serve.
func PoolCapacity(frames int) int { return newBudget(frames).capacity() }

// admit counts one more socket, or refuses it with the numbers.
func (b *budget) admit(port string, q int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := int(b.sockets.Load())
	if c := b.capacity(); n >= c {
		return fmt.Errorf("afxdp %s: queue %d: %w: a pool of %d frames serves %d sockets (%d fill frames each, besides %d shared by busy sockets, %d for tx in flight and %d for vectors) and all %d are open; %d sockets need %d frames: raise vswitchd --pool-frames",
			port, q, ErrPoolFull, b.frames, c, FillFloor, b.elastic, b.tx, b.reserve, n, n+1, FramesFor(n+1))
	}
	b.sockets.Store(int32(n + 1))
	return nil
}

// leave forgets a closed socket and what it still held.
func (b *budget) leave(a *fillAcct) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sockets.Add(-1)
	b.elasticUsed.Add(-int64(a.elastic))
	b.txUsed.Add(-int64(a.txIn))
	a.elastic, a.txIn = 0, 0
}

// maxTarget is the deepest a socket's fill ring may go now: its ring
// size, or the floor plus its fair share of the elastic frames.
func (b *budget) maxTarget(ring int) int {
	n := max(int(b.sockets.Load()), 1)
	return min(ring, FillFloor+b.elastic/n)
}

// fillAcct is one socket's part of the budget. Only the worker that polls
// the socket changes it (and leave, once the worker has let go of it).
type fillAcct struct {
	b       *budget
	ring    int // ring size
	target  int // current fill target, FillFloor to maxTarget
	inFill  int // frames posted to the fill ring and not yet read from rx
	level   int // frames in the fill ring just after the last refill
	elastic int // max(0, inFill-FillFloor), as counted in b.elasticUsed
	txIn    int // frames on the tx ring not yet completed
	// The receive rate: frames got since the window began at since (ns),
	// and rx calls since the clock was last read.
	got   int
	since int64
	calls int
	now   func() int64 // the clock (tests replace it)
}

func newFillAcct(b *budget, ring int) fillAcct {
	return fillAcct{b: b, ring: ring, target: min(FillFloor, ring), now: monotonic}
}

// epoch makes monotonic's readings small and monotonic.
var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// want is how many frames to post to the fill ring now, with avail frames
// free in the pool and left frames still in the fill ring (not yet taken
// by the kernel). starved reports that the ring is below its floor and the
// pool cannot bring it there. It adapts the target first (adapt).
func (a *fillAcct) want(avail, left int) (n int, starved bool) {
	a.adapt(a.level - left)
	if a.calls++; a.calls >= rateEvery {
		a.calls = 0
		a.measure()
	}
	a.level = left
	short := a.target - a.inFill
	floor := max(0, min(FillFloor, a.target)-a.inFill)
	if short < refillMin && floor == 0 {
		return 0, false
	}
	b := a.b
	extra := min(short-floor, b.elastic-int(b.elasticUsed.Load()), avail-floor-b.reserve)
	n = min(floor+max(extra, 0), pipeline.VectorSize, avail)
	return n, n < min(floor, pipeline.VectorSize)
}

// adapt grows the fill target by how many frames the kernel took from the
// fill ring since the last refill: half of what the ring held (and at
// least refillMin) doubles it, up to maxTarget. (What the ring held, not
// the target: one refill posts at most a vector, so a ring that the
// kernel empties between two polls may never reach a large target.) A
// ring drained like that means the worker polls too seldom for the rate.
func (a *fillAcct) adapt(used int) {
	if used >= refillMin && used >= min(a.level, a.target)/2 {
		if m := a.b.maxTarget(a.ring); a.target < m {
			a.target = min(2*a.target, m)
		}
	}
}

// measure sizes the fill target from the receive rate once a window has
// passed: deep enough to cover stallCover at that rate, within the floor
// and maxTarget. It grows at once and shrinks by at most half a window,
// so a socket whose traffic pauses keeps some depth for a while. A busy
// poller that never sees its ring drained (adapt) still gets the depth a
// stall needs; an idle socket falls back to the floor.
func (a *fillAcct) measure() {
	now := a.now()
	el := now - a.since
	if a.since == 0 || el < int64(rateWindow) {
		if a.since == 0 {
			a.since, a.got = now, 0
		}
		return
	}
	need := int(int64(a.got) * int64(stallCover) / el)
	a.since, a.got = now, 0
	want := min(max(need, min(FillFloor, a.ring)), a.b.maxTarget(a.ring))
	switch {
	case want > a.target:
		a.target = want
	case want < a.target:
		a.target = max(a.target/2, want)
	}
}

// setFill records the fill ring's new count and moves the socket's
// elastic frames in the budget.
func (a *fillAcct) setFill(inFill int) {
	a.inFill = inFill
	if e := max(0, inFill-FillFloor); e != a.elastic {
		a.b.elasticUsed.Add(int64(e - a.elastic))
		a.elastic = e
	}
}

// posted counts frames put on the fill ring.
func (a *fillAcct) posted(n int) {
	a.level += n
	a.setFill(a.inFill + n)
}

// received counts frames read from the rx ring.
func (a *fillAcct) received(n int) {
	a.got += n
	a.setFill(a.inFill - n)
}

// txRoom is how many more frames the tx ring may take in flight.
func (a *fillAcct) txRoom() int {
	b := a.b
	return max(0, min(b.txSock-a.txIn, b.tx-int(b.txUsed.Load())))
}

// txMoved counts frames put on the tx ring (n > 0) or completed (n < 0).
func (a *fillAcct) txMoved(n int) {
	if n != 0 {
		a.txIn += n
		a.b.txUsed.Add(int64(n))
	}
}
