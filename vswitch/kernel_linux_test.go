package vswitch_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/vswitch"
)

// kernelRig is a running switch whose ports are AF_XDP sockets on the host
// ends of veth pairs, the other ends living in test namespaces.
type kernelRig struct {
	t  *testing.T
	s  *vswitch.Switch
	ns map[string]*nettest.NS
}

func newKernelRig(t *testing.T, workers int) *kernelRig {
	nettest.NeedRoot(t)
	s, err := vswitch.New(vswitch.Options{Workers: workers, PoolFrames: 8192, Idle: pipeline.IdleSleep})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return &kernelRig{t: t, s: s, ns: map[string]*nettest.NS{}}
}

// container makes a namespace with address addr behind a veth whose host
// end becomes switch port name.
func (r *kernelRig) container(name, addr string, queues int) {
	ns := nettest.NewNS(r.t)
	host := "vs" + name + nettest.Suffix() // peer name adds "p": keep under 15
	nettest.Veth(r.t, host, ns, addr, queues)
	p, err := afxdp.New(afxdp.Config{Name: name, Ifname: host, RingSize: 1024})
	require.NoError(r.t, err)
	require.NoError(r.t, r.s.AddPort(p))
	r.ns[name] = ns
}

func (r *kernelRig) ping(from, to string) error {
	out, err := r.ns[from].Command("ping", "-c", "2", "-i", "0.2", "-W", "2", to).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %w: %s", to, from, err, out)
	}
	return nil
}

// TestVethPingThroughSwitch pings between namespaces attached to one bridge
// and checks that a namespace on another bridge cannot reach them.
func TestVethPingThroughSwitch(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint(workers, "workers"), func(t *testing.T) {
			r := newKernelRig(t, workers)
			r.container("a", "10.88.0.1/24", workers)
			r.container("b", "10.88.0.2/24", workers)
			r.container("c", "10.88.0.3/24", workers)
			require.NoError(t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
				{Name: "br0", Ports: []vswitch.Port{{Name: "a"}, {Name: "b"}}},
				{Name: "br1", Ports: []vswitch.Port{{Name: "c"}}},
			}}))
			require.NoError(t, r.s.Start())
			require.NoError(t, r.ping("a", "10.88.0.2"))
			require.NoError(t, r.ping("b", "10.88.0.1"))
			require.Error(t, r.ping("c", "10.88.0.1"), "bridges are isolated")
			fdb := r.s.FDB()
			require.GreaterOrEqual(t, len(fdb), 3)
			for _, e := range fdb {
				want := map[string]string{"a": "br0", "b": "br0", "c": "br1"}[e.Port]
				require.Equal(t, want, e.Bridge, "learned in the wrong bridge: %+v", e)
			}
		})
	}
}

// TestVethDeletedUnderLoad deletes one container's veth while two others
// exchange traffic through the switch: they keep talking, the dead port is
// reported down, and removing it afterwards works.
func TestVethDeletedUnderLoad(t *testing.T) {
	r := newKernelRig(t, 1)
	r.container("a", "10.89.0.1/24", 1)
	r.container("b", "10.89.0.2/24", 1)
	r.container("c", "10.89.0.3/24", 1)
	require.NoError(t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
		{Name: "br0", Ports: []vswitch.Port{{Name: "a"}, {Name: "b"}, {Name: "c"}}},
	}}))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.ping("a", "10.89.0.3"))

	// Load: a floods b with pings (and c too, so the switch is sending to
	// c's port when it goes away).
	load := r.ns["a"].Command("sh", "-c", "ping -f -w 4 10.89.0.2 >/dev/null & ping -f -w 4 10.89.0.3 >/dev/null; wait")
	require.NoError(t, load.Start())
	t.Cleanup(func() { load.Process.Kill(); load.Wait() })
	time.Sleep(500 * time.Millisecond)
	// The veth's host end is what the port is attached to; deleting either
	// end deletes the pair.
	nh := r.ns["c"].Netlink(t)
	l, err := nh.LinkByName("eth0")
	require.NoError(t, err)
	require.NoError(t, nh.LinkDel(l))
	before, _ := r.s.PortCounters("b")
	time.Sleep(time.Second)
	after, _ := r.s.PortCounters("b")
	require.Greater(t, after.TxPackets, before.TxPackets, "traffic to b stopped when c went away")
	require.NoError(t, r.ping("b", "10.89.0.1"))
	require.NoError(t, r.s.RemovePort("c"))
	require.NoError(t, r.ping("a", "10.89.0.2"))
}
