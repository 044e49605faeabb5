package fastpath

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// tport is one switch port of a test topology: the host end of a veth
// (in the test's namespace, carrying the program) whose peer is eth0 of
// a namespace of its own.
type tport struct {
	name    string // host end
	ifindex int    // host end
	ns      *nettest.NS
	mac     MAC    // eth0 in ns
	ip      string // eth0's address, no prefix
}

// topo is n ports with the program attached to each host end, sharing
// one Maps.
type topo struct {
	maps  *Maps
	ports []*tport
	progs []*Program
}

// needKernel skips the test unless it runs as root on a kernel that loads
// the program.
func needKernel(t testing.TB) {
	t.Helper()
	nettest.NeedRoot(t)
	if err := Probe(); err != nil {
		t.Skipf("kernel cannot run the fast path: %v", err)
	}
}

// newTopo makes n namespaces on veths and attaches the program in mode to
// every host end. gro switches GRO on for the namespace ends (needed in
// native mode, see the package doc).
func newTopo(t *testing.T, n int, mode xsk.AttachMode, gro bool) *topo {
	t.Helper()
	needKernel(t)
	m, err := NewMaps(MapsConfig{MaxEntries: 1024, MaxPorts: 16, MaxVLANs: 64})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	tp := &topo{maps: m}
	sfx := nettest.Suffix()
	for i := range n {
		p := &tport{name: fmt.Sprintf("fp%s%c", sfx, 'a'+i), ns: quietNS(t), ip: fmt.Sprintf("10.99.0.%d", i+1)}
		hw := nettest.Veth(t, p.name, p.ns, p.ip+"/24", 1)
		copy(p.mac[:], hw)
		l, err := netlink.LinkByName(p.name)
		require.NoError(t, err)
		p.ifindex = l.Attrs().Index
		// As netdev.CreateVeth does for the switch's container ends:
		// complete checksums (see the package doc).
		require.NoError(t, netdev.SetTxChecksumAt(p.ns.Path(), "eth0", false))
		if gro {
			require.NoError(t, EnsureGRO(p.ns.Path(), "eth0"))
		}
		tp.ports = append(tp.ports, p)
	}
	for _, p := range tp.ports {
		prog, err := Attach(p.ifindex, 1, mode, m)
		if mode == xsk.AttachNative && err != nil {
			t.Skipf("native XDP on veth not available: %v", err)
		}
		require.NoError(t, err)
		t.Cleanup(func() { prog.Close() })
		tp.progs = append(tp.progs, prog)
	}
	return tp
}

// quietNS is a namespace whose interfaces will send no IPv6 (router and
// neighbour solicitations, MLD reports) of their own: the tests count
// every frame.
func quietNS(t testing.TB) *nettest.NS {
	t.Helper()
	ns := nettest.NewNS(t)
	// /proc/sys/net shows the namespace of the thread that opens it.
	require.NoError(t, netdev.Do(ns.Path(), func() error {
		for _, k := range []string{"all", "default"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+k+"/disable_ipv6", []byte("1"), 0o644); err != nil {
				return err
			}
		}
		return nil
	}))
	return ns
}

// learn adds every port to domain 1 (access) and an entry for every
// port's MAC on it.
func (tp *topo) learn(t *testing.T) {
	t.Helper()
	for _, p := range tp.ports {
		require.NoError(t, tp.maps.SetPort(p.ifindex, PortConfig{Domain: 1}))
	}
	for _, p := range tp.ports {
		_, err := tp.maps.SetEntry(1, p.mac, Entry{Ifindex: p.ifindex})
		require.NoError(t, err)
	}
}

func (tp *topo) counters(t *testing.T, p *tport) PortCounters {
	t.Helper()
	c, err := tp.maps.PortCounters(p.ifindex)
	require.NoError(t, err)
	return c
}

func (tp *topo) hits(t *testing.T, domain Domain, mac MAC) EntryHits {
	t.Helper()
	_, slot, ok := tp.maps.Entry(domain, mac)
	require.True(t, ok)
	h, err := tp.maps.EntryHits(slot)
	require.NoError(t, err)
	return h
}

// inNS runs fn on a locked thread inside ns (nil: the test's namespace).
func inNS(t testing.TB, ns *nettest.NS, fn func()) {
	t.Helper()
	if ns == nil {
		fn()
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	require.NoError(t, netns.Set(ns.Handle))
	defer func() { require.NoError(t, netns.Set(orig)) }()
	fn()
}

// psock is an AF_PACKET socket on one interface.
type psock struct {
	t       testing.TB
	fd      int
	ifindex int
}

const (
	testEtherType = 0x88b5 // IEEE local experimental
	ethPAll       = 0x0300 // htons(ETH_P_ALL)
)

var testMagic = []byte("VSFP")

// packetSocket opens a raw packet socket on ifname in ns (nil: the test's
// namespace), with VLAN auxdata, closed at cleanup.
func packetSocket(t testing.TB, ns *nettest.NS, ifname string) *psock {
	t.Helper()
	s := &psock{t: t, fd: -1}
	inNS(t, ns, func() {
		l, err := netlink.LinkByName(ifname)
		require.NoError(t, err)
		s.ifindex = l.Attrs().Index
		s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, ethPAll)
		require.NoError(t, err)
	})
	t.Cleanup(func() { unix.Close(s.fd) })
	require.NoError(t, unix.Bind(s.fd, &unix.SockaddrLinklayer{Protocol: ethPAll, Ifindex: s.ifindex}))
	require.NoError(t, unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1))
	require.NoError(t, unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20))
	return s
}

