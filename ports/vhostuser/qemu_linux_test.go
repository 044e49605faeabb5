package vhostuser_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/internal/vmtest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/ports/tap"
	"github.com/vecswitch/vecswitch/ports/vhostuser"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The VM's and the container's addresses, and the TCP ports of the two
// streams.
const (
	vmMAC      = "02:00:00:00:92:02"
	vmAddr     = "10.92.0.2"
	ctAddr     = "10.92.0.1"
	toCtPort   = 5001
	toVMPort   = 5002
	streamMiB  = 16
	guestAwait = 60 * time.Second // one step of the guest's script, under TCG
)

// Virtio-net feature bits a Linux guest takes when offered (virtio 1.2,
// 5.1.3), as our port and the guest's /sys/bus/virtio/.../features name
// them.
var offloadBits = []struct {
	bit  uint
	name string
}{
	{0, "CSUM"}, {1, "GUEST_CSUM"}, {7, "GUEST_TSO4"}, {8, "GUEST_TSO6"},
	{11, "HOST_TSO4"}, {12, "HOST_TSO6"},
}

const featMrgRxbuf = 15

// needQEMU returns the kernel to boot, or skips (fails under CI) when
// QEMU, a kernel or a static busybox is missing.
func needQEMU(t *testing.T) vmtest.Kernel {
	t.Helper()
	nettest.NeedRoot(t)
	_, err := vmtest.QEMU()
	var k vmtest.Kernel
	if err == nil {
		k, err = vmtest.FindKernel("/boot", "/lib/modules")
	}
	if err == nil {
		_, err = os.Stat("/bin/busybox")
	}
	if err != nil {
		if os.Getenv("VECSWITCH_CI") != "" {
			t.Fatalf("%v (the CI installs qemu-system-x86, linux-image-amd64 and busybox-static)", err)
		}
		t.Skipf("%v: it boots a real guest", err)
	}
	return k
}

// guestScript is the VM's /init: load virtio-net (the initramfs does),
// configure eth0, ping the container, send it a stream of random bytes
// and report their hash, receive a stream and report its hash, print the
// negotiated features and the TCP/UDP counters, power off. Each result
// is a console line starting with VSTEST.
var guestScript = fmt.Sprintf(`
echo VSTEST features $(cat /sys/bus/virtio/devices/virtio0/features)
ip link set lo up
ip link set eth0 up
ip addr add %[1]s/24 dev eth0
echo VSTEST up $(cat /sys/class/net/eth0/address)
if ping -c 3 -W 10 %[2]s >/tmp/ping; then echo VSTEST ping ok; else echo VSTEST ping failed; fi
cat /tmp/ping
dd if=/dev/urandom of=/tmp/tx bs=1048576 count=%[3]d 2>/dev/null
echo VSTEST txdata $(sha256sum /tmp/tx | cut -d' ' -f1) $(stat -c %%s /tmp/tx)
echo VSTEST txstart
nc %[2]s %[4]d </tmp/tx
echo VSTEST txdone $?
rm /tmp/tx
echo VSTEST listen
nc -l -p %[5]d >/tmp/rx
echo VSTEST rx $(sha256sum /tmp/rx | cut -d' ' -f1) $(stat -c %%s /tmp/rx)
echo VSTEST snmp $(grep -E '^(Tcp|Udp):' /proc/net/snmp | tr '\n' ' ')
grep eth0 /proc/net/dev
`, vmAddr, ctAddr, streamMiB, toCtPort, toVMPort)

// TestQEMUGuest attaches a real VM (QEMU, TCG, booting Debian's kernel)
// by vhost-user to a switch whose other port is a container (a
// namespace on an offload tap). The guest's virtio-net driver pings the
// container and moves a TCP stream to it and takes one from it, each
// arriving intact (same SHA-256 at both ends) with no checksum error in
// either kernel. With offloads (the default) the guest negotiates them
// and the frames cross as 64 KiB GSO frames both ways; with offload=off
// it negotiates none and every frame is a plain one.
func TestQEMUGuest(t *testing.T) {
	k := needQEMU(t)
	initrd := filepath.Join(t.TempDir(), "initrd")
	err := k.BuildInitramfs(initrd, vmtest.Initramfs{
		Modules: []string{"virtio_pci", "virtio_net"},
		Init:    guestScript,
	})
	if errors.Is(err, vmtest.ErrNotStatic) {
		t.Skip(err)
	}
	require.NoError(t, err)
	for _, offload := range []string{"on", "off"} {
		t.Run("offload="+offload, func(t *testing.T) { qemuGuest(t, k, initrd, offload) })
	}
}

