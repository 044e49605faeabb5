package vswitch_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/ports/tap"
	"github.com/vecswitch/vecswitch/vswitch"
)

// offloadTap attaches a namespace by a tap with a virtio-net header and
// TSO on (its eth0), as port name.
func (r *kernelRig) offloadTap(name, addr string) *tap.Port {
	ns := nettest.NewNS(r.t)
	p, err := tap.New(tap.Config{Name: name, Netns: ns.Path(), Offload: true,
		Addrs: []netip.Prefix{netip.MustParsePrefix(addr)}})
	require.NoError(r.t, err)
	require.NoError(r.t, r.s.AddPort(p))
	r.ns[name] = ns
	return p
}

// packetVeth attaches a namespace by a veth whose host end the switch
// reads and writes with AF_PACKET and virtio-net headers; the container
// end keeps the kernel's offloads (TSO, checksum) on.
func (r *kernelRig) packetVeth(name, addr string) *afpacket.Port {
	ns := nettest.NewNS(r.t)
	host := "vk" + name + nettest.Suffix()
	nettest.Veth(r.t, host, ns, addr, 1)
	p, err := afpacket.New(afpacket.Config{Name: name, Ifname: host})
	require.NoError(r.t, err)
	require.NoError(r.t, r.s.AddPort(p))
	r.ns[name] = ns
	return p
}

// sendTCP moves size random bytes by TCP from namespace from to addr in
// namespace to, and requires them to arrive intact.
func (r *kernelRig) sendTCP(from, to string, addr netip.Addr, port int, size int) {
	t := r.t
	lfd, lclose := netdevtest.Socket(t, r.ns[to].Path(), unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(t, unix.Bind(lfd, &unix.SockaddrInet4{Port: port, Addr: addr.As4()}))
	require.NoError(t, unix.Listen(lfd, 1))
	lf := fdFile(t, lfd)
	ln, err := net.FileListener(lf)
	lf.Close()
	lclose()
	require.NoError(t, err)
	defer ln.Close()
	cfd, cclose := netdevtest.Socket(t, r.ns[from].Path(), unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(t, unix.Connect(cfd, &unix.SockaddrInet4{Port: port, Addr: addr.As4()}))
	cf := fdFile(t, cfd)
	c, err := net.FileConn(cf)
	cf.Close()
	cclose()
	require.NoError(t, err)
	defer c.Close()
	s, err := ln.Accept()
	require.NoError(t, err)
	defer s.Close()

	data := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(port)}).Read(data)
	want := sha256.Sum256(data)
	errc := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, bytes.NewReader(data))
		c.Close()
		errc <- err
	}()
	h := sha256.New()
	require.NoError(t, s.SetReadDeadline(time.Now().Add(60*time.Second)))
	n, err := io.Copy(h, s)
	require.NoError(t, err, "TCP %s -> %s", from, to)
	require.NoError(t, <-errc)
	require.Equal(t, int64(size), n)
	require.Equal(t, want[:], h.Sum(nil), "TCP %s -> %s: the data arrived changed", from, to)
}

// fdFile wraps a duplicate of fd (a socket netdevtest.Socket owns and
// closes) in an os.File for net.FileConn or net.FileListener, which take
// a duplicate of their own: the caller closes the file at once, so that
// closing the net.Conn closes the last descriptor of the socket.
func fdFile(t testing.TB, fd int) *os.File {
	d, err := unix.Dup(fd)
	require.NoError(t, err)
	return os.NewFile(uintptr(d), "socket")
}

func nodePackets(s *vswitch.Switch, node string) uint64 {
	for _, c := range s.Runtime() {
		if c.Name == node {
			return c.Packets
		}
	}
	return 0
}

