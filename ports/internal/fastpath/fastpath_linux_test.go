package fastpath

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

const quiet = 150 * time.Millisecond

var modes = []struct {
	name string
	mode xsk.AttachMode
}{
	{"generic", xsk.AttachGeneric},
	{"native", xsk.AttachNative},
}

// TestAttachDetach: the verifier takes the program in both modes on a
// veth, and Close leaves nothing on the device.
func TestAttachDetach(t *testing.T) {
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			needKernel(t)
			m, err := NewMaps(MapsConfig{})
			require.NoError(t, err)
			defer m.Close()
			ns := nettest.NewNS(t)
			host := "fp" + nettest.Suffix()
			nettest.Veth(t, host, ns, "10.99.0.1/24", 2)
			ifc, err := net.InterfaceByName(host)
			require.NoError(t, err)
			p, err := Attach(ifc.Index, 2, md.mode, m)
			if md.mode == xsk.AttachNative && err != nil {
				t.Skipf("native XDP on veth not available: %v", err)
			}
			require.NoError(t, err)
			assert.Equal(t, md.mode == xsk.AttachNative, p.Native())
			assert.True(t, xdpAttached(t, ifc.Index))
			// A second program on the same device is refused, and the
			// first stays.
			_, err = Attach(ifc.Index, 2, md.mode, m)
			assert.Error(t, err)
			assert.True(t, xdpAttached(t, ifc.Index))
			require.NoError(t, p.Close())
			assert.False(t, xdpAttached(t, ifc.Index), "program left on the device")
			require.NoError(t, p.Close(), "Close twice")
		})
	}
}

// TestSwitching: with fdb entries for A and B, frames between them are
// switched in the kernel, counted per entry and per port, while no AF_XDP
// socket is bound; C sees none of them. Then the kernel's own ping works
// through the fast path alone (static neighbours: ARP broadcasts go to
// the slow path, which here is the host stack of the test namespace, not
// a switch).
func TestSwitching(t *testing.T) {
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			tp := newTopo(t, 3, md.mode, true)
			a, b, c := tp.ports[0], tp.ports[1], tp.ports[2]
			tp.learn(t)
			sa, sb, sc := packetSocket(t, a.ns, "eth0"), packetSocket(t, b.ns, "eth0"), packetSocket(t, c.ns, "eth0")
			id := newID()
			const n = 50
			sa.send(frames(n, id, a.mac, b.mac)...)
			sb.send(frames(n, id, b.mac, a.mac)...)
			atB, atA := sb.recvN(id, n), sa.recvN(id, n)
			require.Len(t, atB, n, "frames A->B")
			require.Len(t, atA, n, "frames B->A")
			for i, f := range atB {
				assert.Equal(t, uint32(i), f.seq, "order")
				assert.False(t, f.tagged)
				assert.Equal(t, a.mac, f.src)
			}
			assert.Empty(t, sc.recv(id, 10*time.Millisecond), "C got frames")

			assert.Equal(t, EntryHits{Src: n, Dst: n}, tp.hits(t, 1, a.mac))
			assert.Equal(t, EntryHits{Src: n, Dst: n}, tp.hits(t, 1, b.mac))
			assert.Equal(t, EntryHits{}, tp.hits(t, 1, c.mac))
			ca := tp.counters(t, a)
			assert.EqualValues(t, n, ca.RxPackets)
			assert.EqualValues(t, n*60, ca.RxBytes)
			assert.EqualValues(t, n, ca.TxPackets)
			assert.EqualValues(t, n*60, ca.TxBytes)
			assert.Zero(t, ca.Errors)

			// The kernel's ping, IPv4 over static neighbours.
			permNeigh(t, a.ns, b.ip, b.mac)
			permNeigh(t, b.ns, a.ip, a.mac)
			before := tp.hits(t, 1, b.mac)
			out, err := run(t, a.ns, "ping", "-c", "5", "-i", "0.01", "-W", "1", b.ip)
			require.NoError(t, err, out)
			after := tp.hits(t, 1, b.mac)
			assert.GreaterOrEqual(t, after.Dst-before.Dst, uint64(5), "echo requests switched in the kernel")
			assert.GreaterOrEqual(t, after.Src-before.Src, uint64(5), "echo replies switched in the kernel")
		})
	}
}

