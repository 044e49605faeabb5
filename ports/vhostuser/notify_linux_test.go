package vhostuser

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func eventfd(t *testing.T) int {
	t.Helper()
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// signalled reads and clears an eventfd's count.
func signalled(fd int) uint64 {
	var b [8]byte
	if n, err := unix.Read(fd, b[:]); err != nil || n != 8 {
		return 0
	}
	return le.Uint64(b[:])
}

func TestInterruptsOnlyWhenAsked(t *testing.T) {
	r := newRingRig(t, featModern, 64, 2048)
	txCall, rxCall := eventfd(t), eventfd(t)
	r.vtx.callFD, r.vrx.callFD = txCall, rxCall
	f := frame(64, 1)

	// The guest's transmit ring: interrupts suppressed, then wanted.
	r.tx.setAvailFlags(vringAvailFNoInterupt)
	r.tx.txFrame(t, f, r.hdr, false)
	r.tx.publish()
	require.Len(t, r.rxAll(t), 1)
	require.Zero(t, signalled(txCall))
	r.tx.setAvailFlags(0)
	r.tx.txFrame(t, f, r.hdr, false)
	r.tx.publish()
	require.Len(t, r.rxAll(t), 1)
	require.Equal(t, uint64(1), signalled(txCall))

	// The guest's receive ring, likewise.
	r.rx.postRx(4, 2048)
	r.rx.setAvailFlags(vringAvailFNoInterupt)
	require.Equal(t, 1, r.txAll(t, f))
	require.Zero(t, signalled(rxCall))
	r.rx.setAvailFlags(0)
	require.Equal(t, 2, r.txAll(t, f, f))
	require.Equal(t, uint64(1), signalled(rxCall), "one interrupt per batch")
	require.Empty(t, r.rxAll(t))
	require.Zero(t, signalled(txCall), "no interrupt without used entries")

	s := r.stats()
	require.Equal(t, uint64(1), s.RxCalls)
	require.Equal(t, uint64(1), s.TxCalls)
}

func TestInterruptsWithEventIdx(t *testing.T) {
	r := newRingRig(t, featEvent, 64, 2048)
	rxCall := eventfd(t)
	r.vrx.callFD = rxCall
	r.rx.setAvailFlags(vringAvailFNoInterupt) // ignored with EVENT_IDX
	r.rx.postRx(16, 2048)
	f := frame(64, 1)
	r.rx.setUsedEvent(0)
	require.Equal(t, 1, r.txAll(t, f)) // used 0 -> 1 passes 0
	require.Equal(t, uint64(1), signalled(rxCall))
	require.Equal(t, 1, r.txAll(t, f)) // 1 -> 2 does not
	require.Zero(t, signalled(rxCall))
	r.rx.setUsedEvent(5)
	require.Equal(t, 3, r.txAll(t, f, f, f)) // 2 -> 5
	require.Zero(t, signalled(rxCall))
	require.Equal(t, 1, r.txAll(t, f)) // 5 -> 6 passes 5
	require.Equal(t, uint64(1), signalled(rxCall))
}

func TestKickRequestedWhenIdle(t *testing.T) {
	for _, features := range []uint64{featModern, featEvent} {
		r := newRingRig(t, features, 64, 2048)
		kick := eventfd(t)
		r.vtx.kickFD = kick
		require.Zero(t, r.tx.usedFlags()&vringUsedFNoNotify, "a new ring asks for kicks")
		r.tx.txFrame(t, frame(64, 1), r.hdr, false)
		r.tx.publish()
		signal(kick, new([8]byte))
		require.Len(t, r.rxAll(t), 1)
		if features&bit(featRingEventIdx) == 0 {
			require.NotZero(t, r.tx.usedFlags()&vringUsedFNoNotify, "busy: no kicks")
		}
		for range idleBeforeNotify - 1 {
			require.Empty(t, r.rxAll(t))
		}
		require.Equal(t, uint64(1), signalled(kick), "kicks are not drained while polling")
		signal(kick, new([8]byte))
		require.Empty(t, r.rxAll(t))
		require.Zero(t, r.tx.usedFlags()&vringUsedFNoNotify, "idle: kicks wanted again")
		require.Zero(t, signalled(kick), "the stale kick was drained")
		if features&bit(featRingEventIdx) != 0 {
			require.Equal(t, r.tx.next, r.tx.availEvent(), "kick at the next avail entry")
		}
		// The guest's receive ring never asks for kicks (without EVENT_IDX).
		if features&bit(featRingEventIdx) == 0 {
			require.NotZero(t, r.rx.usedFlags()&vringUsedFNoNotify)
		}
	}
}
