package tap_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

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

func TestTapHostNamespace(t *testing.T) {
	// "The caller's namespace" is a namespace of the test's own: the test
	// goroutine's thread enters it for the rest of the test.
	netdevtest.EnterNetns(t, netdevtest.NewNetns(t))
	name := netdevtest.Name("vstap")
	r := newRig(t, tap.Config{Name: "h", Ifname: name, MTU: 1400, VLAN: true})
	require.Equal(t, ports.Info{RxQueues: 1, TxQueues: 1, BatchSize: pipeline.VectorSize, MaxFrame: 1418}, r.p.Info())
	dev := r.p.Device()
	require.Equal(t, name, dev.Ifname)
	require.Empty(t, dev.Netns)
	li, err := netdev.LinkByName("", name)
	require.NoError(t, err)
	require.True(t, li.Up)
	require.Equal(t, 1400, li.MTU)
	require.Equal(t, dev.Index, li.Index)

	// An existing name is refused, and the existing tap is left alone.
	_, err = tap.New(tap.Config{Name: "h2", Ifname: name})
	require.ErrorIs(t, err, netdev.ErrExists)
	_, err = netdev.LinkByName("", name)
	require.NoError(t, err)

	for _, q := range r.rx {
		require.NoError(t, q.Close())
	}
	for _, q := range r.tx {
		require.NoError(t, q.Close())
	}
	require.NoError(t, r.p.Close())
	_, err = netdev.LinkByName("", name)
	require.ErrorIs(t, err, netdev.ErrNotFound)

	// The kernel picks a name when none is given.
	p, err := tap.New(tap.Config{Name: "k"})
	require.NoError(t, err)
	require.NotEmpty(t, p.Device().Ifname)
	require.NoError(t, p.Close())
}

