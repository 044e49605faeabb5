//go:build linux

package encap

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// The kernel tests put a Linux vxlan device in a test namespace as the far
// VTEP. Its underlay is a veth whose host end this test drives through an
// AF_PACKET socket: it sends frames Encap built and reads what the kernel
// sends back. The inner hosts are 10.42.0.1 (played by the test) and
// 10.42.0.2 (the vxlan device's address).

const kernelVNI = 4242

var (
	innerMACTest = net.HardwareAddr{0x02, 0, 0, 0, 0x42, 0x01}
	innerMACNS   = net.HardwareAddr{0x02, 0, 0, 0, 0x42, 0x02}
	innerIPTest  = net.IPv4(10, 42, 0, 1).To4()
	innerIPNS    = net.IPv4(10, 42, 0, 2).To4()
)

// kernelPeer is a namespace with a kernel vxlan device and the raw socket
// on the host end of its underlay.
type kernelPeer struct {
	t        *testing.T
	fd       int
	tpl      *Template
	local    netip.Addr // our VTEP
	remote   netip.Addr // the kernel's
	portLo   uint16     // the namespace's ip_local_port_range
	portHi   uint16
	icmpSeq  uint16
	vxlanArg []string
}

// newKernelPeer sets up the namespace. vxlanOpts are extra "ip link add
// ... type vxlan" arguments; udpCsum4 configures our template to match.
func newKernelPeer(t *testing.T, is6, udpCsum4 bool, vxlanOpts ...string) *kernelPeer {
	nettest.NeedRoot(t)
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Skip("needs ethtool to turn off checksum offload on the veth")
	}
	ns := nettest.NewNS(t)
	host := "vxk" + nettest.Suffix()
	peerMAC := nettest.Veth(t, host, ns, "192.0.2.2/24", 1)
	hostIf, err := net.InterfaceByName(host)
	require.NoError(t, err)

	local, remote := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if is6 {
		local, remote = netip.MustParseAddr("2001:db8:42::1"), netip.MustParseAddr("2001:db8:42::2")
	}
	run := func(args ...string) {
		t.Helper()
		out, err := ns.Command(args...).CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
	}
	if is6 {
		run("ip", "-6", "addr", "add", remote.String()+"/64", "dev", "eth0", "nodad")
	}
	// Software checksums: frames reach our socket complete, not
	// CHECKSUM_PARTIAL as veth would otherwise pass them.
	run("ethtool", "-K", "eth0", "tx", "off")
	add := append([]string{"ip", "link", "add", "vx0", "type", "vxlan", "id", fmt.Sprint(kernelVNI),
		"local", remote.String(), "remote", local.String(), "dstport", "4789", "dev", "eth0"}, vxlanOpts...)
	if out, err := ns.Command(add...).CombinedOutput(); err != nil {
		t.Skipf("cannot create a kernel vxlan device (%v: %s)", err, out)
	}
	run("ip", "link", "set", "vx0", "address", innerMACNS.String(), "up")
	run("ip", "addr", "add", "10.42.0.2/24", "dev", "vx0")
	run("ip", "neigh", "replace", "10.42.0.1", "lladdr", innerMACTest.String(), "dev", "vx0", "nud", "permanent")
	run("ip", "neigh", "replace", local.String(), "lladdr", hostIf.HardwareAddr.String(), "dev", "eth0", "nud", "permanent")
	out, err := ns.Command("cat", "/proc/sys/net/ipv4/ip_local_port_range").Output()
	require.NoError(t, err)
	var lo, hi uint16
	_, err = fmt.Sscan(string(out), &lo, &hi)
	require.NoError(t, err)

	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(syscall.ETH_P_ALL)))
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_ALL), Ifindex: hostIf.Index}))
	require.NoError(t, syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &syscall.Timeval{Usec: 50000}))

	tpl, err := NewTemplate(TemplateConfig{SrcMAC: [6]byte(hostIf.HardwareAddr), DstMAC: [6]byte(peerMAC),
		Src: local, Dst: remote, VNI: kernelVNI, UDPChecksum4: udpCsum4})
	require.NoError(t, err)
	return &kernelPeer{t: t, fd: fd, tpl: &tpl, local: local, remote: remote,
		portLo: lo, portHi: hi, vxlanArg: add}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// echoRequest returns an encapsulated ICMP echo request from the test's
