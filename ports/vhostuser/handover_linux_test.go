package vhostuser

import (
	"encoding/json"
	"log/slog"
	"math/rand"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
)

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// isOpen reports whether fd is an open descriptor.
func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// roundTrip passes v through JSON, as the takeover state does.
func roundTrip[T any](t testing.TB, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out T
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.DiscardHandler)
}

// adoptRig opens an adopted port's queues on a pool of its own (the
// adopter's), and closes all at cleanup.
func adoptRig(t testing.TB, p *Port, sock string) *portRig {
	t.Helper()
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 1024})
	require.NoError(t, err)
	r := &portRig{p: p, sock: sock, pool: pool, ids: make([]pipeline.BufID, pipeline.VectorSize)}
	for q := range p.Info().RxQueues {
		rq, err := p.OpenRx(q, pool)
		require.NoError(t, err)
		tq, err := p.OpenTx(q, pool)
		require.NoError(t, err)
		r.rx, r.tx = append(r.rx, rq), append(r.tx, tq)
	}
	t.Cleanup(func() {
		r.closeQueues(t)
		p.Close()
		require.Equal(t, pool.Size(), pool.Available(), "buffers leaked")
		pool.Close()
	})
	return r
}

// closeGiver releases and closes a giver's rig as the daemon does after
// the commit: its queues, then the port, leaving the socket in place.
func closeGiver(t testing.TB, r *portRig) {
	t.Helper()
	r.p.Release()
	r.closeQueues(t)
	r.rx, r.tx = nil, nil // the rig's cleanup: Close says ErrClosed
	require.NoError(t, r.p.Close())
	_, err := os.Lstat(r.sock)
	require.NoError(t, err, "a released port removed the socket")
}

// TestHandoverFrontend hands a port that serves a scripted front-end to a
// second Port in this process, through what another process would get
// (duplicated descriptors, JSON). The giver forwards until its late state
// is taken; frames the guest sends while neither polls are read by the
// adopter, once; requests the front-end sends after Handover (one with a
// descriptor) are handled by the adopter, not the giver; the giver's
// release and close leave the connection up; the adopter's close ends it,
// and nothing leaks.
func TestHandoverFrontend(t *testing.T) {
	fds0 := openFDs(t)
	ra := newPortRig(t, Config{Name: "a"})
	f := dial(t, ra.sock)
	f.handshake(featWanted)
	ra.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })

	sent := 0
	guestSends := func(n int) [][]byte {
		var fr [][]byte
		for range n {
			sent++
			fr = append(fr, frame(60+sent, byte(sent)))
			f.tx.txFrame(t, fr[len(fr)-1], f.hdr, sent%2 == 0)
		}
		f.tx.publish()
		return fr
	}
	want := guestSends(3)
	require.Equal(t, want, ra.recv(t, 0, 3))
	f.rx.postRx(64, 2048)
	require.Equal(t, 2, ra.send(t, 0, frame(100, 1), frame(100, 2)))

	h, fds, err := ra.p.Handover()
	require.NoError(t, err)
	require.Equal(t, 1, h.Conn)
	require.Len(t, h.Regions, 1)
	require.Len(t, fds, 2+1+4) // listener, connection, memfd, two kicks, two calls
	h = roundTrip(t, h)
	sentFDs := nettest.DupFDs(t, fds)

	// The giver still forwards.
	want = guestSends(2)
	require.Equal(t, want, ra.recv(t, 0, 2))
	require.Equal(t, 1, ra.send(t, 0, frame(100, 3)))
	// The front-end's requests now wait in the socket: ring 0 disabled
	// and a new call eventfd for it, then a request with a reply, whose
	// reply tells that the two before were handled.
	newCall := eventfdNoCleanup(t)
	require.NoError(t, f.send(reqSetVringEnable, 0, state(0, 0)))
	require.NoError(t, f.send(reqSetVringCall, 0, u64(0), newCall))
	require.NoError(t, f.send(reqGetQueueNum, 0, nil))

	pb, err := Adopt(Config{Name: "b", Logger: quietLogger()}, h, sentFDs)
	require.NoError(t, err)
	rb := adoptRig(t, pb, ra.sock)
	st := pb.Status()
	require.True(t, st.Connected)
	require.Equal(t, f.features, st.Features)
	require.Equal(t, 1, st.MemoryRegions)
	require.Zero(t, st.RunningRings, "rings started before Restore")
	require.Zero(t, rb.recv(t, 0, 0))

	// The giver's workers stop; frames sent now wait in the ring.
	late := roundTrip(t, ra.p.LateState())
	require.Equal(t, []RingState{{VQ: 0, LastAvail: 3, LastUsed: 3}, {VQ: 1, LastAvail: 5, LastUsed: 5}}, late.Rings)
	require.Equal(t, 2, ra.p.Status().RunningRings, "the giver handled a request after Handover")
	want = guestSends(4)
	closeGiver(t, ra)

	require.NoError(t, pb.Restore(late))
	require.Equal(t, want, rb.recv(t, 0, 4))
	require.Empty(t, rb.recv(t, 0, 0), "a frame came twice")
	require.Equal(t, uint64(1), le.Uint64(f.reply(reqGetQueueNum)))
	require.Equal(t, 1, pb.Status().RunningRings, "SET_VRING_ENABLE 0 sent during the handover")
	pb.b.mu.Lock()
	callFD := pb.b.vqs[0].call
	pb.b.mu.Unlock()
	require.True(t, sameFile(t, callFD, newCall), "SET_VRING_CALL sent during the handover not taken")
	unix.Close(newCall)
	f.do(reqSetVringEnable, state(0, 1))
	require.Equal(t, 2, pb.Status().RunningRings)

	// Both ways through the adopter.
	want = guestSends(3)
	require.Equal(t, want, rb.recv(t, 0, 3))
	f.rx.postRx(8, 2048)
	require.Equal(t, 2, rb.send(t, 0, frame(300, 7), frame(400, 8)))
	got, _ := f.rx.rxFrames(t, len(f.hdr))
	require.Equal(t, [][]byte{frame(100, 1), frame(100, 2), frame(100, 3), frame(300, 7), frame(400, 8)}, got)
	base := le.Uint32(f.get(reqGetVringBase, state(1, 0))[4:])
	require.Equal(t, uint32(sent), base, "the guest's transmit ring resumed elsewhere than it stopped")

	// Closing the adopter ends the connection and removes the socket.
	rb.closeQueues(t)
	rb.rx, rb.tx = nil, nil
	require.NoError(t, pb.Close())
	f.waitClosed()
	_, err = os.Lstat(ra.sock)
	require.ErrorIs(t, err, os.ErrNotExist)
	f.close()
	require.Eventually(t, func() bool { return openFDs(t) == fds0 }, 2*time.Second, 10*time.Millisecond,
		"fds: %d at the start, %d now", fds0, openFDs(t))
}