func qemuGuest(t *testing.T, k vmtest.Kernel, initrd, offload string) {
	start := time.Now()
	sw, err := vswitch.New(vswitch.Options{Workers: 1, PoolFrames: 16384, Idle: pipeline.IdleSleep})
	require.NoError(t, err)
	t.Cleanup(func() { sw.Close() })

	ns := nettest.NewNS(t)
	ct, err := tap.New(tap.Config{Name: "ct", Netns: ns.Path(), Offload: true,
		Addrs: []netip.Prefix{netip.MustParsePrefix(ctAddr + "/24")}})
	require.NoError(t, err)
	require.NoError(t, sw.AddPort(ct))
	sock := filepath.Join(t.TempDir(), "vm.sock")
	cfg, err := vhostuser.ParseOptions(map[string]string{"socket": sock, "mac": vmMAC, "offload": offload})
	require.NoError(t, err)
	cfg.Name, cfg.Logger = "vm", quietUnlessVerbose()
	vp, err := vhostuser.New(cfg)
	require.NoError(t, err)
	require.NoError(t, sw.AddPort(vp))
	require.NoError(t, sw.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
		{Name: "br0", Ports: []vswitch.Port{{Name: "ct"}, {Name: "vm"}}},
	}}))
	require.NoError(t, sw.Start())

	// The container's end of the guest's stream.
	ln := listenIn(t, ns, ctAddr, toCtPort)
	got := make(chan streamResult, 1)
	go func() { got <- receiveStream(ln) }()

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	t.Cleanup(cancel)
	vm, err := vmtest.Start(ctx, t, vmtest.Config{
		Kernel: k, Initrd: initrd, MemoryMiB: 512, Append: "quiet",
		Args: []string{
			"-chardev", "socket,id=c0,path=" + sock,
			"-netdev", "vhost-user,id=n0,chardev=c0",
			"-device", "virtio-net-pci,netdev=n0,mac=" + vmMAC + ",mrg_rxbuf=on,csum=on,guest_csum=on," +
				"host_tso4=on,host_tso6=on,guest_tso4=on,guest_tso6=on,host_ufo=off,guest_ufo=off," +
				// INTx, not MSI-X: QEMU 7.2 under TCG segfaults starting
				// vhost-user with MSI-X (see the package doc, "Tested with").
				"vectors=0",
		},
	})
	require.NoError(t, err)

	feats, i, err := vm.WaitLine(0, "VSTEST features", guestAwait)
	require.NoError(t, err)
	mac, i, err := vm.WaitLine(i, "VSTEST up", guestAwait)
	require.NoError(t, err)
	require.Equal(t, vmMAC, mac, "the guest's eth0 is the vhost-user NIC")
	boot := vm.Since()
	st := vp.Status()
	require.True(t, st.Connected)
	require.Equal(t, 2, st.RunningRings, "%+v", st)
	require.NotZero(t, st.Features&(1<<featMrgRxbuf), "mergeable buffers negotiated")
	for _, b := range offloadBits {
		port := st.Features&(1<<b.bit) != 0
		require.Equal(t, offload == "on", port, "the port's %s (features %#x)", b.name, st.Features)
		require.True(t, len(feats) > int(b.bit), "guest features %q", feats)
		require.Equal(t, port, feats[b.bit] == '1', "the guest's and the port's %s differ (guest %s)", b.name, feats)
	}

	ping, i, err := vm.WaitLine(i, "VSTEST ping", guestAwait)
	require.NoError(t, err)
	require.Equal(t, "ok", ping, "the guest pinged the container")

	// Guest to container.
	txdata, i, err := vm.WaitLine(i, "VSTEST txdata", guestAwait)
	require.NoError(t, err)
	txdone, i, err := vm.WaitLine(i, "VSTEST txdone", guestAwait)
	require.NoError(t, err)
	require.Equal(t, "0", txdone, "the guest's nc")
	var up streamResult
	select {
	case up = <-got:
	case <-time.After(guestAwait):
		t.Fatal("the container's end of the guest's stream never finished")
	}
	require.NoError(t, up.err)
	require.Equal(t, fmt.Sprintf("%s %d", up.sha, up.n), txdata, "what the container received is what the guest sent")
	s := vp.Stats()
	gsoIn := s.RxGSOFrames

	// Container to guest.
	_, i, err = vm.WaitLine(i, "VSTEST listen", guestAwait)
	require.NoError(t, err)
	down := sendStream(t, ns, vmAddr, toVMPort, streamMiB<<20)
	rx, i, err := vm.WaitLine(i, "VSTEST rx", guestAwait)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%s %d", down.sha, down.n), rx, "what the guest received is what the container sent")

	snmpLine, _, err := vm.WaitLine(i, "VSTEST snmp", guestAwait)
	require.NoError(t, err)
	require.NoError(t, vm.Wait(guestAwait), "the guest powers off")

	s = vp.Stats()
	t.Logf("offload=%s: guest up (eth0 configured) %.1fs after QEMU started; guest->container %d MiB at %.0f Mbit/s, container->guest at %.0f Mbit/s; whole test %.1fs",
		offload, boot.Seconds(), streamMiB, up.mbps(), down.mbps(), time.Since(start).Seconds())
	t.Logf("port: %d frames in (%d GSO, %d B average), %d out (%d GSO, %d B average, %d segmented)",
		s.RxPackets, s.RxGSOFrames, s.RxBytes/max(s.RxPackets, 1), s.TxPackets, s.TxGSOFrames, s.TxBytes/max(s.TxPackets, 1), s.TxSegmented)
	for _, name := range []string{"InCsumErrors"} {
		require.Zero(t, snmpField(t, snmpLine, "Tcp", name), "the guest's TCP %s", name)
		require.Zero(t, snmpField(t, snmpLine, "Udp", name), "the guest's UDP %s", name)
	}
	require.Zero(t, snmp(t, ns, "Tcp", "InCsumErrors"), "the container's TCP checksum errors")
	require.Zero(t, snmp(t, ns, "Udp", "InCsumErrors"), "the container's UDP checksum errors")
	require.Zero(t, s.RxBadDesc+s.RxBadAddr+s.TxBadDesc+s.TxBadAddr+s.RxBrokenRings+s.TxBrokenRings, "bad descriptors: %+v", s)
	require.Zero(t, s.ProtocolErrors+s.Faults+s.RxRunt+s.RxOversize+s.RxGSO+s.RxBadHeader+s.TxBadOffload+s.TxNoRoom, "%+v", s)
	if offload == "on" {
		require.Positive(t, gsoIn, "the guest's stream came as GSO frames")
		require.Positive(t, s.TxGSOFrames, "the container's stream went to the guest as GSO frames")
		require.Zero(t, s.TxSegmented, "nothing segmented for a guest that takes GSO")
	} else {
		require.Zero(t, s.RxGSOFrames+s.TxGSOFrames+s.TxSegmented, "no offload: plain frames only")
		require.LessOrEqual(t, s.TxBytes/max(s.TxPackets, 1), uint64(1514), "no offload: frames of at most the MTU")
	}
}

