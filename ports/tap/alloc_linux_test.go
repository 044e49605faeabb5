package tap_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/ports/tap"
)

func TestTapAllocations(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "offload"}[off], func(t *testing.T) { testTapAllocations(t, off) })
	}
}

// testTapAllocations: the plain and the offload (vnet header, readv,
// writev) data paths allocate nothing.
func testTapAllocations(t *testing.T, offload bool) {
	ns := netdevtest.NewNetns(t)
	r := newRig(t, tap.Config{Name: "a", Netns: ns, Addrs: []netip.Prefix{tapNet}, Offload: offload})
	s, _ := resolve(t, r, ns)
	rx, tx := r.rx[0], r.tx[0]
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	drain := func() {
		for {
			n, _ := rx.Rx(ids)
			if n == 0 {
				return
			}
			r.pool.FreeN(ids[:n])
		}
	}
	drain()

	// Empty polls (EAGAIN).
	allocs := testing.AllocsPerRun(200, func() {
		n, _ := rx.Rx(ids)
		r.pool.FreeN(ids[:n])
	})
	require.Zero(t, allocs, "empty Rx")

	// Frames from the namespace's kernel through Rx, then back out by Tx
	// (addressed to the peer's MAC, the kernel drops them as not its own).
	payload := make([]byte, 64)
	moved := 0
	allocs = testing.AllocsPerRun(200, func() {
		for range 8 {
			s.send(payload)
		}
		n, _ := rx.Rx(ids)
		sent, _ := tx.Tx(ids[:n])
		moved += sent
	})
	require.Zero(t, allocs, "Rx and Tx of frames")
	require.GreaterOrEqual(t, moved, 201*8)

	// Tx of echo requests alone; the replies wait in the kernel.
	req := echoRequest(t, r.p.Device().MAC, tapIP, 3, 3)
	allocs = testing.AllocsPerRun(100, func() {
		n := r.pool.AllocN(ids[:4])
		for _, id := range ids[:n] {
			r.pool.SetPacket(id, req)
		}
		tx.Tx(ids[:n])
	})
	require.Zero(t, allocs, "Tx")
	drain()
	st := r.p.Stats()
	require.Zero(t, st.RxOversize+st.RxErrors+st.RxNoBuffer+st.TxFull+st.TxErrors+st.TxInvalid)
}