// TestSlowPath: every frame the fast path must not switch goes to the slow
// path — here, with no AF_XDP socket bound, to the kernel stack of the
// host end (XDP_PASS), where a packet socket sees it — counted by reason,
// and never reaches B.
func TestSlowPath(t *testing.T) {
	tp := newTopo(t, 3, xsk.AttachGeneric, true)
	a, b, c := tp.ports[0], tp.ports[1], tp.ports[2]
	tp.learn(t)
	sa, sb := packetSocket(t, a.ns, "eth0"), packetSocket(t, b.ns, "eth0")
	hostA := packetSocket(t, nil, a.name)
	stranger := MAC{0x02, 0xde, 0xad, 0xbe, 0xef, 0x01}
	bcast := MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	mcast := MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}
	const n = 10
	cases := []struct {
		name   string
		setup  func()
		frame  testFrame
		reason MissReason
	}{
		{"source not learned", nil, testFrame{src: stranger, dst: b.mac}, MissSrcUnknown},
		{"source learned on another port", nil, testFrame{src: c.mac, dst: b.mac}, MissSrcUnknown},
		{"broadcast", nil, testFrame{src: a.mac, dst: bcast}, MissGroupDst},
		{"multicast", nil, testFrame{src: a.mac, dst: mcast}, MissGroupDst},
		{"group source", nil, testFrame{src: mcast, dst: b.mac}, MissGroupSrc},
		{"unknown destination", nil, testFrame{src: a.mac, dst: stranger}, MissDstUnknown},
		{"other domain", func() {
			_, err := tp.maps.SetEntry(2, b.mac, Entry{Ifindex: b.ifindex})
			require.NoError(t, err)
			require.NoError(t, tp.maps.DelEntry(1, b.mac))
		}, testFrame{src: a.mac, dst: b.mac}, MissDstUnknown},
		{"hairpin", func() {
			_, err := tp.maps.SetEntry(1, b.mac, Entry{Ifindex: a.ifindex})
			require.NoError(t, err)
		}, testFrame{src: a.mac, dst: b.mac}, MissHairpin},
		{"tagged on an access port", func() {
			_, err := tp.maps.SetEntry(1, b.mac, Entry{Ifindex: b.ifindex})
			require.NoError(t, err)
		}, testFrame{src: a.mac, dst: b.mac, tagged: true, tci: 10}, MissVLAN},
		{"priority tag", nil, testFrame{src: a.mac, dst: b.mac, tagged: true, tci: 5 << 13}, MissMalformed},
		// An 802.1ad tag: the pipeline's to judge (it drops one on an
		// access port); it was switched as an untagged frame.
		{"802.1ad tag on an access port", nil, testFrame{src: a.mac, dst: b.mac, tagged: true, tpid: 0x88a8, tci: 10}, MissVLAN},
		{"egress in slow path", func() {
			require.NoError(t, tp.maps.SetPort(b.ifindex, PortConfig{Domain: 1, SlowPath: true}))
		}, testFrame{src: a.mac, dst: b.mac}, MissEgressOff},
		{"ingress in slow path", func() {
			require.NoError(t, tp.maps.SetPort(b.ifindex, PortConfig{Domain: 1}))
			require.NoError(t, tp.maps.SetPort(a.ifindex, PortConfig{Domain: 1, SlowPath: true}))
		}, testFrame{src: a.mac, dst: b.mac}, MissForced},
	}
	for _, tc := range cases {
		if tc.setup != nil {
			tc.setup()
		}
		id := newID()
		before := tp.counters(t, a)
		f := tc.frame
		f.id = id
		for i := range n {
			f.seq = uint32(i)
			sa.send(f)
		}
		// All came out of the program once the host end has them.
		assert.Len(t, hostA.recvN(id, n), n, "%s: frames passed to the host end's stack", tc.name)
		assert.Empty(t, sb.recv(id, 30*time.Millisecond), "%s: B got frames", tc.name)
		after := tp.counters(t, a)
		assert.EqualValues(t, n, after.Miss[tc.reason]-before.Miss[tc.reason], "%s: %s misses", tc.name, tc.reason)
		assert.EqualValues(t, n, after.Misses()-before.Misses(), "%s: misses", tc.name)
		assert.EqualValues(t, n, after.SlowPass-before.SlowPass, "%s: passed for want of a socket", tc.name)
		assert.Equal(t, before.RxPackets, after.RxPackets, "%s: hits", tc.name)
	}

	// Back to normal: switched again.
	require.NoError(t, tp.maps.SetPort(a.ifindex, PortConfig{Domain: 1}))
	id := newID()
	sa.send(frames(n, id, a.mac, b.mac)...)
	assert.Len(t, sb.recvN(id, n), n)

	// A port with no configuration is not looked up nor counted.
	require.NoError(t, tp.maps.DelPort(a.ifindex))
	id = newID()
	sa.send(frames(n, id, a.mac, b.mac)...)
	assert.Len(t, hostA.recvN(id, n), n)
	assert.Empty(t, sb.recv(id, 30*time.Millisecond))
	_, err := tp.maps.PortCounters(a.ifindex)
	assert.ErrorIs(t, err, ErrUnknownPort)
}