// sameFile reports whether two descriptors are the same open file.
func sameFile(t testing.TB, a, b int) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	require.NoError(t, unix.Fstat(a, &sa))
	require.NoError(t, unix.Fstat(b, &sb))
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// TestHandoverAbandoned: an adopter that gives up (Release, Close) leaves
// the socket and the connection; the giver takes back and answers the
// requests sent meanwhile; a second takeover then works.
func TestHandoverAbandoned(t *testing.T) {
	ra := newPortRig(t, Config{Name: "a"})
	f := dial(t, ra.sock)
	f.handshake(featWanted)
	ra.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })

	h, fds, err := ra.p.Handover()
	require.NoError(t, err)
	pb, err := Adopt(Config{Name: "b", Logger: quietLogger()}, roundTrip(t, h), nettest.DupFDs(t, fds))
	require.NoError(t, err)
	require.NoError(t, f.send(reqGetQueueNum, 0, nil))
	pb.Release()
	require.NoError(t, pb.Close())
	_, err = os.Lstat(ra.sock)
	require.NoError(t, err, "an adopter that gave up removed the socket")

	require.NoError(t, ra.p.TakeBack())
	require.Equal(t, uint64(1), le.Uint64(f.reply(reqGetQueueNum)))
	f.tx.txFrame(t, frame(64, 1), f.hdr, false)
	f.tx.publish()
	require.Len(t, ra.recv(t, 0, 1), 1)
	f.do(reqSetVringEnable, state(0, 0))
	require.Equal(t, 1, ra.p.Status().RunningRings)
	f.do(reqSetVringEnable, state(0, 1))

	// Again, to the end.
	h, fds, err = ra.p.Handover()
	require.NoError(t, err)
	pc, err := Adopt(Config{Name: "c", Logger: quietLogger()}, roundTrip(t, h), nettest.DupFDs(t, fds))
	require.NoError(t, err)
	rc := adoptRig(t, pc, ra.sock)
	late := ra.p.LateState()
	closeGiver(t, ra)
	require.NoError(t, pc.Restore(late))
	f.tx.txFrame(t, frame(64, 2), f.hdr, false)
	f.tx.publish()
	require.Equal(t, [][]byte{frame(64, 2)}, rc.recv(t, 0, 1))
}

