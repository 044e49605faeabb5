package afpacket_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
)

// rig is a veth whose host end is an AF_PACKET port with its queue open,
// and a raw socket on the container end to send frames from.
type rig struct {
	ns   *nettest.NS
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
	r := &rig{ns: ns, p: p, pool: pool}
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

// TestAFPacketVLANTag: a tagged frame the container sends arrives with its
// tag, though the kernel takes the tag out of the frame before packet
// sockets see it (veth's rx VLAN offload): an 802.1Q tag, a priority tag
// (VLAN 0) and an 802.1ad tag come back as sent, and an untagged frame
// stays untagged. The port's frames are as the switch's own tagged ones:
// the MACs moved into the headroom, a partial checksum's start with the
// rest. Nothing is allocated.
func TestAFPacketVLANTag(t *testing.T) {
	r := newRig(t)
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	for _, f := range [][]byte{taggedFrame(0x8100, 10), taggedFrame(0x8100, 0xa014), taggedFrame(0x8100, 0), taggedFrame(0x88a8, 20), frame()} {
		_, err := unix.Write(r.send, f)
		require.NoError(t, err)
		got := r.rxFrom(t, ids, f[6:12])
		pkt, off := append([]byte(nil), r.pool.Packet(got)...), r.pool.Meta(got).Off
		r.pool.Free(got)
		require.Equal(t, f, pkt, "% x", f[12:16])
		require.EqualValues(t, pipeline.Headroom-(len(f)-len(frame())), off)
	}
	// A partial checksum's start moves with the frame: the container's
	// socket (with a virtio-net header) sends a tagged frame whose
	// checksum is left to the receiver at 40 (in the tagged frame); the
	// kernel reports it at 36 in the frame it untagged, the port at 40
	// again.
	eth0, err := netdev.LinkByName(r.ns.Path(), "eth0")
	require.NoError(t, err)
	vfd, closeV := netdevtest.Socket(t, r.ns.Path(), unix.AF_PACKET, unix.SOCK_RAW, 0)
	t.Cleanup(closeV)
	require.NoError(t, unix.SetsockoptInt(vfd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1))
	require.NoError(t, unix.Bind(vfd, &unix.SockaddrLinklayer{Ifindex: eth0.Index}))
	f := taggedFrame(0x8100, 10)
	hdr := make([]byte, offload.HdrLen)
	(&offload.VnetHdr{Flags: offload.FlagNeedsCsum, CsumStart: 40, CsumOffset: 6}).Encode(hdr)
	_, err = unix.Write(vfd, append(hdr, f...))
	require.NoError(t, err)
	got := r.rxFrom(t, ids, f[6:12])
	pkt, m := append([]byte(nil), r.pool.Packet(got)...), *r.pool.Meta(got)
	r.pool.Free(got)
	require.Equal(t, f, pkt)
	require.NotZero(t, m.Offload&pipeline.OffloadCsumPartial)
	require.EqualValues(t, 40, m.CsumStart)
	require.EqualValues(t, 6, m.CsumOff)

	// Putting the tag back allocates nothing.
	require.Zero(t, testing.AllocsPerRun(100, func() {
		unix.Write(r.send, f)
		r.pool.Free(r.rxFrom(t, ids, f[6:12]))
	}))
}

// taggedFrame is frame() behind an 802.1Q or 802.1ad tag (tpid, tci), with
// another source MAC, a byte set after the EtherType.
func taggedFrame(tpid, tci uint16) []byte {
	f := make([]byte, 68)
	copy(f, []byte{0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x97,
		byte(tpid >> 8), byte(tpid), byte(tci >> 8), byte(tci), 0x88, 0xb5})
	f[20] = 0xab
	return f
}

// rxFrom polls for a second until a frame from MAC src comes; the rest
// is freed.
func (r *rig) rxFrom(t testing.TB, ids []pipeline.BufID, src []byte) pipeline.BufID {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		k, err := r.rx.Rx(ids)
		require.NoError(t, err)
		for i, id := range ids[:k] {
			if pkt := r.pool.Packet(id); len(pkt) >= 14 && string(pkt[6:12]) == string(src) {
				r.pool.FreeN(ids[i+1 : k])
				return id
			}
			r.pool.Free(id)
		}
	}
	t.Fatalf("no frame from % x", src)
	return 0
}
