package afxdp

import (
	"encoding/json"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/internal/fastpath"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

func sharedPool(t *testing.T) *pipeline.Pool {
	p, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 4096, Shared: true})
	require.NoError(t, err)
	return p
}

func xdpAttached(t *testing.T, dev string) bool { return xdpProg(t, dev) != 0 }

// xdpProg is the ID of the XDP program attached to dev, or 0.
func xdpProg(t *testing.T, dev string) uint32 {
	l, err := netlink.LinkByName(dev)
	require.NoError(t, err)
	if x := l.Attrs().Xdp; x != nil && x.Attached {
		return x.ProgId
	}
	return 0
}

func roundTrip(t *testing.T, v, back any) {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, back))
}

// echoRequests counts ICMP echo requests to dst among frames.
func echoRequests(pool *pipeline.Pool, ids []pipeline.BufID, dst net.IP) int {
	n := 0
	for _, id := range ids {
		p := gopacket.NewPacket(pool.Packet(id), layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if ip != nil && ic != nil && ip.DstIP.Equal(dst) && ic.TypeCode.Type() == layers.ICMPv4TypeEchoRequest {
			n++
		}
	}
	return n
}

// TestHandover hands a running port to a second Port in this process,
// through everything another process would get: the descriptors
// (duplicated, as SCM_RIGHTS does), the JSON description and the worker
// pool adopted from its memfd, the giver's own pool unmapped. Frames that
// arrive while neither polls wait in the ring and are read by the adopter;
// replies go out through the adopted socket; the program stays attached
// while the giver closes; and when the adopter closes, every frame of the
// pool is back (none lost, none twice).
func TestHandover(t *testing.T) {
	nettest.NeedRoot(t)
	for _, fp := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "fastpath"}[fp], func(t *testing.T) { testHandover(t, fp) })
	}
}