// TestHandoverIdle hands over a port with no front-end: the adopter
// accepts the next one, including one that connected in between (it
// waited in the listen backlog).
func TestHandoverIdle(t *testing.T) {
	ra := newPortRig(t, Config{Name: "a", Queues: 2})
	h, fds, err := ra.p.Handover()
	require.NoError(t, err)
	require.Equal(t, -1, h.Conn)
	require.Len(t, fds, 1)
	pb, err := Adopt(Config{Name: "b", Logger: quietLogger()}, roundTrip(t, h), nettest.DupFDs(t, fds))
	require.NoError(t, err)
	rb := adoptRig(t, pb, ra.sock)
	f := dial(t, ra.sock) // in the backlog: neither accepts
	closeGiver(t, ra)
	require.NoError(t, pb.Restore(pb.LateState()))
	f.handshake(featWanted)
	rb.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
	f.tx.txFrame(t, frame(64, 1), f.hdr, false)
	f.tx.publish()
	require.Len(t, rb.recv(t, 0, 1), 1)
}

// handedOver sets up a port with a front-end and pair 0 running, and
// returns its handover (JSON round-tripped) and descriptors.
func handedOver(t *testing.T, cfg Config) (*portRig, *frontend, Handover, []int) {
	t.Helper()
	ra := newPortRig(t, cfg)
	f := dial(t, ra.sock)
	f.handshake(featWanted)
	ra.waitStatus(t, "running", func(s Status) bool { return s.RunningRings == 2 })
	h, fds, err := ra.p.Handover()
	require.NoError(t, err)
	t.Cleanup(func() { ra.p.TakeBack() })
	return ra, f, roundTrip(t, h), fds
}

