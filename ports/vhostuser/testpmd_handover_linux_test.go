package vhostuser_test

import (
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/vhostuser"
)

// seqEther is the ethertype of the test's numbered frames (local
// experimental).
const seqEther = 0x88b5

// seqFrame is a 64-byte broadcast frame carrying sequence number n.
func seqFrame(n uint64) []byte {
	f := make([]byte, 64)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0x92, 1})
	binary.BigEndian.PutUint16(f[12:], seqEther)
	binary.BigEndian.PutUint64(f[14:], n)
	return f
}

// echoLedger counts numbered frames sent to the guest and received back
// from it, across ports: each number is sent once, and must come back
// once.
type echoLedger struct {
	mu    sync.Mutex
	next  uint64         // numbers below were sent
	back  map[uint64]int // times each came back
	other int            // frames that are not the test's
}

func (l *echoLedger) outstanding() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.next) - len(l.back)
}

func (l *echoLedger) received() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.back)
}

// echoWorker plays a switch worker on one port: it sends numbered frames
// (at most window unanswered) and takes back what the guest echoes,
// until stop is closed; done is closed when it has returned (it polls
// the port's queues no more).
func echoWorker(t *testing.T, l *echoLedger, rx pipeline.RxQueue, tx pipeline.TxQueue, pool *pipeline.Pool, window int, stop <-chan struct{}) (done <-chan struct{}) {
	d := make(chan struct{})
	go func() {
		defer close(d)
		ids := make([]pipeline.BufID, 32)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if k := min(len(ids), window-l.outstanding()); k > 0 {
				l.mu.Lock()
				first := l.next
				l.mu.Unlock()
				n := pool.AllocN(ids[:k])
				for i := range n {
					pool.SetPacket(ids[i], seqFrame(first+uint64(i)))
				}
				sent, err := tx.Tx(ids[:n])
				if err != nil {
					t.Errorf("tx: %v", err)
					return
				}
				// The first sent frames went; the rest were dropped, and
				// their numbers are used again.
				l.mu.Lock()
				l.next += uint64(sent)
				l.mu.Unlock()
			}
			n, err := rx.Rx(ids)
			if err != nil {
				t.Errorf("rx: %v", err)
				return
			}
			l.mu.Lock()
			for _, id := range ids[:n] {
				p := pool.Packet(id)
				if len(p) >= 22 && binary.BigEndian.Uint16(p[12:]) == seqEther {
					l.back[binary.BigEndian.Uint64(p[14:])]++
				} else {
					l.other++
				}
			}
			l.mu.Unlock()
			pool.FreeN(ids[:n])
			if n == 0 {
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	return d
}

// linkUp asks testpmd for port 0's link status (dpdktest.Testpmd.LinkUp).
func linkUp(p *testpmd) bool { return p.LinkUp() }

// TestTestpmdHandover hands a vhost-user port that DPDK's virtio_user
// (testpmd, echoing every frame back: io forwarding) is connected to from
// one Port to another in this process, the way vswitchd --takeover does
// between two processes: Handover and Adopt while the giver forwards,
// LateState once its worker stopped, Restore before the adopter's worker
// starts, then the giver released and closed. Every numbered frame sent
// (by either port) comes back exactly once (to either port): none lost,
// none twice across the switch-over, and testpmd's counters agree;
// testpmd never sees its link go down while the giver closes, and does
// when the adopter closes.
func TestTestpmdHandover(t *testing.T) {
	needTestpmd(t)
	sock := filepath.Join(t.TempDir(), "vm1.sock")
	pa, err := vhostuser.New(vhostuser.Config{Name: "a", Socket: sock, Logger: quietUnlessVerbose()})
	require.NoError(t, err)
	t.Cleanup(func() { pa.Close() })
	poolA, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 2048})
	require.NoError(t, err)
	t.Cleanup(func() { poolA.Close() })
	rxA, err := pa.OpenRx(0, poolA)
	require.NoError(t, err)
	txA, err := pa.OpenTx(0, poolA)
	require.NoError(t, err)

	pmd := startTestpmd(t, sock, "--lcores=0@0,1@0", "")
	require.True(t, waitUntil(10*time.Second, func() bool { return pa.Status().RunningRings == 2 }), "%+v", pa.Status())
	pmd.run("set fwd io retry")
	pmd.run("start")
	require.True(t, linkUp(pmd))

	const window = 64 // well below the rings' 256 entries: nothing is dropped for want of room
	l := &echoLedger{back: map[uint64]int{}}
	progress := func(n int, what string) {
		t.Helper()
		require.True(t, waitUntil(20*time.Second, func() bool { return l.received() >= n }),
			"%s: %d frames echoed, want %d; port a %+v", what, l.received(), n, pa.Stats())
	}
	stopA := make(chan struct{})
	doneA := echoWorker(t, l, rxA, txA, poolA, window, stopA)
	progress(2000, "through a")

	// Handover while a forwards; b adopts duplicates of the descriptors.
	h, fds, err := pa.Handover()
	require.NoError(t, err)
	b, err := json.Marshal(h)
	require.NoError(t, err)
	var h2 vhostuser.Handover
	require.NoError(t, json.Unmarshal(b, &h2))
	var sent []int
	for _, fd := range fds {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		require.NoError(t, err)
		sent = append(sent, d)
	}
	pb, err := vhostuser.Adopt(vhostuser.Config{Name: "b", Logger: quietUnlessVerbose()}, h2, sent)
	require.NoError(t, err)
	t.Cleanup(func() { pb.Close() })
	poolB, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 2048})
	require.NoError(t, err)
	t.Cleanup(func() { poolB.Close() })
	rxB, err := pb.OpenRx(0, poolB)
	require.NoError(t, err)
	txB, err := pb.OpenTx(0, poolB)
	require.NoError(t, err)
	require.Zero(t, pb.Status().RunningRings)
	progress(l.received()+1000, "through a after Handover")

	// a's worker stops with frames in flight; b starts where a stopped.
	close(stopA)
	<-doneA
	late := pa.LateState()
	b, err = json.Marshal(late)
	require.NoError(t, err)
	var late2 vhostuser.LateState
	require.NoError(t, json.Unmarshal(b, &late2))
	inFlight := l.outstanding()
	require.NoError(t, pb.Restore(late2))
	stopB := make(chan struct{})
	doneB := echoWorker(t, l, rxB, txB, poolB, window, stopB)
	stoppedB := false
	t.Cleanup(func() {
		if !stoppedB {
			close(stopB)
			<-doneB
		}
	})
	t.Logf("handed over with %d frames in flight, late state %+v", inFlight, late2)

	// a is released and closed; testpmd notices nothing.
	pa.Release()
	require.NoError(t, rxA.Close())
	require.NoError(t, txA.Close())
	require.NoError(t, pa.Close())
	progress(l.received()+2000, "through b after a closed")
	require.True(t, linkUp(pmd), "testpmd saw its link go down when the giver closed")

	// The end: every number came back once.
	close(stopB)
	<-doneB
	stoppedB = true
	// What testpmd still echoes comes to b's queue, polled here.
	drain := make([]pipeline.BufID, 64)
	require.True(t, waitUntil(10*time.Second, func() bool {
		n, err := rxB.Rx(drain)
		require.NoError(t, err)
		l.mu.Lock()
		for _, id := range drain[:n] {
			p := poolB.Packet(id)
			l.back[binary.BigEndian.Uint64(p[14:])]++
		}
		l.mu.Unlock()
		poolB.FreeN(drain[:n])
		return l.outstanding() == 0
	}), "%d frames never came back", l.outstanding())
	l.mu.Lock()
	for seq, n := range l.back {
		require.Less(t, seq, l.next, "a number never sent came back")
		require.Equal(t, 1, n, "frame %d came back %d times", seq, n)
	}
	require.Len(t, l.back, int(l.next))
	require.Zero(t, l.other, "frames that were not sent")
	total := l.next
	l.mu.Unlock()
	pmd.run("stop")
	rx, tx := pmd.stats()
	require.Equal(t, total, rx, "testpmd received")
	require.Equal(t, total, tx, "testpmd sent")
	sa, sb := pa.Stats(), pb.Stats()
	t.Logf("%d frames each way; port a %+v; port b %+v", total, sa, sb)
	require.Equal(t, total, sa.TxPackets+sb.TxPackets)
	require.Equal(t, total, sa.RxPackets+sb.RxPackets)
	require.NotZero(t, sb.RxPackets)
	require.NotZero(t, sb.TxPackets)
	require.NotContains(t, pmd.output(), "is down")

	// Closing b ends the connection as a normal close does.
	require.NoError(t, rxB.Close())
	require.NoError(t, txB.Close())
	require.NoError(t, pb.Close())
	require.True(t, waitUntil(10*time.Second, func() bool { return !linkUp(pmd) }), "testpmd's link stayed up after the adopter closed")
}

