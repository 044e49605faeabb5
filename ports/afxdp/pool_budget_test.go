package afxdp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
)

// TestPoolBudgetArithmetic checks the plan of the default pool and of a
// few others, and that FramesFor is the smallest pool that serves n.
func TestPoolBudgetArithmetic(t *testing.T) {
	b := newBudget(16384)
	require.Equal(t, 8192, b.elastic)
	require.Equal(t, 2048, b.tx)
	require.Equal(t, 512, b.txSock)
	require.Equal(t, 2*pipeline.VectorSize, b.reserve)
	require.Equal(t, 88, b.capacity(), "the default pool serves 88 sockets")
	require.Equal(t, 376, PoolCapacity(65536))
	require.Equal(t, 40, PoolCapacity(8192))
	require.Equal(t, 1, PoolCapacity(pipeline.VectorSize), "the smallest pool serves one socket")

	// Two sockets may each run a ring of 4096 frames, as before the budget.
	b.sockets.Store(2)
	require.Equal(t, 4096, b.maxTarget(4096))
	b.sockets.Store(64)
	require.Equal(t, FillFloor+8192/64, b.maxTarget(4096))

	for _, n := range []int{1, 4, 5, 16, 64, 88, 89, 500} {
		f := FramesFor(n)
		require.GreaterOrEqual(t, PoolCapacity(f), n, "FramesFor(%d) = %d", n, f)
		require.Less(t, PoolCapacity(f-pipeline.VectorSize), n, "FramesFor(%d) = %d is not the smallest", n, f)
		// The sum of the floors, the elastic and tx parts and the reserve
		// never exceeds the pool.
		b := newBudget(f)
		require.LessOrEqual(t, b.capacity()*FillFloor+b.elastic+b.tx+b.reserve, f)
	}
}

// TestPoolAdmitRefuses fills a small pool's budget: the socket past its
// capacity is refused with the numbers and the flag to raise, and a
// socket that leaves makes room again.
func TestPoolAdmitRefuses(t *testing.T) {
	b := newBudget(1024)
	c := b.capacity()
	require.Equal(t, 4, c)
	accts := make([]fillAcct, c)
	for i := range c {
		require.NoError(t, b.admit("p", i))
		accts[i] = newFillAcct(b, 4096)
	}
	err := b.admit("p5", 4)
	require.True(t, errors.Is(err, ErrPoolFull), "%v", err)
	for _, s := range []string{"p5", "queue 4", "pool of 1024 frames", "serves 4 sockets", "5 sockets need " + fmt.Sprint(FramesFor(5)) + " frames", "--pool-frames"} {
		require.Contains(t, err.Error(), s)
	}
	require.EqualValues(t, c, b.sockets.Load(), "a refused socket is not counted")
	b.leave(&accts[0])
	require.NoError(t, b.admit("p5", 4))
}

// TestPoolFillModel drives sockets' accounting against a model of the
// pool: random bursts, idle sockets that keep what they were given (their
// fill rings cannot be emptied), tx that is slow to complete, and sockets
// added up to the capacity while others are busy. Whatever happens, every
// socket's fill ring can be brought to its floor, the elastic and tx sums
// stay within their budgets, and the counters match the sockets.
func TestPoolFillModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			frames := []int{2048, 8192, 16384}[seed%3]
			b := newBudget(frames)
			avail := frames
			var socks []*fillAcct
			// The model's own clock, 100 µs a worker iteration: the
			// rate-based targets must not depend on how fast the
			// machine runs the test (a loaded CI VM left every socket at
			// its floor once).
			var clock int64
			now := func() int64 { return clock }
			deepest := 0
			refill := func(a *fillAcct) {
				n, starved := a.want(avail, fillLeft(a))
				if starved || n > avail {
					t.Fatalf("a socket starved: in fill %d, pool free %d, %d sockets, want %d", a.inFill, avail, len(socks), n)
				}
				avail -= n
				a.posted(n)
			}
			for step := range 10000 {
				clock += int64(100 * time.Microsecond)
				if len(socks) < b.capacity() && rng.IntN(100) == 0 {
					require.NoError(t, b.admit("m", len(socks)))
					a := newFillAcct(b, []int{512, 4096}[rng.IntN(2)])
					a.now = now
					socks = append(socks, &a)
				}
				if len(socks) == 0 {
					continue
				}
				// One worker iteration: each socket refills, then
				// perhaps receives a burst; what it received goes to a
				// random socket's tx ring (or is dropped).
				for _, a := range socks {
					refill(a)
					if a.inFill < min(FillFloor, a.target) {
						t.Fatalf("step %d: %d frames in fill after a refill, below the floor", step, a.inFill)
					}
					if rng.IntN(4) != 0 || step%2500 > 2000 { // idle spells
						a.received(0)
						continue
					}
					k := rng.IntN(a.inFill + 1)
					a.received(k)
					out := socks[rng.IntN(len(socks))]
					sent := min(k, out.txRoom())
					out.txMoved(sent)
					avail += k - sent
				}
				// Completions come back slowly.
				for _, a := range socks {
					if a.txIn > 0 && rng.IntN(3) == 0 {
						c := rng.IntN(a.txIn + 1)
						a.txMoved(-c)
						avail += c
					}
				}
				// Invariants.
				var inFill, elastic, tx int
				for _, a := range socks {
					deepest = max(deepest, a.target-FillFloor)
					inFill += a.inFill
					elastic += a.elastic
					tx += a.txIn
					if a.txIn > b.txSock {
						t.Fatalf("step %d: %d frames in flight on one tx ring, more than %d", step, a.txIn, b.txSock)
					}
				}
				if int64(elastic) != b.elasticUsed.Load() || int64(tx) != b.txUsed.Load() {
					t.Fatalf("step %d: counted elastic %d tx %d, the sockets hold %d and %d", step, b.elasticUsed.Load(), b.txUsed.Load(), elastic, tx)
				}
				if elastic > b.elastic || tx > b.tx || inFill > len(socks)*FillFloor+b.elastic {
					t.Fatalf("step %d: over budget: elastic %d of %d, tx %d of %d, in fill %d", step, elastic, b.elastic, tx, b.tx, inFill)
				}
				if avail+inFill+tx != frames {
					t.Fatalf("step %d: %d free + %d in fill + %d on tx != %d frames", step, avail, inFill, tx, frames)
				}
				// A socket that leaves gives back what it held.
				if rng.IntN(2000) == 0 {
					i := rng.IntN(len(socks))
					a := socks[i]
					avail += a.inFill + a.txIn
					b.leave(a)
					socks = append(socks[:i], socks[i+1:]...)
				}
			}
			// Busy sockets went deeper than the floor (idle spells bring
			// them back: the model ends in one).
			require.Positive(t, deepest, "no socket's target ever left the floor")
		})
	}
}

