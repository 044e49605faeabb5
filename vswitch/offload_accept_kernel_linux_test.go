package vswitch_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// snmp reads one counter of /proc/net/snmp in a namespace, such as
// ("Tcp", "InCsumErrors").
func (r *kernelRig) snmp(name, proto, field string) int {
	r.t.Helper()
	out, err := r.ns[name].Command("cat", "/proc/net/snmp").CombinedOutput()
	require.NoError(r.t, err)
	var header []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != proto+":" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, h := range header {
			if h == field {
				n, err := strconv.Atoi(f[i])
				require.NoError(r.t, err)
				return n
			}
		}
	}
	r.t.Fatalf("no %s %s in /proc/net/snmp", proto, field)
	return 0
}

// csumErrors is the namespace's TCP and UDP checksum errors.
func (r *kernelRig) csumErrors(name string) int {
	return r.snmp(name, "Tcp", "InCsumErrors") + r.snmp(name, "Udp", "InCsumErrors")
}

// sendUSO sends n datagrams of seg bytes from namespace from to
// addr:port in namespace to as one write with UDP_SEGMENT (UDP GSO: the
// sender's kernel hands the tap one large frame, GSO_UDP_L4), and
// requires each to arrive, in order and intact.
func (r *kernelRig) sendUSO(from, to string, addr netip.Addr, port, n, seg int) {
	t := r.t
	rfd, rclose := netdevtest.Socket(t, r.ns[to].Path(), unix.AF_INET, unix.SOCK_DGRAM, 0)
	defer rclose()
	require.NoError(t, unix.Bind(rfd, &unix.SockaddrInet4{Port: port, Addr: addr.As4()}))
	require.NoError(t, unix.SetsockoptTimeval(rfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5}))
	sfd, sclose := netdevtest.Socket(t, r.ns[from].Path(), unix.AF_INET, unix.SOCK_DGRAM, 0)
	defer sclose()
	require.NoError(t, unix.SetsockoptInt(sfd, unix.SOL_UDP, unix.UDP_SEGMENT, seg))
	msg := make([]byte, n*seg)
	for i := range msg {
		msg[i] = byte(i/seg) ^ byte(i*3)
	}
	require.NoError(t, unix.Sendto(sfd, msg, 0, &unix.SockaddrInet4{Port: port, Addr: addr.As4()}))
	buf := make([]byte, 65536)
	for i := range n {
		k, _, err := unix.Recvfrom(rfd, buf, 0)
		require.NoError(t, err, "datagram %d of %d from %s to %s", i, n, from, to)
		require.Equal(t, msg[i*seg:(i+1)*seg], buf[:k], "datagram %d from %s to %s", i, from, to)
	}
}

// settle returns once every running worker has finished two iterations
// that started after the call: a running worker publishes its counters at
// its next empty poll, so what it did before the call is then counted in
// Runtime and PortCounters (unless traffic goes on).
func settle(s *vswitch.Switch) {
	for _, w := range s.Workers() {
		w.Quiesce()
		w.Quiesce()
	}
}

// TestOffloadIperfKernel: containers on taps with offloads on move TCP
// and UDP (iperf3) to each other and to a container on an AF_XDP veth,
// and UDP sent with UDP GSO (one 12 KB write, ten datagrams); the
// receivers' kernels count no checksum error, and between the taps
// nothing is segmented in the switch.
func TestOffloadIperfKernel(t *testing.T) {
	r := newKernelRig(t, 1)
	r.offloadTap("ta", "10.97.0.1/24")
	r.offloadTap("tb", "10.97.0.2/24")
	r.vethContainer("vc", "10.97.0.3/24", 1)
	require.NoError(t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
		{Name: "br0", Ports: []vswitch.Port{{Name: "ta"}, {Name: "tb"}, {Name: "vc"}}},
	}}))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.ping("ta", "10.97.0.2"))
	require.NoError(t, r.ping("ta", "10.97.0.3"))

	r.transfer("ta", "tb", "10.97.0.2", false)
	r.transfer("ta", "tb", "10.97.0.2", true)
	r.sendUSO("ta", "tb", netip.MustParseAddr("10.97.0.2"), 5401, 10, 1200)
	settle(r.s)
	require.Zero(t, nodePackets(r.s, "gso"), "tap to tap: nothing segmented")
	r.transfer("ta", "vc", "10.97.0.3", false)
	r.transfer("ta", "vc", "10.97.0.3", true)
	settle(r.s)
	before := nodePackets(r.s, "gso")
	r.sendUSO("ta", "vc", netip.MustParseAddr("10.97.0.3"), 5402, 10, 1200)
	// A running worker publishes its counters at its next idle poll, which
	// may come after the datagrams are read: wait for it.
	require.Eventually(t, func() bool { return nodePackets(r.s, "gso") > before }, 5*time.Second, 10*time.Millisecond,
		"the UDP GSO frame was cut for the veth")
	r.transfer("vc", "tb", "10.97.0.2", false)
	r.transfer("vc", "tb", "10.97.0.2", true)
	for _, n := range []string{"ta", "tb", "vc"} {
		require.Zero(t, r.csumErrors(n), "checksum errors in %s", n)
	}
}