// TestAdoptRefuses: a description or descriptor that does not fit is
// refused with ErrBadHandover, the caller's descriptors stay open and
// nothing leaks; the good one is adopted afterwards.
func TestAdoptRefuses(t *testing.T) {
	ra, f, h, fds := handedOver(t, Config{Name: "a"})
	small, err := unix.MemfdCreate("small", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(small) })
	require.NoError(t, unix.Ftruncate(small, 4096))
	other, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(other) })
	kick1 := h.Rings[1].Kick
	for _, tc := range []struct {
		name string
		mod  func(h *Handover, fds []int) []int
		cfg  Config
	}{
		{"one descriptor more", func(h *Handover, fds []int) []int { return append(fds, f.kick[0]) }, Config{}},
		{"one descriptor less", func(h *Handover, fds []int) []int { return fds[:len(fds)-1] }, Config{}},
		{"listener is the connection", func(h *Handover, fds []int) []int {
			h.Listener, h.Conn = h.Conn, h.Listener
			return fds
		}, Config{}},
		{"listener is an eventfd", func(h *Handover, fds []int) []int { fds[h.Listener] = f.kick[0]; return fds }, Config{}},
		{"connection not connected", func(h *Handover, fds []int) []int { fds[h.Conn] = other; return fds }, Config{}},
		{"another socket path", func(h *Handover, fds []int) []int { h.Socket += "x"; return fds }, Config{}},
		{"configured elsewhere", func(h *Handover, fds []int) []int { return fds }, Config{Socket: "/tmp/elsewhere.sock"}},
		{"memory file too short", func(h *Handover, fds []int) []int { fds[h.Regions[0].FD] = small; return fds }, Config{}},
		{"memory is an eventfd", func(h *Handover, fds []int) []int { fds[h.Regions[0].FD] = f.kick[0]; return fds }, Config{}},
		{"region beyond its file", func(h *Handover, fds []int) []int { h.Regions[0].Size += 1 << 20; return fds }, Config{}},
		{"empty region", func(h *Handover, fds []int) []int { h.Regions[0].Size = 0; return fds }, Config{}},
		{"kick is a memfd", func(h *Handover, fds []int) []int { fds[kick1] = small; return fds }, Config{}},
		{"kick index out of range", func(h *Handover, fds []int) []int { h.Rings[1].Kick = 99; return fds }, Config{}},
		{"descriptor used twice", func(h *Handover, fds []int) []int { h.Rings[1].Call = h.Rings[1].Kick; return fds }, Config{}},
		{"feature not offered", func(h *Handover, fds []int) []int { h.Features |= 1 << 62; return fds }, Config{}},
		{"offloads negotiated, port without", func(h *Handover, fds []int) []int { h.NoOffload = true; h.Features |= bit(featNetCsum); return fds }, Config{}},
		{"protocol feature not offered", func(h *Handover, fds []int) []int { h.ProtocolFeatures |= 1 << 20; return fds }, Config{}},
		{"ring size 100", func(h *Handover, fds []int) []int { h.Rings[0].Num = 100; return fds }, Config{}},
		{"more queues than rings", func(h *Handover, fds []int) []int { h.Queues = 2; return fds }, Config{}},
		{"no queues", func(h *Handover, fds []int) []int { h.Queues = 0; h.Rings = nil; return fds }, Config{}},
		{"a running ring that cannot run", func(h *Handover, fds []int) []int { h.Rings[1].Avail = 0x1000; return fds }, Config{}},
		{"a stopped ring that would run", func(h *Handover, fds []int) []int { h.Rings[1].Running = false; return fds }, Config{}},
		{"state without a connection", func(h *Handover, fds []int) []int {
			fds = append(fds[:1], fds[2:]...)
			h.Conn = -1
			for i := range h.Regions {
				h.Regions[i].FD--
			}
			for i := range h.Rings {
				h.Rings[i].Kick--
				h.Rings[i].Call--
			}
			return fds
		}, Config{}},
		{"bad batch size", func(h *Handover, fds []int) []int { h.BatchSize = 1000; return fds }, Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n0 := openFDs(t)
			hc := roundTrip(t, h) // a deep copy
			given := tc.mod(&hc, append([]int(nil), fds...))
			given = nettest.DupFDs(t, given)
			defer closeAll(given)
			cfg := tc.cfg
			cfg.Name, cfg.Logger = "b", quietLogger()
			p, err := Adopt(cfg, hc, given)
			require.ErrorIs(t, err, ErrBadHandover)
			require.Nil(t, p)
			t.Log(err)
			for _, fd := range given {
				require.True(t, isOpen(fd), "descriptor %d closed by a refusal", fd)
			}
			closeAll(given)
			given = nil
			require.Eventually(t, func() bool { return openFDs(t) == n0 }, 2*time.Second, 10*time.Millisecond,
				"fds: %d before, %d after", n0, openFDs(t))
		})
	}
	// The giver was not disturbed, and the good handover is adopted.
	require.Equal(t, 2, ra.p.Status().RunningRings)
	pb, err := Adopt(Config{Name: "b", Logger: quietLogger()}, h, nettest.DupFDs(t, fds))
	require.NoError(t, err)
	pb.Release()
	require.NoError(t, pb.Close())
}

// TestRestoreRefuses: a late state that does not name each running ring
// exactly once, or names another, is refused and starts nothing; the good
// one is taken once.
func TestRestoreRefuses(t *testing.T) {
	ra, f, h, fds := handedOver(t, Config{Name: "a", Queues: 2})
	pb, err := Adopt(Config{Name: "b", Logger: quietLogger()}, h, nettest.DupFDs(t, fds))
	require.NoError(t, err)
	rb := adoptRig(t, pb, ra.sock)
	f.tx.txFrame(t, frame(64, 1), f.hdr, false)
	f.tx.publish()
	require.Len(t, ra.recv(t, 0, 1), 1)
	late := ra.p.LateState()
	require.Len(t, late.Rings, 2) // pair 1 was never set up
	for _, tc := range []struct {
		name string
		late []RingState
	}{
		{"none", nil},
		{"one missing", late.Rings[:1]},
		{"twice", append(append([]RingState(nil), late.Rings...), late.Rings[1])},
		{"a ring that does not run", append(append([]RingState(nil), late.Rings...), RingState{VQ: 3})},
		{"out of range", append(append([]RingState(nil), late.Rings...), RingState{VQ: 4})},
		{"negative", append(append([]RingState(nil), late.Rings...), RingState{VQ: -1})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pb.Restore(LateState{Rings: tc.late})
			require.ErrorIs(t, err, ErrBadHandover)
			require.Zero(t, pb.Status().RunningRings)
		})
	}
	var ls LateState
	require.Error(t, json.Unmarshal([]byte(`{"rings":[{"vq":1,"last_avail":70000}]}`), &ls), "an index beyond 16 bits")

	closeGiver(t, ra)
	require.NoError(t, pb.Restore(late))
	require.Equal(t, 2, pb.Status().RunningRings)
	require.ErrorIs(t, pb.Restore(late), ErrBadHandover, "restored twice")
	f.tx.txFrame(t, frame(64, 2), f.hdr, false)
	f.tx.publish()
	require.Equal(t, [][]byte{frame(64, 2)}, rb.recv(t, 0, 1))
}

