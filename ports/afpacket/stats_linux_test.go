package afpacket_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
)

// TestAFPacketKernelDrops: frames the kernel drops because the port's
// socket buffer is full (the port is not polled while the container
// sends) are counted in RxKernelDrops; they were counted nowhere (an
// audit's container sent 200,000 frames, the port counted 63,499
// received and no error). The kernel resets its counter on every read,
// so Stats adds up: a second read after more drops has the first's too.
func TestAFPacketKernelDrops(t *testing.T) {
	r := newRig(t)
	f := frame()
	// The socket's buffer holds some 20,000 small frames (8 MiB asked,
	// the kernel doubles it): send until the kernel drops, at most
	// 200,000 frames.
	sent := 0
	for sent < 200000 && r.p.Stats().RxKernelDrops == 0 {
		for range 1000 {
			if _, err := unix.Write(r.send, f); err == nil {
				sent++
			}
		}
	}
	first := r.p.Stats().RxKernelDrops
	require.NotZero(t, first, "no kernel drop counted after %d frames into an unpolled port", sent)
	// The buffer is still full: more frames, more drops, on top.
	for range 1000 {
		unix.Write(r.send, f)
	}
	second := r.p.Stats().RxKernelDrops
	require.Greater(t, second, first, "the count went back (the kernel's reset on read)")
	require.Equal(t, second, r.p.Stats().RxKernelDrops, "reading again adds nothing")

	// What the socket held is read as usual; nothing else counts as an
	// error.
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	got := 0
	for {
		n, err := r.rx.Rx(ids)
		require.NoError(t, err)
		r.pool.FreeN(ids[:n])
		if n == 0 {
			break
		}
		got += n
	}
	st := r.p.Stats()
	require.NotZero(t, got)
	require.Zero(t, st.RxErrors+st.RxInvalid)
}