// testHandover: with fp, both processes run the XDP fast path (each its
// own maps): the adopter swaps its fast-path program into the link.
func testHandover(t *testing.T, fp bool) {
	var fp1, fp2 *FastPath
	if fp {
		var err error
		fp1, err = NewFastPath(FastPathConfig{})
		require.NoError(t, err)
		t.Cleanup(func() { fp1.Close() })
		fp2, err = NewFastPath(FastPathConfig{})
		require.NoError(t, err)
		t.Cleanup(func() { fp2.Close() })
	}
	ns := nettest.NewNS(t)
	host := "vsh" + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.81.0.1/24", 1)
	peer := net.IP{10, 81, 0, 2}
	r := nettest.NewResponder(peer, net.HardwareAddr{2, 0, 0, 0x81, 0, 2})
	serve := func(rx pipeline.RxQueue, tx pipeline.TxQueue, pool *pipeline.Pool) {
		t.Helper()
		ping := ns.Command("ping", "-c", "3", "-i", "0.2", "-W", "2", peer.String())
		out := make(chan error, 1)
		var pingOut []byte
		go func() { var err error; pingOut, err = ping.CombinedOutput(); out <- err }()
		require.NoError(t, r.Serve(t, rx, tx, pool, out, 15*time.Second), "ping failed: %s", pingOut)
	}

	old, err := New(Config{Ifname: host, RingSize: 512, FastPath: fp1})
	require.NoError(t, err)
	_, isFP := old.prog.(*fastpath.Program)
	require.Equal(t, fp, isFP)
	pool1 := sharedPool(t)
	rx1, err := old.OpenRx(0, pool1)
	require.NoError(t, err)
	tx1, err := old.OpenTx(0, pool1)
	require.NoError(t, err)
	serve(rx1, tx1, pool1)

	// The taker adopts the port and its pool while the giver forwards on
	// (vswitchd's order): what it maps here moves on before it polls.
	h, fds, err := old.Handover()
	require.NoError(t, err)
	require.Len(t, fds, 2)
	require.Len(t, h.Sockets, 1)
	pf, err := pool1.Handover()
	require.NoError(t, err)
	var back Handover
	roundTrip(t, h, &back)
	pool2, err := pipeline.AdoptPool(pf, 4096)
	require.NoError(t, err)
	pf.Close()
	t.Cleanup(func() { pool2.Close() })
	giverProg := xdpProg(t, host)
	p, err := Adopt(Config{Name: "new", FastPath: fp2}, back, nettest.DupFDs(t, fds))
	require.NoError(t, err)
	_, isFP = p.prog.(*fastpath.Program)
	require.Equal(t, fp, isFP, "the adopter runs its own kind of program")
	require.Equal(t, giverProg, xdpProg(t, host), "Adopt leaves the giver's program in the link")
	rx2, err := p.OpenRx(0, pool2)
	require.NoError(t, err)
	tx2, err := p.OpenTx(0, pool2)
	require.NoError(t, err)
	serve(rx1, tx1, pool1) // the giver's rings move on
	// vswitchd swaps once the learned MACs are in the adopter's maps,
	// while the giver still polls.
	require.NoError(t, p.Swap())
	require.NotEqual(t, giverProg, xdpProg(t, host), "Swap puts the adopter's program in")
	serve(rx1, tx1, pool1) // through the adopter's program, to the same socket

	// The giver stops polling; the namespace keeps sending (to a
	// neighbor it need not resolve, so every packet is an echo request).
	out, err := ns.Command("ip", "neigh", "replace", peer.String(), "lladdr", "02:00:00:00:81:02", "dev", "eth0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = ns.Command("ping", "-c", "40", "-i", "0.005", "-W", "0.1", peer.String()).CombinedOutput()
	require.Error(t, err, "nobody answers: %s", out)

	states := old.SocketStates()
	require.Len(t, states, 1)
	require.Positive(t, states[0].InFill)
	free := pool1.FreeIDs()
	var backStates []SocketState
	roundTrip(t, states, &backStates)
	require.NoError(t, pool2.Restore(free))
	require.NoError(t, p.Restore(backStates))

	// The giver goes away entirely, pool included.
	old.Release()
	require.NoError(t, rx1.Close())
	require.NoError(t, tx1.Close())
	require.NoError(t, old.Close())
	require.NoError(t, pool1.Close())
	require.True(t, xdpAttached(t, host), "the adopter's link keeps the program attached")

	ids := make([]pipeline.BufID, pipeline.VectorSize)
	waiting := 0
	for range 10 {
		n, err := rx2.Rx(ids)
		require.NoError(t, err)
		waiting += echoRequests(pool2, ids[:n], peer)
		pool2.FreeN(ids[:n])
	}
	require.Equal(t, 40, waiting, "the frames that arrived between the two pollers")

	out, err = ns.Command("ip", "neigh", "del", peer.String(), "dev", "eth0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	serve(rx2, tx2, pool2) // ARP and echo replies through the adopted socket

	require.NoError(t, rx2.Close())
	require.NoError(t, tx2.Close())
	pool2.Reclaim()
	require.Equal(t, pool2.Size(), pool2.Available(), "every frame of the pool came back: the giver's free list plus what its socket held")
	require.NoError(t, p.Close())
	require.False(t, xdpAttached(t, host), "the adopter's Close detaches the program")
}

// TestAdoptRefuses: wrong descriptors or a wrong description are refused
// and the caller's descriptors stay open; a private pool cannot be handed
// over; an adopted socket opens only on the pool of its arena.
func TestAdoptRefuses(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	host := "vsr" + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.82.0.1/24", 1)

	private, err := New(Config{Ifname: host, RingSize: 512})
	require.NoError(t, err)
	pp := newPool(t)
	rx, err := private.OpenRx(0, pp)
	require.NoError(t, err)
	_, _, err = private.Handover()
	require.ErrorIs(t, err, ErrNoHandover)
	require.NoError(t, rx.Close())
	require.NoError(t, private.Close())

	old, err := New(Config{Ifname: host, RingSize: 512})
	require.NoError(t, err)
	t.Cleanup(func() { old.Close() })
	pool := sharedPool(t)
	t.Cleanup(func() { pool.Close() })
	rx, err = old.OpenRx(0, pool)
	require.NoError(t, err)
	t.Cleanup(func() { rx.Close() })
	h, fds, err := old.Handover()
	require.NoError(t, err)

	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()
	open := func(fds []int) {
		for _, fd := range fds {
			_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			require.NoError(t, err, "descriptor %d was closed", fd)
		}
	}
	bad := func(mut func(*Handover, []int) []int) {
		t.Helper()
		hh := h
		hh.Sockets = append([]SocketHandover(nil), h.Sockets...)
		mine := nettest.DupFDs(t, fds)
		defer func() {
			for _, fd := range mine {
				unix.Close(fd)
			}
		}()
		use := mut(&hh, mine)
		_, err := Adopt(Config{}, hh, use)
		require.Error(t, err)
		open(mine)
	}
	bad(func(h *Handover, f []int) []int { return f[:1] })                     // a socket missing
	bad(func(h *Handover, f []int) []int { return []int{f[0], int(pr.Fd())} }) // not an AF_XDP socket
	bad(func(h *Handover, f []int) []int { return []int{f[1], f[0]} })         // link and socket swapped
	bad(func(h *Handover, f []int) []int { return []int{int(pr.Fd()), f[1]} }) // not a link
	bad(func(h *Handover, f []int) []int { h.Index++; return f })              // another device
	bad(func(h *Handover, f []int) []int { h.RingSize = 100; return f })       // not a ring size
	bad(func(h *Handover, f []int) []int { h.Sockets[0].Queue = 5; return f }) // a queue the port lacks

	// Adopted, the socket opens only on the pool of its arena. The
	// adopter's own program runs on the link from Swap on, until the
	// giver takes it back (an abandoned takeover).
	mine := xdpProg(t, host)
	require.NotZero(t, mine)
	p, err := Adopt(Config{Name: "new"}, h, nettest.DupFDs(t, fds))
	require.NoError(t, err)
	require.NoError(t, p.Swap())
	theirs := xdpProg(t, host)
	require.NotZero(t, theirs)
	require.NotEqual(t, mine, theirs, "the adopter swapped its program in")
	p.Release() // the giver still runs: leave its sockets alone
	other := sharedPool(t)
	t.Cleanup(func() { other.Close() })
	_, err = p.OpenRx(0, other)
	require.ErrorContains(t, err, "arena")
	rx2, err := p.OpenRx(0, pool)
	require.NoError(t, err)

	// Restore refuses states that do not fit, and changes nothing.
	st := old.SocketStates()
	for name, bad := range map[string][]SocketState{
		"no state":        nil,
		"unknown queue":   {{Queue: 3, Owned: st[0].Owned}},
		"listed twice":    {st[0], st[0]},
		"counts differ":   {{Queue: 0, InFill: st[0].InFill + 1, Owned: st[0].Owned}},
		"short ownership": {{Queue: 0, Owned: st[0].Owned[:1]}},
	} {
		require.Error(t, p.Restore(bad), name)
	}
	require.Zero(t, p.SocketStates()[0].InFill, "refused restores changed nothing")
	require.NoError(t, p.Restore(st))
	require.Equal(t, st, p.SocketStates())
	require.Error(t, p.Restore(st), "restored once")
	require.NoError(t, rx2.Close())
	require.NoError(t, p.Close())
	require.Equal(t, theirs, xdpProg(t, host), "the link lives on in the giver, with the adopter's program")
	require.NoError(t, old.TakeBack())
	require.Equal(t, mine, xdpProg(t, host), "the giver's own program is back")
}

// TestAdoptSwap: Adopt leaves the giver's program in the link and Swap
// puts the adopter's in, once (Swap again changes nothing). An adopted
// port not swapped in yet cannot be handed on or take a program back,
// and it closes in every order (released or not, a queue opened or not)
// without detaching the giver's program, which forwards on. Swapped in
// and then abandoned, the adopter's program stays in the link after the
// adopter closes, until the giver takes its own back.
func TestAdoptSwap(t *testing.T) {
	nettest.NeedRoot(t)
	for _, fp := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "fastpath"}[fp], func(t *testing.T) { testAdoptSwap(t, fp) })
	}
}