// TestAdoptMutations adopts randomly altered handovers: each is adopted
// (and released) or refused with ErrBadHandover, none panics, and no
// descriptor or mapping is left behind.
func TestAdoptMutations(t *testing.T) {
	_, f, h, fds := handedOver(t, Config{Name: "a", Queues: 2})
	rng := rand.New(rand.NewSource(1))
	vals := []uint64{0, 1, 2, 3, 4, 255, 256, 4096, 1 << 20, feUVA, feGPA, feMemSize, 1<<63 - 1, 1 << 63, ^uint64(0)}
	pick := func() uint64 { return vals[rng.Intn(len(vals))] }
	idx := func() int { return rng.Intn(len(fds)+3) - 2 }
	mutators := []func(h *Handover){
		func(h *Handover) { h.Queues = int(pick() % 70) },
		func(h *Handover) { h.BatchSize = int(pick() % 300) },
		func(h *Handover) { h.NoOffload = !h.NoOffload },
		func(h *Handover) { h.Listener = idx() },
		func(h *Handover) { h.Conn = idx() },
		func(h *Handover) { h.Features ^= 1 << rng.Intn(64) },
		func(h *Handover) { h.ProtocolFeatures ^= 1 << rng.Intn(64) },
		func(h *Handover) { h.Regions = append(h.Regions, h.Regions[0]) },
		func(h *Handover) { h.Regions = nil },
		func(h *Handover) { h.Regions[0].GPA = pick() },
		func(h *Handover) { h.Regions[0].UVA = pick() },
		func(h *Handover) { h.Regions[0].Size = pick() },
		func(h *Handover) { h.Regions[0].Offset = pick() },
		func(h *Handover) { h.Regions[0].FD = idx() },
		func(h *Handover) { h.Rings = h.Rings[:rng.Intn(len(h.Rings)+1)] },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Num = uint32(pick()) },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Desc = pick() },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Avail = pick() },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Used = pick() },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Base = uint16(pick()) },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.HasAddr = !r.HasAddr },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Started = !r.Started },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Enabled = !r.Enabled },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Running = !r.Running },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Kick = idx() },
		func(h *Handover) { r := &h.Rings[rng.Intn(len(h.Rings))]; r.Call = idx() },
	}
	n0 := openFDs(t)
	adopted, refused := 0, 0
	for range 400 {
		hc := roundTrip(t, h)
		for range 1 + rng.Intn(3) {
			if len(hc.Regions) == 0 || len(hc.Rings) == 0 {
				break
			}
			mutators[rng.Intn(len(mutators))](&hc)
		}
		given := nettest.DupFDs(t, fds)
		if rng.Intn(8) == 0 { // a descriptor of the wrong kind somewhere
			i := rng.Intn(len(given))
			unix.Close(given[i])
			d, err := unix.FcntlInt(uintptr(f.kick[0]), unix.F_DUPFD_CLOEXEC, 0)
			require.NoError(t, err)
			given[i] = d
		}
		p, err := Adopt(Config{Name: "b", Logger: quietLogger()}, hc, given)
		if err != nil {
			require.ErrorIs(t, err, ErrBadHandover)
			closeAll(given)
			refused++
			continue
		}
		adopted++
		p.Release()
		require.NoError(t, p.Close())
	}
	t.Logf("%d adopted, %d refused", adopted, refused)
	require.NotZero(t, refused)
	require.Eventually(t, func() bool { return openFDs(t) == n0 }, 2*time.Second, 10*time.Millisecond,
		"fds: %d before, %d after", n0, openFDs(t))
}