// blaster sends test frames from src to dst as fast as a packet socket
// goes, numbering them, until stopped. next is the number of the frame
// being sent (or the next one): when an event is followed by reading k
// from next, frame k may have been on its way already, but every frame
// numbered above k was written after the event.
type blaster struct {
	next atomic.Uint32
	stop chan struct{}
	wg   sync.WaitGroup
}

func startBlaster(t *testing.T, s *psock, id uint32, src, dst MAC) *blaster {
	bl := &blaster{stop: make(chan struct{})}
	bl.wg.Add(1)
	go func() {
		defer bl.wg.Done()
		f := testFrame{src: src, dst: dst, id: id}
		for {
			select {
			case <-bl.stop:
				return
			default:
			}
			f.seq = bl.next.Load()
			if _, err := unix.Write(s.fd, f.bytes()); err != nil {
				t.Errorf("blaster: %v", err)
				return
			}
			bl.next.Add(1)
			if f.seq%64 == 0 {
				time.Sleep(100 * time.Microsecond) // leave receivers room
			}
		}
	}()
	t.Cleanup(bl.halt)
	return bl
}

func (bl *blaster) halt() {
	select {
	case <-bl.stop:
	default:
		close(bl.stop)
	}
	bl.wg.Wait()
}

// TestRemovalWhileFlowing: with frames flowing A->B through the fast path,
// after DelEntry, a move of B's MAC to C, or DelPort returns, no frame sent
// afterwards is redirected by the old state.
func TestRemovalWhileFlowing(t *testing.T) {
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			tp := newTopo(t, 3, md.mode, true)
			a, b, c := tp.ports[0], tp.ports[1], tp.ports[2]
			tp.learn(t)
			sa, sb, sc := packetSocket(t, a.ns, "eth0"), packetSocket(t, b.ns, "eth0"), packetSocket(t, c.ns, "eth0")

			// flow runs the blaster around change and returns what B and
			// C received, and a mark: every frame numbered above it was
			// sent after change returned.
			flow := func(change func()) (atB, atC []testFrame, mark uint32) {
				id := newID()
				bl := startBlaster(t, sa, id, a.mac, b.mac)
				time.Sleep(50 * time.Millisecond)
				change()
				mark = bl.next.Load()
				time.Sleep(50 * time.Millisecond)
				bl.halt()
				return sb.recv(id, quiet), sc.recv(id, 10*time.Millisecond), mark
			}
			after := func(fs []testFrame, mark uint32) (n int) {
				for _, f := range fs {
					if f.seq > mark {
						n++
					}
				}
				return n
			}

			// DelEntry: nothing sent after it reaches B.
			atB, _, mark := flow(func() { require.NoError(t, tp.maps.DelEntry(1, b.mac)) })
			require.NotEmpty(t, atB, "B got nothing before DelEntry")
			assert.Zero(t, after(atB, mark), "frames to B after DelEntry (of %d)", len(atB))
			t.Logf("DelEntry: %d frames to B before", len(atB))

			// A move to C: everything after it goes to C, nothing to B.
			_, err := tp.maps.SetEntry(1, b.mac, Entry{Ifindex: b.ifindex})
			require.NoError(t, err)
			atB, atC, mark := flow(func() {
				_, err := tp.maps.SetEntry(1, b.mac, Entry{Ifindex: c.ifindex})
				require.NoError(t, err)
			})
			require.NotEmpty(t, atB)
			assert.Zero(t, after(atB, mark), "frames to B after the move")
			assert.NotZero(t, after(atC, mark), "frames to C after the move")

			// DelPort: back on B first, then B removed.
			_, err = tp.maps.SetEntry(1, b.mac, Entry{Ifindex: b.ifindex})
			require.NoError(t, err)
			atB, _, mark = flow(func() { require.NoError(t, tp.maps.DelPort(b.ifindex)) })
			require.NotEmpty(t, atB)
			assert.Zero(t, after(atB, mark), "frames to B after DelPort")
			_, _, ok := tp.maps.Entry(1, b.mac)
			assert.False(t, ok, "B's entry survived DelPort")
			ca := tp.counters(t, a)
			assert.NotZero(t, ca.Miss[MissDstUnknown]+ca.Miss[MissEgressOff], "A's misses after the removals")
		})
	}
}