func testAdoptSwap(t *testing.T, fp bool) {
	newFP := func() *FastPath {
		if !fp {
			return nil
		}
		f, err := NewFastPath(FastPathConfig{})
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	ns := nettest.NewNS(t)
	host := "vsw" + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.84.0.1/24", 1)
	peer := net.IP{10, 84, 0, 2}
	r := nettest.NewResponder(peer, net.HardwareAddr{2, 0, 0, 0x84, 0, 2})

	old, err := New(Config{Ifname: host, RingSize: 512, FastPath: newFP()})
	require.NoError(t, err)
	pool := sharedPool(t)
	rx, err := old.OpenRx(0, pool)
	require.NoError(t, err)
	tx, err := old.OpenTx(0, pool)
	require.NoError(t, err)
	serve := func(what string) {
		t.Helper()
		ping := ns.Command("ping", "-c", "2", "-i", "0.2", "-W", "2", peer.String())
		out := make(chan error, 1)
		var pingOut []byte
		go func() { var err error; pingOut, err = ping.CombinedOutput(); out <- err }()
		require.NoError(t, r.Serve(t, rx, tx, pool, out, 15*time.Second), "%s: the giver does not forward: %s", what, pingOut)
	}
	serve("before")
	mine := xdpProg(t, host)
	require.NotZero(t, mine)
	adopt := func() *Port {
		t.Helper()
		h, fds, err := old.Handover()
		require.NoError(t, err)
		p, err := Adopt(Config{Name: "new", FastPath: newFP()}, h, nettest.DupFDs(t, fds))
		require.NoError(t, err)
		_, isFP := p.prog.(*fastpath.Program)
		require.Equal(t, fp, isFP)
		require.Equal(t, mine, xdpProg(t, host), "Adopt leaves the giver's program in the link")
		return p
	}

	for _, c := range []struct {
		name          string
		open, release bool
	}{
		{"close", false, false},
		{"release, close", false, true},
		{"open a queue, close", true, false},
		{"open a queue, release, close", true, true},
	} {
		p := adopt()
		_, _, err := p.Handover()
		require.ErrorIs(t, err, ErrNoHandover, "%s: a port not swapped in is not handed on", c.name)
		require.ErrorIs(t, p.TakeBack(), xsk.ErrNotSwapped, c.name)
		if c.open {
			rx2, err := p.OpenRx(0, pool)
			require.NoError(t, err)
			require.NoError(t, rx2.Close())
		}
		if c.release {
			p.Release()
		}
		require.NoError(t, p.Close(), c.name)
		require.Equal(t, mine, xdpProg(t, host), "%s: the giver's program stays attached", c.name)
		require.ErrorIs(t, p.Swap(), ports.ErrClosed, c.name)
		serve(c.name)
	}
	// An abandoned takeover that had not reached Swap: TakeBack finds its
	// own program in the link and leaves it.
	require.NoError(t, old.TakeBack())
	require.Equal(t, mine, xdpProg(t, host))

	p := adopt()
	require.NoError(t, p.Swap())
	theirs := xdpProg(t, host)
	require.NotZero(t, theirs)
	require.NotEqual(t, mine, theirs, "Swap puts the adopter's program in")
	require.NoError(t, p.Swap())
	require.Equal(t, theirs, xdpProg(t, host), "a second Swap changes nothing")
	serve("swapped") // the giver's socket, through the adopter's program
	p.Release()
	require.NoError(t, p.Close())
	require.Equal(t, theirs, xdpProg(t, host), "the adopter's program stays in the link the giver holds")
	require.NoError(t, old.TakeBack())
	require.Equal(t, mine, xdpProg(t, host), "the giver's own program is back")
	serve("taken back")
	require.NoError(t, old.Swap(), "a port New made has nothing to swap")
	require.Equal(t, mine, xdpProg(t, host))

	require.NoError(t, rx.Close())
	require.NoError(t, tx.Close())
	require.NoError(t, old.Close())
	require.False(t, xdpAttached(t, host), "the giver's Close detaches: no adopter holds the link")
	pool.Reclaim()
	require.Equal(t, pool.Size(), pool.Available(), "every frame came back to the pool")
	require.NoError(t, pool.Close())
}

// TestSharedPoolCopyMode: on a host whose shared memory gets no huge
// pages, a shared pool's frames cross into non-contiguous pages, which
// zero-copy drivers cannot use: copy=zerocopy is refused with the way
// out, auto runs in copy mode.
func TestSharedPoolCopyMode(t *testing.T) {
	nettest.NeedRoot(t)
	pool := sharedPool(t)
	t.Cleanup(func() { pool.Close() })
	if pool.ChunksContiguous() {
		t.Skip("this host gives shared memory huge pages: shared pools keep zero-copy")
	}
	ns := nettest.NewNS(t)
	host := "vsz" + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.83.0.1/24", 1)
	zc, err := New(Config{Ifname: host, RingSize: 512, Copy: "zerocopy"})
	require.NoError(t, err)
	_, err = zc.OpenRx(0, pool)
	require.ErrorContains(t, err, "--shared-pools=false")
	require.NoError(t, zc.Close())
	auto, err := New(Config{Ifname: host, RingSize: 512})
	require.NoError(t, err)
	rx, err := auto.OpenRx(0, pool)
	require.NoError(t, err)
	require.False(t, auto.socks[0].sk.ZeroCopy())
	require.NoError(t, rx.Close())
	require.NoError(t, auto.Close())
}
