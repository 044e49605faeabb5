package tap_test

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/ports/tap"
)

// TestHandover: a released port closes its descriptors and leaves the
// device; the port adopted from duplicates of them carries the traffic
// the namespace sends (its ARP cache still valid: the same device), and
// closing the adopted port deletes the device.
func TestHandover(t *testing.T) {
	for _, offload := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "offload"}[offload]
		t.Run(name, func(t *testing.T) {
			ns := netdevtest.NewNetns(t)
			r := newRig(t, tap.Config{Name: "old", Netns: ns, Queues: 2, Addrs: []netip.Prefix{tapNet}, Offload: offload})
			s, _ := resolve(t, r, ns)
			defer s.close()

			h, fds := r.p.Handover()
			require.Len(t, fds, 2)
			require.Equal(t, "eth0", h.Ifname)
			require.Equal(t, r.p.Device().MAC.String(), h.MAC)
			dups := nettest.DupFDs(t, fds)

			// The old process lets go.
			for _, q := range r.rx {
				q.Close()
			}
			for _, q := range r.tx {
				q.Close()
			}
			r.rx, r.tx = nil, nil
			r.p.Release()
			require.NoError(t, r.p.Close())
			l, err := netdev.LinkByName(ns, "eth0")
			require.NoError(t, err, "the device went with the released port")
			require.Equal(t, h.Index, l.Index)

			p, err := tap.Adopt("new", h, dups, nil)
			require.NoError(t, err)
			require.Equal(t, r.p.Info(), p.Info())
			pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 512})
			require.NoError(t, err)
			defer pool.Close()
			nr := &rig{p: p, pool: pool}
			for q := range 2 {
				rq, err := p.OpenRx(q, pool)
				require.NoError(t, err)
				tq, err := p.OpenTx(q, pool)
				require.NoError(t, err)
				nr.rx, nr.tx = append(nr.rx, rq), append(nr.tx, tq)
			}
			require.NoError(t, s.send([]byte("after")))
			require.NotNil(t, nr.poll(t, 5*time.Second, isUDPTo(9)), "datagram through the adopted port")
			for q := range 2 {
				nr.rx[q].Close()
				nr.tx[q].Close()
			}
			pool.Reclaim()
			require.NoError(t, p.Close())
			_, err = netdev.LinkByName(ns, "eth0")
			require.True(t, errors.Is(err, netdev.ErrNotFound), "device still there after its last port closed: %v", err)
		})
	}
}

// TestAdoptRefuses: descriptors that are not the described tap, or the
// wrong number of them, are refused and left open.
func TestAdoptRefuses(t *testing.T) {
	ns := netdevtest.NewNetns(t)
	r := newRig(t, tap.Config{Name: "t", Netns: ns, Addrs: []netip.Prefix{tapNet}})
	h, fds := r.p.Handover()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()

	_, err = tap.Adopt("x", h, nil, nil)
	require.Error(t, err)
	_, err = tap.Adopt("x", h, []int{int(pr.Fd())}, nil)
	require.ErrorContains(t, err, "not a tap descriptor")
	bad := h
	bad.Ifname = "other"
	_, err = tap.Adopt("x", bad, fds, nil)
	require.ErrorContains(t, err, "descriptor of eth0")
	bad = h
	bad.Offload = true
	_, err = tap.Adopt("x", bad, fds, nil)
	require.ErrorContains(t, err, "flags")
	_, err = unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0)
	require.NoError(t, err, "a refused descriptor was closed")
}
