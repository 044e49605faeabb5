package afpacket_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
)

// rig is a veth whose host end is an AF_PACKET port with its queue open,
// and a raw socket on the container end to send frames from.
type rig struct {
	p    *afpacket.Port
	pool *pipeline.Pool
	rx   pipeline.RxQueue
	tx   pipeline.TxQueue
	send int // AF_PACKET socket on the container's eth0
}

func newRig(t *testing.T) *rig {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	host := "vsap" + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.99.0.1/24", 1)
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 1024})
	require.NoError(t, err)
	p, err := afpacket.New(afpacket.Config{Name: "a", Ifname: host})
	require.NoError(t, err)
	r := &rig{p: p, pool: pool}
	r.rx, err = p.OpenRx(0, pool)
	require.NoError(t, err)
	r.tx, err = p.OpenTx(0, pool)
	require.NoError(t, err)
	t.Cleanup(func() {
		r.rx.Close()
		r.tx.Close()
		require.NoError(t, p.Close())
		pool.Reclaim()
		require.Equal(t, pool.Size(), pool.Available(), "buffers leaked")
		pool.Close()
	})
	eth0, err := netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err)
	fd, closeFd := netdevtest.Socket(t, ns.Path(), unix.AF_PACKET, unix.SOCK_RAW, 0)
	t.Cleanup(closeFd)
	require.NoError(t, unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: eth0.Index}))
	r.send = fd
	return r
}

// frame is a 64-byte frame to a MAC no one has, so the container's kernel
// drops what comes back.
func frame() []byte {
	f := make([]byte, 64)
	copy(f, []byte{0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x98, 0x88, 0xb5})
	return f
}

// rxAll polls until n of the test's frames (EtherType 0x88b5) came or a
// second passed; anything else the container's kernel sends (IPv6
// neighbour discovery) is freed.
func (r *rig) rxAll(t testing.TB, ids []pipeline.BufID, n int) int {
	got := 0
	for deadline := time.Now().Add(time.Second); got < n && time.Now().Before(deadline); {
		k, err := r.rx.Rx(ids[got:])
		require.NoError(t, err)
		for _, id := range ids[got : got+k] {
			if pkt := r.pool.Packet(id); len(pkt) >= 14 && pkt[12] == 0x88 && pkt[13] == 0xb5 {
				ids[got] = id
				got++
			} else {
				r.pool.Free(id)
			}
		}
	}
	return got
}

// TestAFPacketFrames: frames the container sends arrive whole; frames
// the port sends reach the container; counters add up; nothing leaks.
func TestAFPacketFrames(t *testing.T) {
	r := newRig(t)
	require.True(t, r.p.Info().Offload)
	f := frame()
	for range 8 {
		_, err := unix.Write(r.send, f)
		require.NoError(t, err)
	}
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	n := r.rxAll(t, ids, 8)
	require.Equal(t, 8, n)
	for _, id := range ids[:n] {
		require.Equal(t, f, r.pool.Packet(id))
	}
	sent, err := r.tx.Tx(ids[:n])
	require.NoError(t, err)
	require.Equal(t, 8, sent)
	st := r.p.Stats()
	require.GreaterOrEqual(t, st.RxPackets, uint64(8)) // and the kernel's own
	require.EqualValues(t, 8, st.TxPackets)
	require.Zero(t, st.RxInvalid+st.RxErrors+st.TxErrors+st.TxInvalid+st.TxFull)
	// What the port sent is not read back (PACKET_IGNORE_OUTGOING).
	require.Zero(t, r.rxAll(t, ids, 1))
}

// TestAFPacketAllocations: Rx (frames and empty polls) and Tx allocate
// nothing.
func TestAFPacketAllocations(t *testing.T) {
	r := newRig(t)
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	require.Zero(t, testing.AllocsPerRun(200, func() {
		n, _ := r.rx.Rx(ids)
		r.pool.FreeN(ids[:n])
	}), "empty Rx")
	f := frame()
	moved := 0
	require.Zero(t, testing.AllocsPerRun(200, func() {
		for range 4 {
			unix.Write(r.send, f)
		}
		n := r.rxAll(t, ids, 4)
		sent, _ := r.tx.Tx(ids[:n])
		moved += sent
	}), "Rx and Tx")
	require.GreaterOrEqual(t, moved, 200*4)
}

// TestAFPacketBadConfig: a missing interface and bad numbers are refused
// and leave nothing behind.
func TestAFPacketBadConfig(t *testing.T) {
	nettest.NeedRoot(t)
	for _, c := range []afpacket.Config{
		{Name: "x", Ifname: "vsnosuch0"},
		{Name: "", Ifname: "lo"},
		{Name: "x", Ifname: "lo", Queues: 65},
		{Name: "x", Ifname: "lo", MaxFrame: 10},
		{Name: "x", Ifname: "bad/name"},
	} {
		_, err := afpacket.New(c)
		require.Error(t, err, "%+v", c)
	}
}