// TestTestpmdHandoverRequests: testpmd reconfigures its port (rx
// checksum offload on: the virtio_user driver resets the device, sending
// GET_VRING_BASE and waiting for the replies, then negotiates GUEST_CSUM
// and sets the rings up again) right after Handover, while the giver
// reads no request: the request waits in the socket (its receive queue is
// not empty, the giver's rings still run), and the adopter, once
// restored, answers it and the rest and serves the new rings; the giver
// is closed before and answers nothing.
func TestTestpmdHandoverRequests(t *testing.T) {
	needTestpmd(t)
	sock := filepath.Join(t.TempDir(), "vm1.sock")
	pa, err := vhostuser.New(vhostuser.Config{Name: "a", Socket: sock, Logger: quietUnlessVerbose()})
	require.NoError(t, err)
	t.Cleanup(func() { pa.Close() })
	pmd := startTestpmd(t, sock, "--lcores=0@0,1@0", "")
	require.True(t, waitUntil(10*time.Second, func() bool { return pa.Status().RunningRings == 2 }), "%+v", pa.Status())

	h, fds, err := pa.Handover()
	require.NoError(t, err)
	var sent []int
	for _, fd := range fds {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		require.NoError(t, err)
		sent = append(sent, d)
	}
	pb, err := vhostuser.Adopt(vhostuser.Config{Name: "b", Logger: quietUnlessVerbose()}, h, sent)
	require.NoError(t, err)
	t.Cleanup(func() { pb.Close() })
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 2048})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	rx, err := pb.OpenRx(0, pool)
	require.NoError(t, err)
	tx, err := pb.OpenTx(0, pool)
	require.NoError(t, err)

	// testpmd's port restart: it hangs on the first reply meanwhile.
	start := len(pmd.output())
	err = pmd.Send("port stop 0\nport config 0 rx_offload udp_cksum on\nport start 0\nset fwd io retry\nstart\n")
	require.NoError(t, err)

	// Its first request waits in the socket: neither port reads.
	require.True(t, waitUntil(10*time.Second, func() bool {
		n, err := unix.IoctlGetInt(fds[h.Conn], unix.SIOCINQ)
		return err == nil && n > 0
	}), "testpmd sent nothing")
	require.Equal(t, 2, pa.Status().RunningRings, "the giver handled GET_VRING_BASE after Handover")

	late := pa.LateState()
	pa.Release()
	require.NoError(t, pa.Close())
	require.Zero(t, pb.Status().RunningRings)
	require.NoError(t, pb.Restore(late))
	require.True(t, waitUntil(10*time.Second, func() bool {
		return strings.Count(pmd.output()[start:], "testpmd> ") >= 5
	}), "testpmd's port restart did not finish:\n%s", pmd.output()[start:])
	require.True(t, waitUntil(10*time.Second, func() bool { return pb.Status().RunningRings == 2 }), "%+v", pb.Status())
	const guestCsum = 1 << 1 // VIRTIO_NET_F_GUEST_CSUM, which the restart asked for
	require.Zero(t, h.Features&guestCsum)
	require.NotZero(t, pb.Status().Features&guestCsum, "the adopter did not handle SET_FEATURES")

	l := &echoLedger{back: map[uint64]int{}}
	stop := make(chan struct{})
	done := echoWorker(t, l, rx, tx, pool, 64, stop)
	ok := waitUntil(10*time.Second, func() bool { return l.received() >= 1000 })
	close(stop)
	<-done
	require.True(t, ok, "no echo through the adopter after testpmd's port restart: %d; port %+v", l.received(), pb.Stats())
	require.True(t, linkUp(pmd))
	require.NoError(t, rx.Close())
	require.NoError(t, tx.Close())
}
