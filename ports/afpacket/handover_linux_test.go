package afpacket_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afpacket"
)

// TestHandover: a port adopted from duplicates of a running port's
// sockets receives the container's frames (tagged ones with their tags,
// though the sockets came without PACKET_AUXDATA) and transmits to it; refused
// descriptors (not AF_PACKET, another interface) are left open.
func TestHandover(t *testing.T) {
	r := newRig(t)
	h, fds := r.p.Handover()
	require.Equal(t, r.p.Ifname(), h.Ifname)
	var dups []int
	for _, fd := range fds {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		require.NoError(t, err)
		dups = append(dups, d)
		// As a socket of a version that did not ask for the frames' VLAN
		// tags (the option is the socket's: the old port's too).
		require.NoError(t, unix.SetsockoptInt(d, unix.SOL_PACKET, unix.PACKET_AUXDATA, 0))
	}

	udp, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(udp)
	_, err = afpacket.Adopt("x", h, []int{udp}, nil)
	require.ErrorContains(t, err, "not an AF_PACKET socket")
	bad := h
	bad.Index++
	_, err = afpacket.Adopt("x", bad, dups, nil)
	require.Error(t, err)
	bad = h
	bad.Queues = 2
	_, err = afpacket.Adopt("x", bad, dups, nil)
	require.Error(t, err)

	p, err := afpacket.Adopt("new", h, dups, nil)
	require.NoError(t, err)
	require.Equal(t, r.p.Info(), p.Info())
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 512})
	require.NoError(t, err)
	rx, err := p.OpenRx(0, pool)
	require.NoError(t, err)
	tx, err := p.OpenTx(0, pool)
	require.NoError(t, err)
	defer func() {
		rx.Close()
		tx.Close()
		require.NoError(t, p.Close())
		pool.Reclaim()
		require.Equal(t, pool.Size(), pool.Available())
		pool.Close()
	}()
	// The old port stops polling (its queues stay open until cleanup):
	// what the container sends now reaches the adopted sockets.
	for range 8 {
		_, err := unix.Write(r.send, frame())
		require.NoError(t, err)
	}
	nr := &rig{p: p, pool: pool, rx: rx, tx: tx, send: r.send}
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	got := nr.rxAll(t, ids, 8)
	pool.FreeN(ids[:got])
	require.Equal(t, 8, got, "frames through the adopted port")
	// The adopted socket brings the tags the kernel took out of frames.
	f := taggedFrame(0x8100, 10)
	_, err = unix.Write(r.send, f)
	require.NoError(t, err)
	id := nr.rxFrom(t, ids, f[6:12])
	pkt := append([]byte(nil), pool.Packet(id)...)
	pool.Free(id)
	require.Equal(t, f, pkt, "the adopted port put the VLAN tag back")

	ids = ids[:1]
	require.Equal(t, 1, pool.AllocN(ids))
	require.True(t, pool.SetPacket(ids[0], frame()))
	n, err := tx.Tx(ids)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.EqualValues(t, 1, p.Stats().TxPackets, "sent through the adopted socket")
	require.Zero(t, p.Stats().TxErrors)
}
