package vswitch_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// macContainer is kernelRig.container that also returns the namespace's
// MAC.
func (r *kernelRig) macContainer(name, addr string) net.HardwareAddr {
	ns := nettest.NewNS(r.t)
	host := "vk" + name + nettest.Suffix()
	mac := nettest.Veth(r.t, host, ns, addr, 1)
	p, err := afxdp.New(afxdp.Config{Name: name, Ifname: host, RingSize: 1024})
	require.NoError(r.t, err)
	require.NoError(r.t, r.s.AddPort(p))
	r.ns[name] = ns
	return mac
}

// packetSocket opens an AF_PACKET socket on eth0 of ns (netdev.Do runs
// the opening on a thread in ns that goes back to the test's namespace),
// to send forged frames from there. Closed at cleanup.
func packetSocket(t *testing.T, ns *nettest.NS) int {
	fd := -1
	err := netdev.Do(ns.Path(), func() error {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		s, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0) // protocol 0: sends only
		if err != nil {
			return err
		}
		if err := unix.Bind(s, &unix.SockaddrLinklayer{Ifindex: ifc.Index}); err != nil {
			unix.Close(s)
			return err
		}
		fd = s
		return nil
	})
	require.NoError(t, err, "AF_PACKET socket in %s", ns.Name)
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// forge sends frame from fd every millisecond until the test ends or stop
// is closed, and returns how many it sent (when done is read).
func forge(t *testing.T, fd int, frame []byte) (stop func() int) {
	quit, done := make(chan struct{}), make(chan int, 1)
	go func() {
		n := 0
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				done <- n
				return
			case <-tick.C:
				if _, err := unix.Write(fd, frame); err == nil {
					n++
				}
			}
		}
	}()
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		close(quit)
		return <-done
	}
	t.Cleanup(func() { stop() })
	return stop
}

// ethFrame is a minimal IPv4-typed Ethernet frame, padded to 60 bytes.
func ethFrame(dst, src net.HardwareAddr) []byte {
	f := make([]byte, 60)
	copy(f[0:6], dst)
	copy(f[6:12], src)
	f[12], f[13] = 0x08, 0x00
	return f
}

// pingLossless pings to from a namespace 50 times at 20 ms and requires
// every echo to come back. Lost means dropped, not late: with -W, iputils
// ping waits only max(2 x the largest RTT, the interval) for the last
// replies, so on a loaded CI machine a reply delayed 20 ms at the end
// counted as lost (CI saw 48/50 once). -w makes ping wait for all 50
// replies, up to 20 s; a dropped echo still fails the test.
func (r *kernelRig) pingLossless(from, to string) {
	r.t.Helper()
	out, err := r.ns[from].Command("ping", "-c", "50", "-i", "0.02", "-w", "20", to).CombinedOutput()
	require.NoError(r.t, err, "ping %s from %s: %s", to, from, out)
	require.Contains(r.t, string(out), " 0% packet loss", "ping %s from %s while a neighbour forged frames: %s", to, from, out)
}

func kernelDrops(s *vswitch.Switch, node, reason string) uint64 {
	for _, c := range s.Runtime() {
		if c.Name != node {
			continue
		}
		for _, d := range c.Drops {
			if d.Reason == reason {
				return d.Packets
			}
		}
	}
	return 0
}

// TestForgedSourcesKernel: while a neighbour namespace sends forged frames
// through the switch (an AF_PACKET socket: source = destination = the
// victim's MAC; the zero source; and, with port security on the victim's
// port, the victim's MAC as its source), a client's ping of the victim
// loses nothing, the forged frames are dropped and counted, and the
// victim's MAC stays on its port. Before the fix a source = destination
// frame moved the victim's MAC to the neighbour's port and the zero MAC
// was learned.
func TestForgedSourcesKernel(t *testing.T) {
	for i, tc := range []struct {
		name   string
		secure bool
		forge  func(victim net.HardwareAddr) []byte
		node   string
		reason string
	}{
		{name: "source is destination", forge: func(v net.HardwareAddr) []byte { return ethFrame(v, v) },
			node: "l2-input", reason: "src-mac-is-dst"},
		{name: "zero source", forge: func(v net.HardwareAddr) []byte { return ethFrame(v, make(net.HardwareAddr, 6)) },
			node: "l2-input", reason: "src-mac-zero"},
		{name: "victim's source, port security", secure: true,
			forge: func(v net.HardwareAddr) []byte {
				return ethFrame(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, v)
			},
			node: "l2-fwd", reason: "src-mac-bound-elsewhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newKernelRig(t, 1)
			subnet := fmt.Sprintf("10.93.%d.", i)
			vmac := r.macContainer("victim", subnet+"1/24")
			r.macContainer("bad", subnet+"2/24")
			r.macContainer("client", subnet+"3/24")
			victim := vswitch.Port{Name: "victim"}
			if tc.secure {
				victim.MACs = []string{vmac.String()}
			}
			require.NoError(t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
				{Name: "br0", Ports: []vswitch.Port{victim, {Name: "bad"}, {Name: "client"}}},
			}}))
			require.NoError(t, r.s.Start())
			require.NoError(t, r.ping("client", subnet+"1"))

			stop := forge(t, packetSocket(t, r.ns["bad"]), tc.forge(vmac))
			r.pingLossless("client", subnet+"1")
			sent := stop()
			require.Positive(t, sent)
			require.Positive(t, kernelDrops(r.s, tc.node, tc.reason), "forged frames dropped as %s/%s", tc.node, tc.reason)
			for _, e := range r.s.FDB() {
				require.NotEqual(t, "00:00:00:00:00:00", e.MAC, "the zero MAC was learned")
				if e.MAC == vmac.String() {
					require.Equal(t, "victim", e.Port, "the victim's MAC moved")
				}
			}
			t.Logf("%d forged frames sent", sent)
		})
	}
}
