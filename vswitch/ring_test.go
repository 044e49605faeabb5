package vswitch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWakerWakesParkedConsumer: a publish wakes a parked consumer once,
// a publish while it is not parked sends nothing, and neither allocates.
func TestWakerWakesParkedConsumer(t *testing.T) {
	w := newWaker()
	r := newEventRing[learnEvent](64)
	r.wake = w
	key := uint64(1)
	push := func() {
		key++
		r.push(learnEvent{key: key, port: 1})
		r.publish()
	}

	push() // not parked: no token
	select {
	case <-w.ch:
		t.Fatal("woken while not parked")
	default:
	}
	require.True(t, r.pending())
	r.consume(func(learnEvent) {})
	require.False(t, r.pending())

	w.parked.Store(true)
	push()
	select {
	case <-w.ch:
	case <-time.After(time.Second):
		t.Fatal("parked consumer not woken")
	}
	require.False(t, w.parked.Load(), "the kick unparks")
	push() // already unparked: no second token
	select {
	case <-w.ch:
		t.Fatal("second token")
	default:
	}

	allocs := testing.AllocsPerRun(100, func() {
		w.parked.Store(true)
		push()
		<-w.ch
		r.consume(func(learnEvent) {})
	})
	require.Zero(t, allocs)
}

// TestLearnerWokenByFirstEvent: with the switch running and its learner
// parked (idle, backed off), a new source is learned at once rather than
// at the next timer tick.
func TestLearnerWokenByFirstEvent(t *testing.T) {
	// With a 1 s interval the learner's first idle pass backs off to 2 s
	// and parks: a timer tick is then about 2 s away, a wake immediate.
	r := newRig(t, Options{LearnInterval: time.Second})
	r.attach("a", "b")
	require.NoError(t, r.s.Reconfigure(Config{Bridges: []Bridge{{Name: "br0", Ports: []Port{{Name: "a"}, {Name: "b"}}}}}))
	require.NoError(t, r.s.Start())
	t.Cleanup(r.s.Stop)
	require.Eventually(t, r.s.wake.parked.Load, 10*time.Second, time.Millisecond)
	require.Equal(t, 1, r.ports["a"].Inject(0, frame(bcast(), macN(7), -1)))
	require.Eventually(t, func() bool { return r.s.MACStats().Learned == 1 }, time.Second, time.Millisecond,
		"not learned within a second: the learner waited for its timer instead of being woken")
}