// TestVLAN: access port A (domain 1), trunk B (VID 30 in domain 1, native
// VLAN in domain 2), trunk C (VID 10 in domain 1, tagged only). The tag is
// pushed, popped or rewritten (PCP kept) on the way; domains stay apart;
// VIDs a port does not carry go to the slow path.
func TestVLAN(t *testing.T) {
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			tp := newTopo(t, 3, md.mode, true)
			a, b, c := tp.ports[0], tp.ports[1], tp.ports[2]
			m := tp.maps
			require.NoError(t, m.SetPort(a.ifindex, PortConfig{Domain: 1}))
			require.NoError(t, m.SetPort(b.ifindex, PortConfig{Domain: 2, VLANs: map[uint16]Domain{30: 1}}))
			require.NoError(t, m.SetPort(c.ifindex, PortConfig{TaggedOnly: true, VLANs: map[uint16]Domain{10: 1}}))
			for _, e := range []struct {
				d   Domain
				p   *tport
				vid uint16
			}{{1, a, 0}, {1, b, 30}, {1, c, 10}, {2, b, 0}} {
				_, err := m.SetEntry(e.d, e.p.mac, Entry{Ifindex: e.p.ifindex, VID: e.vid})
				require.NoError(t, err)
			}
			socks := map[*tport]*psock{a: packetSocket(t, a.ns, "eth0"), b: packetSocket(t, b.ns, "eth0"), c: packetSocket(t, c.ns, "eth0")}
			const n = 5
			type arrival struct {
				tagged bool
				tci    uint16
			}
			check := func(name string, from, to *tport, tagged bool, tci uint16, want *arrival, reason MissReason) {
				t.Helper()
				id := newID()
				before := tp.counters(t, from)
				fs := frames(n, id, from.mac, to.mac)
				for i := range fs {
					fs[i].tagged, fs[i].tci = tagged, tci
				}
				socks[from].send(fs...)
				var got []testFrame
				if want == nil {
					got = socks[to].recv(id, quiet)
				} else {
					got = socks[to].recvN(id, n)
				}
				after := tp.counters(t, from)
				if want == nil {
					assert.Empty(t, got, name)
					assert.EqualValues(t, n, after.Miss[reason]-before.Miss[reason], "%s: %s misses", name, reason)
					return
				}
				require.Len(t, got, n, name)
				for _, f := range got {
					assert.Equal(t, *want, arrival{f.tagged, f.tci}, name)
				}
				assert.EqualValues(t, n, after.RxPackets-before.RxPackets, "%s: hits", name)
			}
			check("access to trunk: push", a, c, false, 0, &arrival{true, 10}, 0)
			check("trunk to access: pop", c, a, true, 3<<13|10, &arrival{false, 0}, 0)
			check("trunk to trunk: rewrite, PCP kept", c, b, true, 5<<13|10, &arrival{true, 5<<13 | 30}, 0)
			check("trunk to trunk, back", b, c, true, 30, &arrival{true, 10}, 0)
			check("access to trunk's VLAN", a, b, false, 0, &arrival{true, 30}, 0)
			check("native VLAN is another domain", b, a, false, 0, nil, MissDstUnknown)
			check("untagged on a tagged-only trunk", c, a, false, 0, nil, MissVLAN)
			check("VID not on the trunk", c, a, true, 20, nil, MissVLAN)
			require.NoError(t, m.SetPort(c.ifindex, PortConfig{TaggedOnly: true, VLANs: map[uint16]Domain{20: 1}}))
			check("VID removed from the trunk", c, a, true, 10, nil, MissVLAN)
			check("VID added to the trunk", c, a, true, 20, &arrival{false, 0}, 0)
			cfg, ok := m.Port(c.ifindex)
			require.True(t, ok)
			assert.Equal(t, map[uint16]Domain{20: 1}, cfg.VLANs)
		})
	}
}