// inner host to the namespace's, and its sequence number.
func (k *kernelPeer) echoRequest() ([]byte, uint16) {
	k.icmpSeq++
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: innerIPTest, DstIP: innerIPNS}
	inner := serialize(k.t,
		&layers.Ethernet{SrcMAC: innerMACTest, DstMAC: innerMACNS, EthernetType: layers.EthernetTypeIPv4}, ip,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x4242, Seq: k.icmpSeq},
		gopacket.Payload("vecswitch encap interop"))
	return bytes.Clone(encapsulate(k.t, k.tpl, inner, InnerFlowHash(inner))), k.icmpSeq
}

func (k *kernelPeer) send(pkt []byte) {
	_, err := syscall.Write(k.fd, pkt)
	require.NoError(k.t, err)
}

// awaitReply reads frames until the kernel's encapsulated echo reply with
// sequence seq arrives, and returns it and what ParseOuter made of it, or
// nil after timeout.
func (k *kernelPeer) awaitReply(seq uint16, timeout time.Duration) ([]byte, Outer) {
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		n, _, err := syscall.Recvfrom(k.fd, buf, 0)
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
			continue
		}
		require.NoError(k.t, err)
		pkt := buf[:n]
		o, r := ParseOuter(pkt, DecapConfig{VerifyUDP4: true})
		if r != OK || o.SrcAddr() != k.remote {
			continue
		}
		p := gopacket.NewPacket(pkt[o.InnerOff:o.InnerOff+o.InnerLen], layers.LayerTypeEthernet, gopacket.Default)
		icmp, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if icmp != nil && icmp.TypeCode.Type() == layers.ICMPv4TypeEchoReply && icmp.Id == 0x4242 && icmp.Seq == seq {
			return bytes.Clone(pkt), o
		}
	}
	return nil, Outer{}
}

// TestKernelVXLAN exchanges packets with a Linux vxlan device both ways
// and compares the outer headers the kernel sends with ours.
func TestKernelVXLAN(t *testing.T) {
	for _, tc := range []struct {
		name     string
		is6      bool
		udpCsum4 bool     // our template's setting
		opts     []string // the kernel device's
		sameCsum bool     // both configured alike for IPv4 UDP checksums
	}{
		{"ipv4 noudpcsum", false, false, []string{"noudpcsum"}, true},
		{"ipv4 udpcsum", false, true, []string{"udpcsum"}, true},
		// Linux defaults to udpcsum, we to RFC 7348's zero checksum,
		// which the kernel accepts.
		{"ipv4 defaults", false, false, nil, false},
		{"ipv6", true, false, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKernelPeer(t, tc.is6, tc.udpCsum4, tc.opts...)

			// Our encapsulation is accepted: the kernel decapsulates the
			// echo request, answers it and encapsulates the reply, which
			// ParseOuter accepts.
			ours, seq := k.echoRequest()
			k.send(ours)
			theirs, o := k.awaitReply(seq, 5*time.Second)
			require.NotNil(t, theirs, "no reply from the kernel to %v", k.vxlanArg)
			require.Equal(t, uint32(kernelVNI), o.VNI)
			require.Equal(t, k.local, o.DstAddr())
			compareOuter(t, k, ours, theirs, tc.sameCsum)

			// The kernel verifies what we send, so the exchange above
			// vouches for our checksums: a corrupted copy goes unanswered.
			bad, seq := k.echoRequest()
			if tc.is6 {
				bad[len(bad)-1] ^= 0xFF // payload byte: the UDP checksum no longer matches
			} else {
				bad[EthLen+10] ^= 0xFF // IPv4 header checksum
			}
			k.send(bad)
			reply, _ := k.awaitReply(seq, 700*time.Millisecond)
			require.Nil(t, reply, "the kernel answered a corrupted packet")
			if tc.is6 {
				// And, like ParseOuter's default, it refuses a zero UDP
				// checksum over IPv6 (noudp6zerocsumrx).
				zero, seq := k.echoRequest()
				zero[EthLen+IPv6Len+6], zero[EthLen+IPv6Len+7] = 0, 0
				_, r := ParseOuter(zero, DecapConfig{})
				require.Equal(t, ZeroUDPChecksum, r)
				k.send(zero)
				reply, _ := k.awaitReply(seq, 700*time.Millisecond)
				require.Nil(t, reply, "the kernel accepted a zero IPv6 UDP checksum")
			}
		})
	}
}

