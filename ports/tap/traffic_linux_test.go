package tap_test

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/ports/tap"
)

func TestTapARPAndICMP(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	r := newRig(t, tap.Config{Name: "tap0", Netns: ns, Addrs: []netip.Prefix{tapNet}})
	dev := r.p.Device()
	require.Equal(t, "eth0", dev.Ifname)
	require.Equal(t, ns, dev.Netns)
	require.Equal(t, "tap0", r.p.Name())
	require.Equal(t, ports.Info{RxQueues: 1, TxQueues: 1, BatchSize: pipeline.VectorSize, MaxFrame: 1514}, r.p.Info())
	li, err := netdev.LinkByName(ns, "eth0")
	require.NoError(t, err)
	require.Equal(t, "tuntap", li.Kind)
	require.True(t, li.Up)
	require.Equal(t, 1500, li.MTU)
	require.Equal(t, dev.MAC, li.MAC)
	require.Equal(t, dev.Index, li.Index)

	_, udp := resolve(t, r, ns)
	eth := udp.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	require.Equal(t, peerMAC.String(), eth.DstMAC.String(), "sent to the MAC of the ARP reply")
	requireUDPChecksum(t, udp)

	require.Equal(t, 1, r.send(t, 0, echoRequest(t, dev.MAC, tapIP, 0x4242, 1)))
	rep := r.poll(t, 5*time.Second, isEchoReply(0x4242))
	require.NotNil(t, rep, "the namespace's kernel answers the echo request")
	ip := rep.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	require.Equal(t, tapIP.String(), ip.SrcIP.String())
	require.Equal(t, peerIP.String(), ip.DstIP.String())

	st := r.p.Stats()
	require.GreaterOrEqual(t, st.RxPackets, uint64(3))
	require.Equal(t, uint64(2), st.TxPackets)
	require.NotZero(t, st.RxBytes)
	require.NotZero(t, st.TxBytes)
	require.Zero(t, st.RxOversize+st.RxErrors+st.TxFull+st.TxErrors+st.TxDown+st.TxInvalid+st.TxOversize+st.TxLinkDown)
	require.False(t, r.p.Down())
	require.NoError(t, r.p.DownErr())
	require.False(t, r.p.Probe(), "the probe finds the device there")
}

func TestTapMultiQueue(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	const n = 4
	r := newRig(t, tap.Config{Name: "mq", Netns: ns, Ifname: "net1", Queues: n, BatchSize: 32, Addrs: []netip.Prefix{tapNet}})
	require.Equal(t, ports.Info{RxQueues: n, TxQueues: n, BatchSize: 32, MaxFrame: 1514}, r.p.Info())
	_, err := r.p.OpenRx(n, r.pool)
	require.ErrorIs(t, err, ports.ErrNoQueue)
	_, err = r.p.OpenTx(0, r.pool)
	require.ErrorIs(t, err, ports.ErrQueueInUse)

	// The control plane reads counters while the queues run.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = r.p.Stats()
				_ = r.p.Down()
				_ = r.p.DownErr()
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	defer func() { close(stop); readers.Wait() }()

	resolve(t, r, ns)
	// Every queue transmits: one echo request each, n replies.
	mac := r.p.Device().MAC
	for q := range n {
		require.Equal(t, 1, r.send(t, q, echoRequest(t, mac, tapIP, uint16(0x100+q), 1)))
	}
	seen := map[uint16]bool{}
	r.poll(t, 5*time.Second, func(p gopacket.Packet) bool {
		for q := range n {
			if isEchoReply(uint16(0x100 + q))(p) {
				seen[uint16(0x100+q)] = true
			}
		}
		return len(seen) == n
	})
	require.Len(t, seen, n, "a reply to every queue's request")
	require.Equal(t, uint64(n+1), r.p.Stats().TxPackets)

	// Closing the port (all queue fds) removes the device.
	for q := range n {
		require.NoError(t, r.rx[q].Close())
		require.NoError(t, r.tx[q].Close())
	}
	require.NoError(t, r.p.Close())
	_, err = netdev.LinkByName(ns, "net1")
	require.ErrorIs(t, err, netdev.ErrNotFound, "tap deleted with its last fd")
	require.ErrorIs(t, r.p.Close(), ports.ErrClosed)
}

func TestTapOversizeAndInvalid(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	r := newRig(t, tap.Config{Name: "o", Netns: ns, Addrs: []netip.Prefix{tapNet}})
	s, _ := resolve(t, r, ns)

	// Inside the container the MTU is raised past what a buffer holds:
	// the kernel truncates the read, the port drops and counts the frame.
	require.NoError(t, netdev.Configure(ns, "eth0", netdev.LinkConfig{MTU: 4000}))
	require.NoError(t, s.send(make([]byte, 3000)))
	require.NoError(t, s.send([]byte("small")))
	small := r.poll(t, 5*time.Second, isUDPTo(9))
	require.NotNil(t, small)
	require.Equal(t, []byte("small"), small.ApplicationLayer().Payload(), "the truncated frame never comes out")
	require.Equal(t, uint64(1), r.p.Stats().RxOversize)

	// Tx drops frames longer than MaxFrame; the kernel refuses runts.
	mac := r.p.Device().MAC
	big := make([]byte, r.p.Info().MaxFrame+1)
	copy(big, echoRequest(t, mac, tapIP, 1, 1))
	runt := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	require.Equal(t, 1, r.send(t, 0, big, runt, echoRequest(t, mac, tapIP, 7, 7)))
	st := r.p.Stats()
	require.Equal(t, uint64(1), st.TxOversize)
	require.Equal(t, uint64(1), st.TxInvalid)

	// Set down inside the container: writes fail with EIO, the port stays up.
	setLinkDown(t, ns, "eth0")
	ids := make([]pipeline.BufID, 2)
	require.Equal(t, 2, r.pool.AllocN(ids))
	for _, id := range ids {
		r.pool.SetPacket(id, echoRequest(t, mac, tapIP, 8, 8))
	}
	sent, err := r.tx[0].Tx(ids)
	require.Zero(t, sent)
	require.ErrorIs(t, err, unix.EIO)
	require.Equal(t, uint64(2), r.p.Stats().TxLinkDown)
	require.False(t, r.p.Down(), "a device set down is not gone")
	require.False(t, r.p.Probe(), "the probe takes a device set down for gone")
}

func setLinkDown(t *testing.T, ns, ifname string) {
	t.Helper()
	h, err := netns.GetFromPath(ns)
	require.NoError(t, err)
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	require.NoError(t, err)
	defer nh.Close()
	l, err := nh.LinkByName(ifname)
	require.NoError(t, err)
	require.NoError(t, nh.LinkSetDown(l))
}
