package daemon

import (
	"encoding/binary"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestTrunkCarriesFullSizeTaggedFrames: a full-MTU IP packet from an
// access port on VLAN 10 leaves a trunk of the same MTU tagged, 4 bytes
// longer than an untagged frame, as an AF_XDP port sends it; the kernel
// takes such a frame from a packet socket (MTU+4 for an 802.1Q frame) and
// from a tap. AF_PACKET (veth io=afpacket) and tap trunks used to drop it
// as l2-output too-big: their largest frame was MTU+14.
//
// The kernel here has no 8021q module: a raw packet socket in the trunk's
// namespace receives the frame as the kernel presents it, untagged with
// the tag in PACKET_AUXDATA (or still tagged).
func TestTrunkCarriesFullSizeTaggedFrames(t *testing.T) {
	nettest.NeedRoot(t)
	for _, trunk := range []struct {
		name string
		opts []string
	}{
		{"afpacket", []string{"type=veth", "io=afpacket"}},
		{"tap", []string{"type=tap"}},
	} {
		t.Run(trunk.name, func(t *testing.T) {
			na, nb := nettest.NewNS(t), nettest.NewNS(t)
			sfx := nettest.Suffix()
			pa, pb := "vma"+sfx, "vmb"+sfx
			t.Cleanup(func() { deleteHostEnd(pa); deleteHostEnd(pb) })
			d := newTestDaemon(t, t.TempDir())
			require.True(t, run(t, d, "add-br", "br0").OK)
			r := run(t, d, "add-port", "br0", pa, "type=veth", "io=afpacket", "netns="+na.Path(), "ip=10.87.0.1/24", "vlan=10")
			require.True(t, r.OK, "%+v", r.Error)
			r = run(t, d, "add-port", append([]string{"br0", pb, "netns=" + nb.Path(), "ip=10.87.0.2/24", "trunks=10"}, trunk.opts...)...)
			require.True(t, r.OK, "%+v", r.Error)
			for _, ns := range []*nettest.NS{na, nb} {
				l, err := netdev.LinkByName(ns.Path(), "eth0")
				require.NoError(t, err)
				require.Equal(t, 1500, l.MTU)
			}
			// The trunk's container cannot answer ARP in VLAN 10: its MAC
			// is given to the sender.
			out, err := na.Command("ip", "neigh", "replace", "10.87.0.2", "lladdr", containerMAC(t, nb),
				"dev", "eth0", "nud", "permanent").CombinedOutput()
			require.NoError(t, err, "%s", out)
			fd := rawSocket(t, nb)

			// ping -s 1472 -M do: a 1500-byte IP packet, not fragmented.
			// Its echo is never answered; it is sent once a second until
			// the frame arrives.
			ping := na.Command("ping", "-q", "-i", "0.2", "-w", "10", "-s", "1472", "-M", "do", "10.87.0.2")
			require.NoError(t, ping.Start())
			t.Cleanup(func() { ping.Process.Kill(); ping.Wait() })
			var got taggedFrame
			deadline := time.Now().Add(10 * time.Second)
			for !got.isEcho1500() && time.Now().Before(deadline) {
				got = readFrame(t, fd)
			}
			require.True(t, got.isEcho1500(), "no full-size echo request reached the trunk (l2-output too-big? %s)", dropsOf(t, d))
			require.True(t, got.tagged, "the frame reached the trunk untagged")
			require.Equal(t, uint16(10), got.vlan&0xFFF)
		})
	}
}

// rawSocket opens a packet socket on eth0 in ns, with PACKET_AUXDATA on
// (the tag the kernel took out of a frame) and a short receive timeout.
func rawSocket(t *testing.T, ns *nettest.NS) int {
	t.Helper()
	l, err := netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err)
	proto := int(htons(unix.ETH_P_ALL))
	fd := -1
	require.NoError(t, netdev.Do(ns.Path(), func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		return err
	}))
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: l.Index}))
	require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1))
	require.NoError(t, unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200_000}))
	return fd
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// taggedFrame is a frame a packet socket received, with its VLAN tag
// (from the auxdata, or from the frame if the kernel left it in).
type taggedFrame struct {
	frame  []byte // untagged
	tagged bool
	vlan   uint16
}

// isEcho1500 tells an ICMP echo request in a 1500-byte IPv4 packet.
func (f taggedFrame) isEcho1500() bool {
	b := f.frame
	return len(b) >= 14+20+8 && binary.BigEndian.Uint16(b[12:14]) == unix.ETH_P_IP &&
		binary.BigEndian.Uint16(b[16:18]) == 1500 && b[14+9] == unix.IPPROTO_ICMP && b[14+20] == 8
}

// readFrame reads one frame ({} after the timeout).
func readFrame(t *testing.T, fd int) taggedFrame {
	t.Helper()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.TpacketAuxdata{}))))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_TRUNC)
	if err == unix.EAGAIN || err == unix.EINTR {
		return taggedFrame{}
	}
	require.NoError(t, err)
	require.LessOrEqual(t, n, len(buf))
	f := taggedFrame{frame: buf[:n]}
	cms, err := unix.ParseSocketControlMessage(oob[:oobn])
	require.NoError(t, err)
	for _, cm := range cms {
		if cm.Header.Level != unix.SOL_PACKET || cm.Header.Type != unix.PACKET_AUXDATA ||
			len(cm.Data) < int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
			continue
		}
		aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&cm.Data[0]))
		if aux.Status&unix.TP_STATUS_VLAN_VALID != 0 {
			f.tagged, f.vlan = true, aux.Vlan_tci
		}
	}
	if b := f.frame; !f.tagged && len(b) >= 18 && binary.BigEndian.Uint16(b[12:14]) == unix.ETH_P_8021Q {
		f.tagged, f.vlan = true, binary.BigEndian.Uint16(b[14:16])
		f.frame = append(append([]byte{}, b[:12]...), b[16:]...)
	}
	return f
}

// dropsOf is the switch's drop counters (show-errors), for a failure
// message.
func dropsOf(t *testing.T, d *Daemon) string {
	return string(run(t, d, "show-errors").Result)
}