// TestOffloadTCPKernel: two namespaces on offload taps and one on an
// AF_XDP veth share a bridge. Between the taps, TCP crosses the switch as
// 64 KiB frames untouched (the gso node sees nothing); from a tap to the
// veth, gso cuts them into MSS segments with full checksums; from the veth
// to a tap, plain frames go out through the virtio-net header. Every
// transfer arrives intact.
func TestOffloadTCPKernel(t *testing.T) {
	r := newKernelRig(t, 1)
	ta := r.offloadTap("ta", "10.96.0.1/24")
	r.offloadTap("tb", "10.96.0.2/24")
	r.container("vc", "10.96.0.3/24", 1)
	// As the product's veths (ports/netdev): the container end finishes
	// its checksums, AF_XDP carries no offload state.
	require.NoError(t, netdev.SetTxChecksumAt(r.ns["vc"].Path(), "eth0", false))
	require.NoError(t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
		{Name: "br0", Ports: []vswitch.Port{{Name: "ta"}, {Name: "tb"}, {Name: "vc"}}},
	}}))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.ping("ta", "10.96.0.2"))
	require.NoError(t, r.ping("ta", "10.96.0.3"))
	require.NoError(t, r.ping("vc", "10.96.0.2"))

	r.sendTCP("ta", "tb", netip.MustParseAddr("10.96.0.2"), 5301, 32<<20)
	require.Zero(t, nodePackets(r.s, "gso"), "tap to tap needs no segmentation")
	st := ta.Stats()
	t.Logf("tap ta received %d frames of %d bytes on average", st.RxPackets, st.RxBytes/st.RxPackets)
	require.Greater(t, st.RxBytes/st.RxPackets, uint64(8000), "the sender's frames were not large")

	r.sendTCP("ta", "vc", netip.MustParseAddr("10.96.0.3"), 5302, 16<<20)
	segmented := nodePackets(r.s, "gso")
	require.Positive(t, segmented, "frames for the veth went through gso")
	r.sendTCP("vc", "tb", netip.MustParseAddr("10.96.0.2"), 5303, 16<<20)
	for _, c := range r.s.Runtime() {
		if c.Name == "gso" {
			require.Empty(t, c.Drops, "gso dropped frames")
		}
	}
	t.Logf("gso handled %d frames", segmented)
}

// TestAFPacketTCPKernel: two namespaces on plain veths whose host ends
// are AF_PACKET ports, one on an offload tap and one on an AF_XDP veth,
// on one bridge. Between the AF_PACKET veths TCP crosses in large frames
// (the containers keep TSO); to the tap too; to the AF_XDP veth through
// gso. Every transfer arrives intact, and the host's own stack never
// received the containers' frames (the ingress drop filter).
func TestAFPacketTCPKernel(t *testing.T) {
	r := newKernelRig(t, 1)
	pa := r.packetVeth("pa", "10.98.0.1/24")
	r.packetVeth("pb", "10.98.0.2/24")
	r.offloadTap("tc", "10.98.0.3/24")
	r.container("vd", "10.98.0.4/24", 1)
	require.NoError(t, netdev.SetTxChecksumAt(r.ns["vd"].Path(), "eth0", false))
	require.NoError(t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
		{Name: "br0", Ports: []vswitch.Port{{Name: "pa"}, {Name: "pb"}, {Name: "tc"}, {Name: "vd"}}},
	}}))
	require.NoError(t, r.s.Start())
	for _, to := range []string{"10.98.0.2", "10.98.0.3", "10.98.0.4"} {
		require.NoError(t, r.ping("pa", to))
	}
	r.sendTCP("pa", "pb", netip.MustParseAddr("10.98.0.2"), 5311, 32<<20)
	require.Zero(t, nodePackets(r.s, "gso"), "AF_PACKET to AF_PACKET needs no segmentation")
	st := pa.Stats()
	t.Logf("port pa received %d frames of %d bytes on average", st.RxPackets, st.RxBytes/st.RxPackets)
	require.Greater(t, st.RxBytes/st.RxPackets, uint64(8000), "the container's frames were not large")
	r.sendTCP("tc", "pa", netip.MustParseAddr("10.98.0.1"), 5312, 16<<20)
	r.sendTCP("pa", "vd", netip.MustParseAddr("10.98.0.4"), 5313, 16<<20)
	require.Positive(t, nodePackets(r.s, "gso"))
	st = pa.Stats()
	require.Zero(t, st.RxOversize+st.RxInvalid+st.RxErrors+st.TxInvalid+st.TxErrors, "%+v", st)

	// The host's own stack never sees the container's frames (the tcx
	// drop): with an address on the host end, a ping from the container
	// to it gets no answer (the host would answer straight over the veth).
	hl, err := netlink.LinkByName(pa.Ifname())
	require.NoError(t, err)
	require.NoError(t, netlink.AddrAdd(hl, &netlink.Addr{IPNet: &net.IPNet{IP: net.IP{10, 98, 0, 9}, Mask: net.CIDRMask(24, 32)}}))
	require.Error(t, r.ping("pa", "10.98.0.9"), "the host's stack answered a container on an AF_PACKET port")
}
