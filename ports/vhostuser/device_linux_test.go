package vhostuser

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports"
)

var featWanted = bit(featVersion1) | bit(featNetMRGRxBuf) | bit(featProtocolFeatures) | bit(featRingIndirectDesc) | bit(featRingEventIdx)

func TestFrontendTraffic(t *testing.T) {
	fds := openFDs(t)
	r := newPortRig(t, Config{})
	require.Equal(t, ports.Info{RxQueues: 1, TxQueues: 1, BatchSize: 256, Offload: true}, r.p.Info())
	require.False(t, r.p.Status().Connected)

	for _, features := range []uint64{featWanted, bit(featVersion1), 0} {
		f := dial(t, r.sock)
		f.handshake(features)
		r.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
		st := r.p.Status()
		require.True(t, st.Connected)
		require.Equal(t, f.features, st.Features)
		require.Equal(t, 1, st.MemoryRegions)

		// Guest to switch.
		want := [][]byte{frame(60, 1), frame(1514, 2), frame(200, 3)}
		for i, fr := range want {
			f.tx.txFrame(t, fr, f.hdr, i%2 == 1)
		}
		f.tx.publish()
		require.Equal(t, want, r.recv(t, 0, 3))
		require.Len(t, f.tx.reclaim(), 3)

		// Switch to guest.
		f.rx.postRx(64, 2048)
		require.Equal(t, 3, r.send(t, 0, want...))
		got, _ := f.rx.rxFrames(t, len(f.hdr))
		require.Equal(t, want, got)

		// GET_VRING_BASE stops the ring where it is.
		base := f.get(reqGetVringBase, state(1, 0))
		require.Equal(t, state(1, 3), base)
		r.waitStatus(t, "stopped", func(s Status) bool { return s.RunningRings == 1 })
		f.close()
		r.waitStatus(t, "disconnected", func(s Status) bool { return !s.Connected })
	}
	s := r.p.Stats()
	require.Equal(t, uint64(9), s.RxPackets)
	require.Equal(t, uint64(9), s.TxPackets)
	require.Equal(t, uint64(3), s.Connections)
	require.Zero(t, drops(s)+s.ProtocolErrors+s.Faults, "%+v", s)
	// Everything the front-ends sent was closed with their connections.
	require.Eventually(t, func() bool { return openFDs(t)-portFDs(r.p) == fds }, 2*time.Second, 10*time.Millisecond,
		"fds: %d at the start, %d now besides the port's own", fds, openFDs(t)-portFDs(r.p))
}

// portFDs is what a port keeps open itself: listener, epoll and eventfd.
func portFDs(p *Port) int { return 1 + len(p.pollFDs) + len(p.busyFDs) }

func TestFrontendResume(t *testing.T) {
	r := newPortRig(t, Config{})
	f := dial(t, r.sock)
	f.handshake(featWanted)
	f.tx.txFrame(t, frame(64, 1), f.hdr, false)
	f.tx.publish()
	require.Len(t, r.recv(t, 0, 1), 1)

	// Stopped (as QEMU stops a device): frames queued meanwhile wait.
	base := le.Uint32(f.get(reqGetVringBase, state(1, 0))[4:])
	require.Equal(t, uint32(1), base)
	f.tx.txFrame(t, frame(64, 2), f.hdr, false)
	f.tx.publish()
	require.Empty(t, r.recv(t, 0, 0))
	n, _ := r.rx[0].Rx(r.ids)
	require.Zero(t, n)

	// Restarted where it stopped: each frame comes exactly once.
	f.setupRing(1, f.tx, uint16(base))
	got := r.recv(t, 0, 1)
	require.Equal(t, [][]byte{frame(64, 2)}, got)
	require.Empty(t, r.recv(t, 0, 0))

	// A new memory table while running (memory hot-plug) keeps the rings.
	f.do(reqSetMemTable, f.memTable(), f.memfd)
	f.tx.txFrame(t, frame(64, 3), f.hdr, false)
	f.tx.publish()
	require.Equal(t, [][]byte{frame(64, 3)}, r.recv(t, 0, 1))

	// Disabled: the switch's frames are dropped as not ready.
	f.do(reqSetVringEnable, state(0, 0))
	f.rx.postRx(4, 2048)
	require.Zero(t, r.send(t, 0, frame(64, 4)))
	require.Equal(t, uint64(1), r.p.Stats().TxNotReady)
	f.do(reqSetVringEnable, state(0, 1))
	require.Equal(t, 1, r.send(t, 0, frame(64, 4)))
}