// TestVethGROCaveat: in native mode, a veth whose peer has neither GRO nor
// an XDP program drops the frames redirected into it — silently: the
// program counts hits, nothing arrives. CheckPeer reports it, EnsureGRO
// fixes it. Generic mode goes through the stack and is not affected.
func TestVethGROCaveat(t *testing.T) {
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			tp := newTopo(t, 2, md.mode, false)
			a, b := tp.ports[0], tp.ports[1]
			tp.learn(t)
			st, err := CheckPeer(b.ifindex)
			require.NoError(t, err)
			assert.True(t, st.Veth && st.Found, "%+v", st)
			assert.Equal(t, "eth0", st.Name)
			assert.NotEmpty(t, st.Netns)
			assert.False(t, st.GRO || st.XDP || st.TxChecksum, "%+v", st)
			assert.False(t, st.Delivers())
			assert.False(t, st.Ready())
			t.Log(st)

			sa, sb := packetSocket(t, a.ns, "eth0"), packetSocket(t, b.ns, "eth0")
			id := newID()
			sa.send(frames(20, id, a.mac, b.mac)...)
			got := sb.recv(id, quiet)
			assert.EqualValues(t, 20, tp.counters(t, a).RxPackets, "hits")
			if md.mode == xsk.AttachNative {
				assert.Empty(t, got, "native redirect into a veth whose peer has no GRO delivered")
			} else if len(got) < 20 {
				got = append(got, sb.recvN(id, 20-len(got))...)
				assert.Len(t, got, 20, "generic redirect")
			}

			require.NoError(t, EnsureGRO(st.Netns, st.Name))
			st, err = CheckPeer(b.ifindex)
			require.NoError(t, err)
			assert.True(t, st.GRO && st.Delivers() && st.Ready(), "%+v", st)
			t.Log(st)
			require.NoError(t, netdev.SetTxChecksumAt(b.ns.Path(), "eth0", true))
			st, err = CheckPeer(b.ifindex)
			require.NoError(t, err)
			assert.True(t, st.TxChecksum && st.Delivers() && !st.Ready(), "%+v", st)
			t.Log(st)
			id = newID()
			sa.send(frames(20, id, a.mac, b.mac)...)
			assert.Len(t, sb.recvN(id, 20), 20)
		})
	}
}

// TestCheckPeerOther: devices that are not veths are reported as such.
func TestCheckPeerOther(t *testing.T) {
	needKernel(t)
	ns := nettest.NewNS(t)
	inNS(t, ns, func() {
		st, err := CheckPeer(1) // lo
		require.NoError(t, err)
		assert.False(t, st.Veth)
		assert.True(t, st.Delivers() && st.Ready())
	})
}