// TestOffloadRoutedKernel: two containers on offload taps in two subnets,
// the switch their router: TCP crosses in large frames both ways, routed
// whole (nothing segmented), intact.
func TestOffloadRoutedKernel(t *testing.T) {
	r := newKernelRig(t, 1)
	ta := r.offloadTap("a", "10.93.1.2/24")
	tb := r.offloadTap("b", "10.93.2.2/24")
	r.host("a", "", "10.93.1.1", "")
	r.host("b", "", "10.93.2.1", "")
	require.NoError(t, r.s.Reconfigure(twoSubnets(0)))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.ping("a", "10.93.2.2"))
	r.sendTCP("a", "b", netip.MustParseAddr("10.93.2.2"), 5411, 32<<20)
	r.sendTCP("b", "a", netip.MustParseAddr("10.93.1.2"), 5412, 16<<20)
	require.Zero(t, nodePackets(r.s, "gso"), "routed whole")
	sa, sb := ta.Stats(), tb.Stats()
	t.Logf("a received %d frames (%d B average), b sent %d (%d B average)", sa.RxPackets, sa.RxBytes/sa.RxPackets, sb.TxPackets, sb.TxBytes/sb.TxPackets)
	require.Greater(t, sb.TxBytes/sb.TxPackets, uint64(8000), "large frames routed to b")
	require.Zero(t, r.csumErrors("a")+r.csumErrors("b"))
}

// TestOffloadVXLANKernel: a container on an offload tap in an overlay
// whose far VTEP is a Linux vxlan device. Its 64 KiB TCP frames are
// encapsulated once and cut after encapsulation; the kernel peer accepts
// every segment (the data arrives intact both ways, no checksum errors),
// and a capture of the uplink shows well-formed VXLAN segments no larger
// than the underlay MTU, inner TCP checksums right.
func TestOffloadVXLANKernel(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		local, far, farP     string
		localP               string
		overlayMTU           int
		innerLocal, innerFar string
	}{
		{"ipv4 underlay", "192.168.78.1", "192.168.78.2", "192.168.78.2/24", "192.168.78.1/24", vswitch.OverlayMTU, "10.212.0.1", "10.212.0.2"},
		{"ipv6 underlay", "fd00:78::1", "fd00:78::2", "fd00:78::2/64", "fd00:78::1/64", vswitch.OverlayMTU6, "10.213.0.1", "10.213.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newKernelRig(t, 1)
			r.offloadTap("c", tc.innerLocal+"/24")
			r.setMTU("c", tc.overlayMTU)
			r.vethContainer("far", "10.99.1.9/32", 1)
			nh := r.ns["far"].Netlink(t)
			eth, err := nh.LinkByName("eth0")
			require.NoError(t, err)
			fa, err := netlink.ParseAddr(tc.farP)
			require.NoError(t, err)
			fa.Flags = unix.IFA_F_NODAD
			require.NoError(t, nh.AddrAdd(eth, fa))
			r.kernelVTEP("far", 100, tc.far, tc.local, tc.innerFar+"/24")
			require.NoError(t, r.s.Reconfigure(vswitch.Config{
				Bridges: []vswitch.Bridge{{Name: "ov", Ports: []vswitch.Port{{Name: "c"}},
					VXLAN: []vswitch.VNI{{VNI: 100, Remotes: []string{tc.far}}}}},
				Interfaces: []vswitch.Interface{{Name: "uplink", Port: "far", Addrs: []string{tc.localP}}},
				VTEP:       &vswitch.VTEP{Addr: tc.local},
			}))
			require.NoError(t, r.s.Start())
			require.Eventually(t, func() bool { return r.ping("c", tc.innerFar) == nil }, 10*time.Second, 200*time.Millisecond)

			require.NoError(t, r.s.CaptureStart(vswitch.CaptureConfig{Port: "far", Tx: true, Slots: 8192}))
			r.sendTCP("c", "far", netip.MustParseAddr(tc.innerFar), 5421, 4<<20)
			file := filepath.Join(t.TempDir(), "uplink.pcapng")
			writeCapture(t, r.s, file)
			encaps, segs := nodePackets(r.s, "vxlan-encap"), nodePackets(r.s, "gso")
			t.Logf("vxlan-encap handled %d frames, gso %d", encaps, segs)
			require.Positive(t, segs, "large frames were cut")

			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			rd, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
			require.NoError(t, err)
			n, large := 0, 0
			for {
				data, ci, err := rd.ReadPacketData()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				require.Equal(t, ci.Length, ci.CaptureLength, "whole frames captured")
				p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
				vxl, ok := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
				if !ok {
					continue
				}
				require.LessOrEqual(t, len(data)-14, 1500, "fits the underlay MTU")
				inner := gopacket.NewPacket(vxl.Payload, layers.LayerTypeEthernet, gopacket.Default)
				ip4, _ := inner.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				tcp, _ := inner.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if ip4 == nil || tcp == nil {
					continue
				}
				n++
				if len(tcp.Payload) > 1000 {
					large++
				}
				require.Equal(t, int(ip4.Length), len(vxl.Payload)-14)
				require.True(t, tcpSumOK(ip4, tcp), "inner TCP checksum of captured segment %d", n)
			}
			t.Logf("%d inner TCP segments captured, %d full-sized", n, large)
			require.Positive(t, large)
			require.Less(t, encaps*4, uint64(n), "frames were encapsulated whole (far fewer encapsulations than segments)")

			r.sendTCP("far", "c", netip.MustParseAddr(tc.innerLocal), 5422, 4<<20)
			r.sendTCP("c", "far", netip.MustParseAddr(tc.innerFar), 5423, 16<<20)
			require.Zero(t, r.csumErrors("far"), "checksum errors at the kernel VTEP's side")
			require.Zero(t, r.csumErrors("c"))
		})
	}
}

// tcpSumOK verifies a decoded IPv4 TCP segment's checksum from scratch.
func tcpSumOK(ip *layers.IPv4, tcp *layers.TCP) bool {
	seg := append(bytes.Clone(tcp.Contents), tcp.Payload...)
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip.SrcIP.To4())
	add(ip.DstIP.To4())
	sum += 6 + uint32(len(seg))
	add(seg)
	for sum > 0xFFFF {
		sum = sum>>16 + sum&0xFFFF
	}
	return sum == 0xFFFF
}