func TestFrontendMalformed(t *testing.T) {
	r := newPortRig(t, Config{})
	fds := openFDs(t)
	raw := func(req, flags uint32, payload []byte, nfds int) func(f *frontend) error {
		return func(f *frontend) error {
			var fds []int
			for range nfds {
				fds = append(fds, f.kick[0])
			}
			return f.send(req, flags, payload, fds...)
		}
	}
	hdrOnly := func(b []byte) func(f *frontend) error {
		return func(f *frontend) error { _, err := f.conn.Write(b); return err }
	}
	table := func(n uint32, size int) []byte {
		p := le.AppendUint32(nil, n)
		return append(p, make([]byte, 4+size)...)
	}
	for _, tc := range []struct {
		name string
		send func(f *frontend) error
	}{
		{"version 2", hdrOnly([]byte{1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0})},
		{"reply flag", raw(reqGetFeatures, flagReply, nil, 0)},
		{"huge payload", hdrOnly([]byte{1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0})},
		{"unknown request", raw(99, 0, nil, 0)},
		{"log base not offered", raw(reqSetLogBase, 0, make([]byte, 16), 1)},
		{"set features short", raw(reqSetFeatures, 0, make([]byte, 4), 0)},
		{"feature not offered", raw(reqSetFeatures, 0, u64(1<<34), 0)},
		{"protocol feature not offered", raw(reqSetProtocolFeatures, 0, u64(1<<12), 0)},
		{"memory table without regions", raw(reqSetMemTable, 0, table(0, 0), 0)},
		{"memory table of 9 regions", raw(reqSetMemTable, 0, table(9, 9*32), 8)},
		{"memory table missing descriptor", raw(reqSetMemTable, 0, table(1, 32), 0)},
		{"memory table extra descriptor", raw(reqSetMemTable, 0, table(1, 32), 2)},
		{"memory table size mismatch", raw(reqSetMemTable, 0, table(2, 32), 2)},
		{"memory region empty", raw(reqSetMemTable, 0, table(1, 32), 1)},
		{"memory region beyond its file", func(f *frontend) error {
			p := f.memTable()
			le.PutUint64(p[16:], feMemSize+4096)
			return f.send(reqSetMemTable, 0, p, f.memfd)
		}},
		{"memory region not mappable", func(f *frontend) error { return f.send(reqSetMemTable, 0, f.memTable(), f.kick[0]) }},
		{"overlapping regions", func(f *frontend) error {
			p := f.memTable()
			le.PutUint32(p, 2)
			p = append(p, p[8:40]...)
			return f.send(reqSetMemTable, 0, p, f.memfd, f.memfd)
		}},
		{"ring index out of range", raw(reqSetVringNum, 0, state(2, 256), 0)},
		{"ring size not a power of two", raw(reqSetVringNum, 0, state(0, 100), 0)},
		{"ring size too big", raw(reqSetVringNum, 0, state(0, 65536), 0)},
		{"ring base of a packed ring", raw(reqSetVringBase, 0, state(0, 0x18000), 0)},
		{"enable 2", raw(reqSetVringEnable, 0, state(0, 2), 0)},
		{"kick without descriptor", raw(reqSetVringKick, 0, u64(0), 0)},
		{"kick with reserved bits", raw(reqSetVringKick, 0, u64(1<<20), 1)},
		{"kick no-fd with descriptor", raw(reqSetVringCall, 0, u64(vringNoFD), 1)},
		{"call on ring 200", raw(reqSetVringCall, 0, u64(200), 1)},
		{"get vring base of ring 7", raw(reqGetVringBase, 0, state(7, 0), 0)},
		{"address short", raw(reqSetVringAddr, 0, make([]byte, 32), 0)},
		{"descriptors with get features", raw(reqGetFeatures, 0, nil, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.p.Stats().ProtocolErrors
			f := dial(t, r.sock)
			f.handshake(featWanted)
			require.NoError(t, tc.send(f))
			f.waitClosed()
			r.waitStatus(t, "disconnected", func(s Status) bool { return !s.Connected })
			require.Equal(t, before+1, r.p.Stats().ProtocolErrors)
			f.close()
		})
	}
	// The port still serves, and nothing leaked.
	f := dial(t, r.sock)
	f.handshake(featWanted)
	f.tx.txFrame(t, frame(64, 1), f.hdr, false)
	f.tx.publish()
	require.Len(t, r.recv(t, 0, 1), 1)
	f.close()
	r.waitStatus(t, "disconnected", func(s Status) bool { return !s.Connected })
	require.Eventually(t, func() bool { return openFDs(t) == fds }, 2*time.Second, 10*time.Millisecond,
		"fds: %d at the start, %d now", fds, openFDs(t))
}

