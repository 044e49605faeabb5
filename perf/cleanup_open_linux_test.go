package perf

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// missingTopo names host ends that do not exist, so every open fails
// after it has made some of its parts (a BPF program, a pool).
func missingTopo() *topo {
	return &topo{id: "none",
		snd: endpoint{host: "vsbnone0s", hostIx: 1 << 30},
		rcv: endpoint{host: "vsbnone0r", hostIx: 1<<30 + 1}}
}

// TestOpenFailureReturnsError: an open that fails half-way closes what it
// made and returns its error; it does not panic in its own clean-up (the
// named result was set to nil by `return nil, err` before the deferred
// close ran, which then dereferenced nil and aborted the whole package).
func TestOpenFailureReturnsError(t *testing.T) {
	needRoot(t)
	t.Run("asavie", func(t *testing.T) {
		x, err := openAsavie(missingTopo())
		require.Error(t, err)
		require.Nil(t, x)
	})
	t.Run("xsk", func(t *testing.T) {
		x, err := openXSK(missingTopo())
		require.Error(t, err)
		require.Nil(t, x)
	})
	t.Run("generator", func(t *testing.T) {
		g, err := openGenTx("vsbnone0s", make([]byte, FrameLen))
		require.Error(t, err)
		require.Nil(t, g)
	})
}

// newTestTopo makes a topology that is removed when the test ends, also
// when it fails or a subtest panics, and checks then that nothing named
// like ours was left.
func newTestTopo(t *testing.T) *topo {
	t.Helper()
	before := ours(t)
	t.Cleanup(func() { requireCleanedUp(t, before) })
	tp, err := newTopo(newRunID())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tp.close()) })
	return tp
}

// TestXSKOnQueue: the kernel reports an AF_XDP pool on a queue while a
// socket is bound to it, and for a while after the socket is closed;
// waitQueueFree returns once the queue is free.
func TestXSKOnQueue(t *testing.T) {
	needRoot(t)
	tp := newTestTopo(t)
	busy, err := xskOnQueue(tp.snd.hostIx, 0)
	require.NoError(t, err)
	require.False(t, busy, "no socket yet")
	x, err := openXSK(tp)
	require.NoError(t, err)
	busy, err = xskOnQueue(tp.snd.hostIx, 0)
	require.NoError(t, err)
	if !busy {
		require.NoError(t, x.close())
		t.Skip("this kernel does not report AF_XDP sockets on queues (netdev queue-get XSK attribute, Linux 6.15)")
	}
	require.NoError(t, x.close())
	t0 := time.Now()
	require.NoError(t, waitQueueFree(tp.snd.hostIx, 0, xskReleaseWait))
	t.Logf("the kernel released the queue %v after close", time.Since(t0))
	busy, err = xskOnQueue(tp.snd.hostIx, 0)
	require.NoError(t, err)
	require.False(t, busy)
}

// TestAsavieBindsRightAfterXSK: the asavie cross-connect binds the queues
// the xsk one closed an instant before (as TestE2ELoopAllocations does),
// although the kernel releases them asynchronously.
func TestAsavieBindsRightAfterXSK(t *testing.T) {
	needRoot(t)
	for range 3 {
		// The library never unmaps its rings, so its sockets hold the
		// queues until the devices go: a fresh topology each round.
		tp := newTestTopo(t)
		x, err := openXSK(tp)
		require.NoError(t, err)
		require.NoError(t, x.close())
		a, err := openAsavie(tp)
		require.NoError(t, err, "bind right after the xsk sockets closed")
		require.NoError(t, a.close())
	}
}