// TestSlowPathToSocket: with an AF_XDP socket registered for the queue
// (through the same Register the afxdp port uses), misses reach the
// socket and hits do not.
func TestSlowPathToSocket(t *testing.T) {
	tp := newTopo(t, 2, xsk.AttachGeneric, true)
	a, b := tp.ports[0], tp.ports[1]
	tp.learn(t)
	const frameSize, nframes = 4096, 64
	mem, err := unix.Mmap(-1, 0, frameSize*nframes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mem) })
	sk, err := xsk.Open(xsk.Config{Ifindex: a.ifindex, Queue: 0, RingSize: nframes, Mode: xsk.Copy, Mem: mem, FrameSize: frameSize})
	if err != nil {
		t.Skipf("AF_XDP socket: %v", err)
	}
	t.Cleanup(func() { sk.Close() })
	var st Steering = tp.progs[0]
	require.NoError(t, st.Register(0, sk))
	addrs := make([]uint64, nframes)
	for i := range addrs {
		addrs[i] = uint64(i * frameSize)
	}
	require.Equal(t, nframes, sk.Fill.Put(addrs))

	sa, sb := packetSocket(t, a.ns, "eth0"), packetSocket(t, b.ns, "eth0")
	stranger := MAC{0x02, 0xde, 0xad, 0xbe, 0xef, 0x01}
	id := newID()
	const n = 10
	sa.send(frames(n, id, a.mac, stranger)...) // miss
	sa.send(frames(n, id, a.mac, b.mac)...)    // hit
	assert.Len(t, sb.recvN(id, n), n)
	descs := make([]unix.XDPDesc, nframes)
	var got []testFrame
	for deadline := time.Now().Add(time.Second); len(got) < n && time.Now().Before(deadline); {
		k := sk.Rx.Get(descs)
		for _, d := range descs[:k] {
			if f, ok := parseTestFrame(mem[d.Addr:d.Addr+uint64(d.Len)], nil); ok && f.id == id {
				got = append(got, f)
			}
		}
		if k == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	require.Len(t, got, n, "misses at the socket")
	for _, f := range got {
		assert.Equal(t, stranger, f.dst, "a hit reached the socket")
	}
	c := tp.counters(t, a)
	assert.EqualValues(t, n, c.Miss[MissDstUnknown])
	assert.Zero(t, c.SlowPass, "frames passed to the stack with a socket bound")
	require.NoError(t, st.Unregister(0))
}

// TestTCP: a TCP transfer between A and B goes through the fast path
// intact (checksums complete: the namespace ends have TX checksum offload
// off, as the switch's own veths do; see the package doc).
func TestTCP(t *testing.T) {
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			tp := newTopo(t, 2, md.mode, true)
			a, b := tp.ports[0], tp.ports[1]
			tp.learn(t)
			for _, nb := range []struct{ in, peer *tport }{{a, b}, {b, a}} {
				permNeigh(t, nb.in.ns, nb.peer.ip, nb.peer.mac)
			}
			var ln net.Listener
			inNS(t, b.ns, func() {
				var err error
				ln, err = net.Listen("tcp4", b.ip+":0")
				require.NoError(t, err)
			})
			defer ln.Close()
			data := make([]byte, 8<<20)
			for i := range data {
				data[i] = byte(i*7 + i>>8)
			}
			got := make(chan []byte, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf, _ := io.ReadAll(c)
				got <- buf
			}()
			var conn net.Conn
			inNS(t, a.ns, func() {
				var err error
				conn, err = net.DialTimeout("tcp4", ln.Addr().String(), 2*time.Second)
				require.NoError(t, err)
			})
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			_, err := conn.Write(data)
			require.NoError(t, err)
			require.NoError(t, conn.Close())
			assert.True(t, bytes.Equal(data, <-got), "data corrupted or cut")
			ca := tp.counters(t, a)
			assert.Greater(t, ca.RxBytes, uint64(len(data)), "switched in the kernel")
			assert.Zero(t, ca.Misses(), "misses")
		})
	}
}