// TestRingOutsideMemory sets up a ring whose addresses are not guest
// memory: it does not start, and the rest works.
func TestRingOutsideMemory(t *testing.T) {
	r := newPortRig(t, Config{})
	f := dial(t, r.sock)
	f.handshake(featWanted)
	a := le.AppendUint32(le.AppendUint32(nil, 0), 0)
	a = le.AppendUint64(a, feUVA+feMemSize-16) // the table runs off the end
	a = le.AppendUint64(a, feUVA+uint64(f.rx.used))
	a = le.AppendUint64(a, feUVA+uint64(f.rx.avail))
	a = le.AppendUint64(a, 0)
	f.do(reqSetVringAddr, a)
	r.waitStatus(t, "with one ring", func(s Status) bool { return s.RunningRings == 1 })
	require.Zero(t, r.send(t, 0, frame(64, 1)))
	require.Equal(t, uint64(1), r.p.Stats().TxNotReady)
	f.tx.txFrame(t, frame(64, 2), f.hdr, false)
	f.tx.publish()
	require.Len(t, r.recv(t, 0, 1), 1)
}

// TestMemoryShrunk has the front-end shrink its memory file under the
// switch: the worker's access faults, the fault is caught, the connection
// dropped and counted, and the port serves the next front-end.
func TestMemoryShrunk(t *testing.T) {
	r := newPortRig(t, Config{})
	f := dial(t, r.sock)
	f.handshake(featWanted)
	f.tx.txFrame(t, frame(64, 1), f.hdr, false)
	f.tx.publish()
	require.Len(t, r.recv(t, 0, 1), 1)
	require.NoError(t, unix.Ftruncate(f.memfd, 0))
	n, err := r.rx[0].Rx(r.ids)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Zero(t, r.send(t, 0, frame(64, 2)))
	f.waitClosed()
	r.waitStatus(t, "disconnected", func(s Status) bool { return !s.Connected })
	faults := r.p.Stats().Faults
	require.True(t, faults == 1 || faults == 2, "each ring faults once at most: %d", faults)
	f.close()

	f = dial(t, r.sock)
	f.handshake(featWanted)
	f.tx.txFrame(t, frame(64, 3), f.hdr, false)
	f.tx.publish()
	require.Len(t, r.recv(t, 0, 1), 1)
}