// fillLeft is what the kernel left in the model's fill ring: received
// frames are read at once, so whatever is posted and not read.
func fillLeft(a *fillAcct) int { return a.inFill }

// TestPoolFillTargetAdapts checks a socket drained at every poll doubles
// its target up to its fair share, and an idle one falls back to the
// floor once the rate is measured.
func TestPoolFillTargetAdapts(t *testing.T) {
	b := newBudget(16384)
	require.NoError(t, b.admit("a", 0))
	require.NoError(t, b.admit("b", 0))
	a := newFillAcct(b, 4096)
	clock := int64(1)
	a.now = func() int64 { return clock }
	avail := 16384
	for range 100 {
		n, _ := a.want(avail, fillLeft(&a))
		avail -= n
		a.posted(n)
		k := a.inFill // the kernel takes the whole ring between two polls
		a.received(k)
		avail += k
		clock += int64(50 * time.Microsecond)
	}
	require.Equal(t, 4096, a.target, "a socket drained every poll grows to its ring size")
	require.Equal(t, a.elastic, int(b.elasticUsed.Load()))
	for range 200 * rateEvery {
		n, _ := a.want(avail, fillLeft(&a))
		avail -= n
		a.posted(n)
		a.received(0)
		clock += int64(10 * time.Microsecond)
	}
	require.Equal(t, FillFloor, a.target, "an idle socket falls back to the floor")
	// An idle socket keeps what it was given: its ring cannot be emptied.
	require.Equal(t, 4096, a.inFill)
}

// TestPoolFillCoversStallAtLowRate: a socket that a busy worker polls
// every 2 µs while frames arrive at 20,000/s never sees its ring drained,
// yet its fill ring must cover a 200 ms stall of the worker: its target
// follows the rate (about 4,000 frames), and comes down again when the
// rate does.
func TestPoolFillCoversStallAtLowRate(t *testing.T) {
	b := newBudget(16384)
	require.NoError(t, b.admit("a", 0))
	require.NoError(t, b.admit("b", 0))
	a := newFillAcct(b, 4096)
	clock := int64(1)
	a.now = func() int64 { return clock }
	avail := 16384
	run := func(d time.Duration, every int) {
		for i := 0; time.Duration(i)*2*time.Microsecond < d; i++ {
			n, _ := a.want(avail, fillLeft(&a))
			avail -= n
			a.posted(n)
			if every > 0 && i%every == 0 {
				a.received(1)
				avail++
			}
			clock += int64(2 * time.Microsecond)
		}
	}
	run(100*time.Millisecond, 25) // 20,000 frames/s
	require.InDelta(t, 4000, a.target, 200, "fill target at 20,000 frames/s")
	require.GreaterOrEqual(t, a.inFill, a.target-refillMin, "the ring is kept at the target")
	run(100*time.Millisecond, 250) // 2,000 frames/s
	require.InDelta(t, 400, a.target, 40, "fill target at 2,000 frames/s")
	run(100*time.Millisecond, 0)
	require.Equal(t, FillFloor, a.target)
}
