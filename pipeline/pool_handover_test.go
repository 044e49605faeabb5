package pipeline

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPoolHandover: an adopted pool maps the same frames (a write on
// either side is seen by the other) and takes over the free list; the
// frames that were not free stay out of it.
func TestPoolHandover(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared pools need memfd (Linux)")
	}
	p, err := NewPool(PoolConfig{Frames: 512, Shared: true})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	require.True(t, p.Shared())
	require.Equal(t, shmemHuge(), p.ChunksContiguous(), "a shared arena is contiguous only on huge pages")
	held := make([]BufID, 100)
	require.Equal(t, 100, p.AllocN(held))
	copy(p.Frame(held[7]), "posted to the kernel")

	f, err := p.Handover()
	require.NoError(t, err)
	defer f.Close()
	free := p.FreeIDs()
	require.Len(t, free, 412)

	q, err := AdoptPool(f, 512)
	require.NoError(t, err)
	t.Cleanup(func() { q.Close() })
	require.Zero(t, q.Available(), "no free frame until Restore")
	require.NoError(t, q.Restore(free))
	require.ErrorIs(t, q.Restore(free), ErrBadHandover, "restored once")
	require.NotZero(t, p.ArenaID())
	require.Equal(t, p.ArenaID(), q.ArenaID(), "the same arena")
	require.Equal(t, "posted to the kernel", string(q.Frame(held[7])[:20]))
	copy(p.Frame(held[8]), "the kernel wrote this later")
	require.Equal(t, "the kernel wrote this later", string(q.Frame(held[8])[:27]))
	require.Equal(t, 412, q.Available())
	got := map[BufID]bool{}
	for range 412 {
		id, ok := q.Alloc()
		require.True(t, ok)
		got[id] = true
	}
	_, ok := q.Alloc()
	require.False(t, ok, "only the free frames are allocatable")
	for _, id := range held {
		require.False(t, got[id], "frame %d was held, not free", id)
	}
	q.FreeN(held) // they come back (through the rings, in a port)
	require.Equal(t, 100, q.Available())
}

func TestPoolHandoverRefusals(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared pools need memfd (Linux)")
	}
	private, err := NewPool(PoolConfig{Frames: 256})
	require.NoError(t, err)
	t.Cleanup(func() { private.Close() })
	require.Zero(t, private.ArenaID())
	require.True(t, private.ChunksContiguous())
	_, err = private.Handover()
	require.ErrorIs(t, err, ErrNotShared)

	p, err := NewPool(PoolConfig{Frames: 256, Shared: true})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	f, err := p.Handover()
	require.NoError(t, err)
	defer f.Close()
	for name, frames := range map[string]int{"size differs": 512, "too small": 1} {
		_, err := AdoptPool(f, frames)
		require.ErrorIs(t, err, ErrBadHandover, name)
	}
	q, err := AdoptPool(f, 256)
	require.NoError(t, err)
	t.Cleanup(func() { q.Close() })
	for name, free := range map[string][]BufID{"out of range": {256}, "listed twice": {3, 4, 3}} {
		require.ErrorIs(t, q.Restore(free), ErrBadHandover, name)
		require.Zero(t, q.Available(), "a refused Restore changes nothing")
	}
	tmp, err := os.CreateTemp(t.TempDir(), "x")
	require.NoError(t, err)
	defer tmp.Close()
	_, err = AdoptPool(tmp, 256)
	require.True(t, errors.Is(err, ErrBadHandover), "an empty regular file is no arena of 256 frames")
}