func TestAnnounce(t *testing.T) {
	mac := []byte{0x02, 0x42, 0xac, 0x11, 0x00, 0x07}
	r := newPortRig(t, Config{MAC: mac})
	f := dial(t, r.sock)
	f.handshake(featWanted)
	got := r.recv(t, 0, 1)
	require.Len(t, got, 1)
	want := make([]byte, 60)
	copy(want, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(want[6:], mac)
	copy(want[12:], []byte{0x80, 0x35, 0, 1, 8, 0, 6, 4, 0, 3})
	copy(want[22:], mac)
	copy(want[32:], mac)
	require.Equal(t, want, got[0])
	require.Empty(t, r.recv(t, 0, 0), "once")

	// SEND_RARP (after a live migration) announces the MAC it names.
	other := []byte{0x02, 0, 0, 0, 0, 9}
	f.do(reqSendRARP, append(append([]byte(nil), other...), 0, 0))
	got = r.recv(t, 0, 1)
	require.Len(t, got, 1)
	require.Equal(t, other, got[0][6:12])
}

func TestPollFDWakesOnKick(t *testing.T) {
	r := newPortRig(t, Config{})
	pfd := r.rx[0].(interface{ PollFD() int }).PollFD()
	f := dial(t, r.sock)
	f.handshake(featWanted)
	r.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
	readable := func() bool {
		fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		require.NoError(t, err)
		return n == 1
	}
	for range idleBeforeNotify + 1 { // idle: kicks wanted, stale ones drained
		r.rx[0].Rx(r.ids)
	}
	require.False(t, readable())
	f.tx.txFrame(t, frame(64, 1), f.hdr, false)
	f.tx.publish()
	require.Zero(t, f.tx.usedFlags()&vringUsedFNoNotify, "the guest is asked to kick")
	signal(f.kick[1], new([8]byte))
	require.True(t, readable(), "a kick wakes a worker waiting on the queue")
	require.Len(t, r.recv(t, 0, 1), 1)
}

func TestMultiQueue(t *testing.T) {
	r := newPortRig(t, Config{Queues: 2})
	require.Equal(t, ports.Info{RxQueues: 2, TxQueues: 2, BatchSize: 256, Offload: true}, r.p.Info())
	f := dial(t, r.sock)
	require.Equal(t, u64(2), f.get(reqGetQueueNum, nil))
	f.handshake(featWanted | bit(featNetMQ))
	require.NotZero(t, f.features&bit(featNetMQ))
	r.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
	// Only pair 0 runs: tx queue 1 shares its receive ring.
	f.rx.postRx(8, 2048)
	require.Equal(t, 1, r.send(t, 0, frame(64, 1)))
	require.Equal(t, 1, r.send(t, 1, frame(64, 2)))
	got, _ := f.rx.rxFrames(t, len(f.hdr))
	require.Equal(t, [][]byte{frame(64, 1), frame(64, 2)}, got)
	n, _ := r.rx[1].Rx(r.ids)
	require.Zero(t, n)
	_, err := r.p.OpenTx(1, r.pool)
	require.ErrorIs(t, err, ports.ErrQueueInUse)
	_, err = r.p.OpenRx(2, r.pool)
	require.ErrorIs(t, err, ports.ErrNoQueue)
}

func TestCloseWithFrontend(t *testing.T) {
	r := newPortRig(t, Config{})
	f := dial(t, r.sock)
	f.handshake(featWanted)
	r.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
	require.Error(t, r.p.Close(), "queues still open")
	r.closeQueues(t)
	start := time.Now()
	require.NoError(t, r.p.Close())
	require.Less(t, time.Since(start), 2*time.Second)
	f.waitClosed()
	require.False(t, r.p.Status().Connected)
	require.ErrorIs(t, r.p.Close(), ports.ErrClosed)
	r.rx = nil // closed already
}

// TestFrontendNotReading floods the port with requests and never reads a
// reply: the port stays responsive and Close does not hang.
func TestFrontendNotReading(t *testing.T) {
	r := newPortRig(t, Config{})
	f := dial(t, r.sock)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if f.send(reqGetFeatures, 0, nil) != nil {
				return
			}
		}
	}()
	r.waitStatus(t, "connected", func(s Status) bool { return s.Connected })
	time.Sleep(50 * time.Millisecond)
	r.closeQueues(t)
	start := time.Now()
	require.NoError(t, r.p.Close())
	require.Less(t, time.Since(start), 2*time.Second)
	r.rx = nil
	<-done
}