// testFrame is what the tests send: Ethernet (optionally one 802.1Q tag),
// the test EtherType, then magic, test id and sequence number.
type testFrame struct {
	dst, src MAC
	tagged   bool
	tci      uint16
	tpid     uint16 // the tag's TPID: 0x8100 if 0
	id, seq  uint32
	size     int // padded to this length (at least 60)
}

func (f testFrame) bytes() []byte {
	b := make([]byte, 0, 64)
	b = append(b, f.dst[:]...)
	b = append(b, f.src[:]...)
	if f.tagged {
		b = binary.BigEndian.AppendUint16(b, cmp.Or(f.tpid, 0x8100))
		b = binary.BigEndian.AppendUint16(b, f.tci)
	}
	b = binary.BigEndian.AppendUint16(b, testEtherType)
	b = append(b, testMagic...)
	b = binary.BigEndian.AppendUint32(b, f.id)
	b = binary.BigEndian.AppendUint32(b, f.seq)
	for len(b) < max(60, f.size) {
		b = append(b, 0)
	}
	return b
}

// send writes frames out of the socket's interface.
func (s *psock) send(frames ...testFrame) {
	s.t.Helper()
	for _, f := range frames {
		_, err := unix.Write(s.fd, f.bytes())
		require.NoError(s.t, err)
	}
}

// recv returns the test frames with id received (not sent) on the
// socket's interface, reading until nothing came for quiet.
func (s *psock) recv(id uint32, quiet time.Duration) []testFrame {
	s.t.Helper()
	tv := unix.NsecToTimeval(quiet.Nanoseconds())
	require.NoError(s.t, unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv))
	buf := make([]byte, 9216)
	oob := make([]byte, 256)
	var got []testFrame
	for {
		n, oobn, _, from, err := unix.Recvmsg(s.fd, buf, oob, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return got
		}
		require.NoError(s.t, err)
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		f, ok := parseTestFrame(buf[:n], oob[:oobn])
		if ok && f.id == id {
			got = append(got, f)
		}
	}
}

// recvN returns the test frames with id once n came, or after a second,
// plus any that come within a few milliseconds more (extras show up as a
// longer result).
func (s *psock) recvN(id uint32, n int) []testFrame {
	s.t.Helper()
	var got []testFrame
	for deadline := time.Now().Add(time.Second); len(got) < n && time.Now().Before(deadline); {
		got = append(got, s.recv(id, 20*time.Millisecond)...)
	}
	return append(got, s.recv(id, 5*time.Millisecond)...)
}

func parseTestFrame(b, oob []byte) (testFrame, bool) {
	var f testFrame
	if len(b) < 14 {
		return f, false
	}
	copy(f.dst[:], b[0:6])
	copy(f.src[:], b[6:12])
	b = b[12:]
	if tp := binary.BigEndian.Uint16(b); (tp == 0x8100 || tp == 0x88a8) && len(b) >= 4 { // tag left in the data
		f.tagged, f.tci = true, binary.BigEndian.Uint16(b[2:])
		if tp != 0x8100 {
			f.tpid = tp
		}
		b = b[4:]
	}
	if len(b) < 14 || binary.BigEndian.Uint16(b) != testEtherType || !bytes.Equal(b[2:6], testMagic) {
		return f, false
	}
	f.id = binary.BigEndian.Uint32(b[6:])
	f.seq = binary.BigEndian.Uint32(b[10:])
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA {
			continue
		}
		var aux unix.TpacketAuxdata
		if binary.Read(bytes.NewReader(m.Data), binary.NativeEndian, &aux) == nil && aux.Status&unix.TP_STATUS_VLAN_VALID != 0 {
			f.tagged, f.tci = true, aux.Vlan_tci
		}
	}
	return f, true
}

func newID() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint32(b[:])
}

// frames returns n frames from src to dst with seq 0..n-1.
func frames(n int, id uint32, src, dst MAC) []testFrame {
	fs := make([]testFrame, n)
	for i := range fs {
		fs[i] = testFrame{dst: dst, src: src, id: id, seq: uint32(i)}
	}
	return fs
}

// xdpAttached reports whether a program is attached to the device.
func xdpAttached(t testing.TB, ifindex int) bool {
	t.Helper()
	l, err := netlink.LinkByIndex(ifindex)
	require.NoError(t, err)
	x := l.Attrs().Xdp
	return x != nil && x.Attached
}

// run runs a command in ns and returns its combined output.
func run(t testing.TB, ns *nettest.NS, args ...string) (string, error) {
	t.Helper()
	out, err := ns.Command(args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func macOf(s string) MAC {
	var m MAC
	_, err := fmt.Sscanf(s, "%02x:%02x:%02x:%02x:%02x:%02x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5])
	if err != nil {
		panic(err)
	}
	return m
}

// permNeigh makes ip a permanent neighbour at mac on eth0 in ns.
func permNeigh(t testing.TB, ns *nettest.NS, ip string, mac MAC) {
	t.Helper()
	h := ns.Netlink(t)
	l, err := h.LinkByName("eth0")
	require.NoError(t, err)
	require.NoError(t, h.NeighSet(&netlink.Neigh{LinkIndex: l.Attrs().Index, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP(ip), HardwareAddr: net.HardwareAddr(mac[:])}))
}