// streamResult is one TCP stream's outcome at its measuring end.
type streamResult struct {
	sha string
	n   int64
	d   time.Duration
	err error
}

func (r streamResult) mbps() float64 { return float64(r.n) * 8 / r.d.Seconds() / 1e6 }

// listenIn listens on addr:port inside the namespace.
func listenIn(t *testing.T, ns *nettest.NS, addr string, port int) net.Listener {
	t.Helper()
	fd, closeFD := netdevtest.Socket(t, ns.Path(), unix.AF_INET, unix.SOCK_STREAM, 0)
	defer closeFD()
	require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: netip.MustParseAddr(addr).As4()}))
	require.NoError(t, unix.Listen(fd, 1))
	f := os.NewFile(uintptr(dupFD(t, fd)), "listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dupFD(t *testing.T, fd int) int {
	d, err := unix.Dup(fd)
	require.NoError(t, err)
	return d
}

// receiveStream accepts one connection and hashes what arrives until the
// sender closes; the time runs from the accept.
func receiveStream(ln net.Listener) streamResult {
	c, err := ln.Accept()
	if err != nil {
		return streamResult{err: err}
	}
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(start.Add(guestAwait))
	h := sha256.New()
	n, err := io.Copy(h, c)
	return streamResult{sha: hex.EncodeToString(h.Sum(nil)), n: n, d: time.Since(start), err: err}
}

// sendStream connects from the namespace to addr:port (retrying while
// the guest's listener is not there yet), sends size random bytes,
// closes its side and waits until the guest closes too (its nc has
// written everything out); the time runs from the connect.
func sendStream(t *testing.T, ns *nettest.NS, addr string, port, size int) streamResult {
	t.Helper()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(port)}).Read(data)
	sum := sha256.Sum256(data)
	var c net.Conn
	for end := time.Now().Add(guestAwait); c == nil; {
		fd, closeFD := netdevtest.Socket(t, ns.Path(), unix.AF_INET, unix.SOCK_STREAM, 0)
		err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: netip.MustParseAddr(addr).As4()})
		if err == nil {
			f := os.NewFile(uintptr(dupFD(t, fd)), "conn")
			c, err = net.FileConn(f)
			f.Close()
			require.NoError(t, err)
		}
		closeFD()
		if c == nil {
			require.True(t, time.Now().Before(end), "cannot connect to the guest: %v", err)
			time.Sleep(100 * time.Millisecond)
		}
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(guestAwait))
	_, err := io.Copy(c, bytes.NewReader(data))
	require.NoError(t, err, "sending to the guest")
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	n, err := io.Copy(io.Discard, c)
	require.NoError(t, err, "waiting for the guest to close")
	require.Zero(t, n)
	return streamResult{sha: hex.EncodeToString(sum[:]), n: int64(size), d: time.Since(start)}
}

// snmpField reads a counter from the guest's /proc/net/snmp lines joined
// into one: "Tcp: Name... Tcp: value... Udp: ...".
func snmpField(t *testing.T, line, group, name string) uint64 {
	t.Helper()
	parts := strings.Split(line, group+":")
	require.GreaterOrEqual(t, len(parts), 3, "no %s in %q", group, line)
	names, values := strings.Fields(parts[1]), strings.Fields(parts[2])
	for i, n := range names {
		if n == name && i < len(values) {
			v, err := strconv.ParseUint(values[i], 10, 64)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatalf("no %s %s in %q", group, name, line)
	return 0
}