// compareOuter holds our outer headers to the kernel's: the same shape
// field by field, except those that are per packet or where the two differ
// by design (logged). sameCsum says whether both were configured alike for
// IPv4 UDP checksums.
func compareOuter(t *testing.T, k *kernelPeer, ours, theirs []byte, sameCsum bool) {
	t.Helper()
	do, dk := decode(t, ours), decode(t, theirs)
	require.Equal(t, dk.eth.EthernetType, do.eth.EthernetType)
	require.Equal(t, layers.UDPPort(DefaultPort), dk.udp.DstPort, "kernel destination port")
	require.Equal(t, dk.udp.DstPort, do.udp.DstPort)
	require.True(t, uint16(dk.udp.SrcPort) >= k.portLo && uint16(dk.udp.SrcPort) <= k.portHi,
		"kernel source port %d outside its local port range %d-%d", dk.udp.SrcPort, k.portLo, k.portHi)
	require.GreaterOrEqual(t, uint16(do.udp.SrcPort), uint16(DefaultSrcPortMin), "ours in RFC 7348's range")
	require.Equal(t, dk.vxlan.Contents, do.vxlan.Contents, "VXLAN header: flags 0x08, reserved zero, same VNI")
	if dk.ip4 != nil {
		require.Equal(t, dk.ip4.IHL, do.ip4.IHL)
		require.Equal(t, dk.ip4.TOS, do.ip4.TOS)
		require.Equal(t, dk.ip4.TTL, do.ip4.TTL, "TTL")
		require.Equal(t, dk.ip4.Flags, do.ip4.Flags, "DF (kernel default: df unset)")
		require.Equal(t, dk.ip4.Protocol, do.ip4.Protocol)
		require.Equal(t, uint16(0xFFFF), refSum(dk.ip4.Contents, 0))
		if dk.udp.Checksum != 0 {
			src, dst := dk.addrs()
			require.Equal(t, uint16(0xFFFF), refUDPSum(src, dst, dk.udpBytes()))
		}
		if sameCsum {
			require.Equal(t, dk.udp.Checksum == 0, do.udp.Checksum == 0, "IPv4 UDP checksum sent by both or neither")
		}
		t.Logf("IPv4 ID: kernel %#04x, ours %#04x (always 0)", dk.ip4.Id, do.ip4.Id)
	} else {
		require.Equal(t, dk.ip6.TrafficClass, do.ip6.TrafficClass)
		require.Equal(t, dk.ip6.HopLimit, do.ip6.HopLimit, "hop limit")
		require.Equal(t, dk.ip6.NextHeader, do.ip6.NextHeader)
		require.NotZero(t, dk.udp.Checksum)
		src, dst := dk.addrs()
		require.Equal(t, uint16(0xFFFF), refUDPSum(src, dst, dk.udpBytes()))
		t.Logf("IPv6 flow label: kernel %#05x, ours %#05x", dk.ip6.FlowLabel, do.ip6.FlowLabel)
	}
	t.Logf("UDP source port: kernel %d (range %d-%d), ours %d; checksum: kernel %#04x, ours %#04x",
		dk.udp.SrcPort, k.portLo, k.portHi, do.udp.SrcPort, dk.udp.Checksum, do.udp.Checksum)
}