func TestTapQueueLifecycle(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	r := newRig(t, tap.Config{Name: "q", Netns: ns})
	require.Error(t, r.p.Close(), "queues still open")
	require.NoError(t, r.rx[0].Close())
	require.Error(t, r.rx[0].Close())
	_, err := r.rx[0].Rx(make([]pipeline.BufID, 4))
	require.Error(t, err)
	rq, err := r.p.OpenRx(0, r.pool)
	require.NoError(t, err, "a closed queue can be opened again")
	r.rx[0] = rq

	require.NoError(t, r.tx[0].Close())
	ids := make([]pipeline.BufID, 3)
	require.Equal(t, 3, r.pool.AllocN(ids))
	sent, err := r.tx[0].Tx(ids)
	require.Error(t, err)
	require.Zero(t, sent)
	require.Equal(t, r.pool.Size(), r.pool.Available(), "a closed tx queue still frees what it is given")
	tq, err := r.p.OpenTx(0, r.pool)
	require.NoError(t, err)
	r.tx[0] = tq

	require.NoError(t, r.rx[0].Close())
	require.NoError(t, r.tx[0].Close())
	require.NoError(t, r.p.Close())
	_, err = r.p.OpenRx(0, r.pool)
	require.ErrorIs(t, err, ports.ErrClosed)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deviceKillers make a tap device in namespace ns go away, the two ways
// a container's tap does.
var deviceKillers = []struct {
	name string
	kill func(t *testing.T, ns string)
}{
	{"link deleted", func(t *testing.T, ns string) {
		h, err := netns.GetFromPath(ns)
		require.NoError(t, err)
		defer h.Close()
		nh, err := netlink.NewHandleAt(h)
		require.NoError(t, err)
		defer nh.Close()
		l, err := nh.LinkByName("eth0")
		require.NoError(t, err)
		require.NoError(t, nh.LinkDel(l))
	}},
	{"namespace deleted", func(t *testing.T, ns string) {
		require.NoError(t, netdevtest.DeleteNetns(ns))
	}},
}

func TestTapDeviceGone(t *testing.T) {
	for _, tc := range deviceKillers {
		t.Run(tc.name, func(t *testing.T) {
			ns := netdevtest.NewNetns(t)
			var log syncBuffer
			r := newRig(t, tap.Config{Name: "gone", Netns: ns, Queues: 2, Addrs: []netip.Prefix{tapNet},
				Logger: slog.New(slog.NewTextHandler(&log, nil))})
			s, _ := resolve(t, r, ns)
			s.close() // an open socket would keep the namespace alive
			tc.kill(t, ns)

			// Keep polling and sending, as a worker would, until the port
			// notices. Exactly one call reports ErrDown.
			mac := r.p.Device().MAC
			ids := make([]pipeline.BufID, pipeline.VectorSize)
			var downs int
			deadline := time.Now().Add(10 * time.Second)
			for {
				for q := range 2 {
					n, err := r.rx[q].Rx(ids)
					r.pool.FreeN(ids[:n])
					if errors.Is(err, tap.ErrDown) {
						downs++
					} else {
						require.NoError(t, err)
					}
					one := ids[:1]
					require.Equal(t, 1, r.pool.AllocN(one))
					r.pool.SetPacket(one[0], echoRequest(t, mac, tapIP, 9, 9))
					_, err = r.tx[q].Tx(one)
					if errors.Is(err, tap.ErrDown) {
						downs++
					}
				}
				if r.p.Down() || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			require.True(t, r.p.Down(), "port marked down")
			err := r.p.DownErr()
			require.Equal(t, 1, downs)
			require.ErrorIs(t, err, tap.ErrDown)
			require.ErrorIs(t, err, unix.EBADFD)
			t.Logf("down: %v", err)
			require.Contains(t, log.String(), "tap port down")

			// A down port receives nothing and drops what it is given.
			before := r.p.Stats().TxDown
			for q := range 2 {
				n, err := r.rx[q].Rx(ids)
				require.NoError(t, err)
				require.Zero(t, n)
				require.Equal(t, 3, r.pool.AllocN(ids[:3]))
				sent, err := r.tx[q].Tx(ids[:3])
				require.NoError(t, err)
				require.Zero(t, sent)
			}
			require.Equal(t, before+6, r.p.Stats().TxDown)

			// Removal still works.
			for q := range 2 {
				require.NoError(t, r.rx[q].Close())
				require.NoError(t, r.tx[q].Close())
			}
			require.NoError(t, r.p.Close())
		})
	}
}

// TestTapProbe: Probe finds a gone device by itself, with no queue
// called (a health check must not depend on traffic), marks the port down
// as a failed read would, and leaves a device that is merely set down,
// or still there, alone.
func TestTapProbe(t *testing.T) {
	for _, tc := range deviceKillers {
		t.Run(tc.name, func(t *testing.T) {
			ns := netdevtest.NewNetns(t)
			var log syncBuffer
			r := newRig(t, tap.Config{Name: "probed", Netns: ns, Queues: 2, Addrs: []netip.Prefix{tapNet},
				Logger: slog.New(slog.NewTextHandler(&log, nil))})
			require.False(t, r.p.Probe())
			setLinkDown(t, ns, "eth0")
			require.False(t, r.p.Probe(), "a device set down is not gone")
			require.False(t, r.p.Down())

			tc.kill(t, ns)
			// A namespace is dismantled by a kernel worker, a moment later.
			require.Eventually(t, r.p.Probe, 10*time.Second, 10*time.Millisecond, "the probe does not see the device gone")
			require.True(t, r.p.Down())
			err := r.p.DownErr()
			require.ErrorIs(t, err, tap.ErrDown)
			require.ErrorIs(t, err, unix.EBADFD)
			require.Contains(t, log.String(), "op=probe")

			// The queues no longer touch the descriptors.
			ids := make([]pipeline.BufID, 3)
			for q := range 2 {
				n, err := r.rx[q].Rx(ids)
				require.NoError(t, err)
				require.Zero(t, n)
				require.Equal(t, 3, r.pool.AllocN(ids))
				sent, err := r.tx[q].Tx(ids)
				require.NoError(t, err)
				require.Zero(t, sent)
			}
			require.Equal(t, uint64(6), r.p.Stats().TxDown)
			for q := range 2 {
				require.NoError(t, r.rx[q].Close())
				require.NoError(t, r.tx[q].Close())
			}
			require.NoError(t, r.p.Close())
			require.True(t, r.p.Probe(), "a closed port is probed without its descriptors")
		})
	}
}
