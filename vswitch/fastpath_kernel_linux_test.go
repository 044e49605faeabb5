package vswitch_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// fpRig is a running switch with the XDP fast path, whose ports are the
// host ends of veths into test namespaces (container ends with GRO on and
// TX checksum offload off, as the daemon makes them).
type fpRig struct {
	*kernelRig
	fp    *afxdp.FastPath
	hosts map[string]string
	macs  map[string]net.HardwareAddr
}

func newFPRig(t *testing.T) *fpRig {
	nettest.NeedRoot(t)
	fp, err := afxdp.NewFastPath(afxdp.FastPathConfig{})
	if errors.Is(err, afxdp.ErrFastPathUnsupported) {
		t.Skipf("the kernel cannot run the XDP fast path: %v", err)
	}
	require.NoError(t, err)
	s, err := vswitch.New(vswitch.Options{Workers: 1, PoolFrames: 8192, Idle: pipeline.IdleSleep, FastPath: fp,
		FastPathRecheck: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		s.Close()
		fp.Close()
	})
	return &fpRig{kernelRig: &kernelRig{t: t, s: s, ns: map[string]*nettest.NS{}}, fp: fp,
		hosts: map[string]string{}, macs: map[string]net.HardwareAddr{}}
}

func (r *fpRig) container(name, addr string) {
	ns := nettest.NewNS(r.t)
	host := "fp" + name + nettest.Suffix()
	r.macs[name] = nettest.Veth(r.t, host, ns, addr, 1)
	require.NoError(r.t, netdev.SetTxChecksumAt(ns.Path(), "eth0", false))
	require.NoError(r.t, netdev.SetGROAt(ns.Path(), "eth0", true))
	// Either end's own IPv6 traffic (DAD, router solicitations, MLD)
	// would cross the switch at any time and blur the counts: IPv6 is off
	// on both (the tests use IPv4 only). /proc/sys/net shows the
	// namespace of the thread that opens it.
	require.NoError(r.t, os.WriteFile("/proc/sys/net/ipv6/conf/"+host+"/disable_ipv6", []byte("1"), 0o644))
	require.NoError(r.t, netdev.Do(ns.Path(), func() error {
		for _, k := range []string{"all", "default", "eth0"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+k+"/disable_ipv6", []byte("1"), 0o644); err != nil {
				return err
			}
		}
		return nil
	}))
	p, err := afxdp.New(afxdp.Config{Name: name, Ifname: host, RingSize: 1024, FastPath: r.fp})
	require.NoError(r.t, err)
	_, err = p.FastPathIfindex()
	require.NoError(r.t, err, "port %s should be able to join the fast path", name)
	require.NoError(r.t, r.s.AddPort(p))
	r.ns[name] = ns
	r.hosts[name] = host
}

// startBridge puts the named ports in bridge br0 and starts the switch.
func (r *fpRig) startBridge(names ...string) {
	var ps []vswitch.Port
	for _, n := range names {
		ps = append(ps, vswitch.Port{Name: n})
	}
	require.NoError(r.t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{{Name: "br0", Ports: ps}}}))
	require.NoError(r.t, r.s.Start())
}

func (r *fpRig) port(name string) vswitch.PortInfo {
	for _, p := range r.s.Ports() {
		if p.Name == name {
			return p
		}
	}
	r.t.Fatalf("no port %s", name)
	return vswitch.PortInfo{}
}

// fastRx is how many frames received on port name the fast path forwarded.
func (r *fpRig) fastRx(name string) uint64 {
	p := r.port(name)
	if p.FastPath == nil || p.FastPath.Counters == nil {
		return 0
	}
	return p.FastPath.Counters.RxPackets
}

// nsRx is the rx packet counter of eth0 in the container of port name.
func (r *fpRig) nsRx(name string) uint64 {
	l, err := r.ns[name].Netlink(r.t).LinkByName("eth0")
	require.NoError(r.t, err)
	return l.Attrs().Statistics.RxPackets
}

// flushNeigh empties the neighbor table of the container of port name.
func (r *fpRig) flushNeigh(name string) {
	h := r.ns[name].Netlink(r.t)
	ns, err := h.NeighList(0, 0)
	require.NoError(r.t, err)
	for i := range ns {
		h.NeighDel(&ns[i])
	}
}

func (r *fpRig) pingN(from, to string, n int) error {
	out, err := r.ns[from].Command("ping", "-c", fmt.Sprint(n), "-i", "0.05", "-W", "2", to).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %w: %s", to, from, err, out)
	}
	return nil
}

// TestFastPathSwitchesKnownUnicast: two namespaces on a bridge; after the
// first frames (ARP, learning) the pings are switched in the kernel,
// counted per port and per FDB entry; broadcast and unknown unicast still
// work; a trace forces the port through the pipeline while it runs.
func TestFastPathSwitchesKnownUnicast(t *testing.T) {
	r := newFPRig(t)
	r.container("a", "10.91.0.1/24")
	r.container("b", "10.91.0.2/24")
	r.startBridge("a", "b")
	require.Equal(t, "on", r.port("a").FastPath.State)

	require.NoError(t, r.pingN("a", "10.91.0.2", 20))
	ra, rb := r.fastRx("a"), r.fastRx("b")
	require.GreaterOrEqual(t, ra, uint64(15), "echo requests switched in the kernel")
	require.GreaterOrEqual(t, rb, uint64(15), "echo replies switched in the kernel")
	st := r.port("a").Counters
	require.Less(t, st.RxPackets, uint64(10), "the pipeline saw only the first frames: %+v", st)

	offloaded := 0
	for _, e := range r.s.FDB() {
		if e.FastPath != nil {
			offloaded++
			require.Positive(t, e.FastPath.SrcHits+e.FastPath.DstHits, "%+v", e)
		}
	}
	require.Equal(t, 2, offloaded, "both MACs offloaded: %+v", r.s.FDB())

	// Unknown unicast and broadcast still reach the pipeline and are
	// flooded: forget the MACs (switch and namespaces), ping again.
	require.NoError(t, r.s.FlushFDB(""))
	require.Zero(t, r.s.FastPathStatus().Entries)
	for _, n := range []string{"a", "b"} {
		r.flushNeigh(n)
	}
	require.NoError(t, r.pingN("b", "10.91.0.1", 5))
	require.Equal(t, 2, r.s.FastPathStatus().Entries, "relearned and offloaded again")

	// A trace forces the port through the pipeline while it runs.
	require.NoError(t, r.s.TraceAdd("a", 4, nil))
	require.Equal(t, "slow-path", r.port("a").FastPath.State)
	before := r.fastRx("a")
	require.NoError(t, r.pingN("a", "10.91.0.2", 4))
	require.Equal(t, before, r.fastRx("a"), "no frame of a traced port bypasses the pipeline")
	require.Len(t, r.s.Traces(), 4)
	require.Eventually(t, func() bool { return r.port("a").FastPath.State == "on" }, 5*time.Second, 100*time.Millisecond,
		"the fast path comes back once the trace has its packets")
	require.NoError(t, r.pingN("a", "10.91.0.2", 5))
	require.Greater(t, r.fastRx("a"), before)
}

// TestFastPathMACMove: a MAC that moves to another port is switched to the
// new port from the first frame the switch sees from it there.
func TestFastPathMACMove(t *testing.T) {
	r := newFPRig(t)
	r.container("a", "10.92.0.1/24")
	r.container("b", "10.92.0.2/24")
	r.container("c", "10.92.0.3/24")
	r.startBridge("a", "b", "c")
	require.NoError(t, r.pingN("a", "10.92.0.2", 5))

	// Move a's identity (MAC and address) to c's namespace.
	ha := r.ns["a"].Netlink(t)
	la, err := ha.LinkByName("eth0")
	require.NoError(t, err)
	require.NoError(t, ha.LinkSetDown(la))
	hc := r.ns["c"].Netlink(t)
	lc, err := hc.LinkByName("eth0")
	require.NoError(t, err)
	require.NoError(t, hc.LinkSetDown(lc))
	require.NoError(t, hc.LinkSetHardwareAddr(lc, r.macs["a"]))
	addr, err := netlink.ParseAddr("10.92.0.1/24")
	require.NoError(t, err)
	require.NoError(t, hc.AddrAdd(lc, addr))
	require.NoError(t, hc.LinkSetUp(lc))

	cRx := r.nsRx("c")
	// b still has a's MAC in its neighbor cache: its first reply goes to
	// the moved MAC. Every echo must be answered.
	require.NoError(t, r.pingN("c", "10.92.0.2", 10))
	require.GreaterOrEqual(t, r.nsRx("c")-cRx, uint64(10))
	var port string
	for _, e := range r.s.FDB() {
		if e.MAC == r.macs["a"].String() {
			port = e.Port
		}
	}
	require.Equal(t, "c", port)
	require.Positive(t, r.port("c").FastPath.Counters.TxPackets, "replies to the moved MAC switched in the kernel to c")
}

// TestFastPathPortRemovalUnderTraffic: while a flood of pings from a to b
// is switched in the kernel, b is removed; once RemovePort returns,
// nothing more reaches b's namespace and no XDP program is left on b.
func TestFastPathPortRemovalUnderTraffic(t *testing.T) {
	r := newFPRig(t)
	r.container("a", "10.93.0.1/24")
	r.container("b", "10.93.0.2/24")
	r.startBridge("a", "b")
	require.NoError(t, r.pingN("a", "10.93.0.2", 3))
	// Keep the neighbor entry: the flood then needs no ARP once b is gone.
	h := r.ns["a"].Netlink(t)
	l, err := h.LinkByName("eth0")
	require.NoError(t, err)
	require.NoError(t, h.NeighSet(&netlink.Neigh{LinkIndex: l.Attrs().Index, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP("10.93.0.2"), HardwareAddr: r.macs["b"]}))

	flood := r.ns["a"].Command("ping", "-f", "-q", "-w", "30", "10.93.0.2")
	require.NoError(t, flood.Start())
	t.Cleanup(func() { flood.Process.Kill(); flood.Wait() })
	require.Eventually(t, func() bool { return r.fastRx("a") > 1000 }, 10*time.Second, 20*time.Millisecond)

	require.NoError(t, r.s.RemovePort("b"))
	after := r.nsRx("b")
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, after, r.nsRx("b"), "frames reached the removed port's namespace")
	l, err = netlink.LinkByName(r.hosts["b"])
	require.NoError(t, err)
	require.False(t, l.Attrs().Xdp != nil && l.Attrs().Xdp.Attached, "XDP program left on the removed port")
	require.Equal(t, 1, r.s.FastPathStatus().Ports)
}

// TestFastPathOffLosesNothing: switching the bridge's fast path off and on
// while pings run loses no echo, and the counters show which path took
// them. Closing the switch leaves no XDP program on the interfaces.
func TestFastPathOffLosesNothing(t *testing.T) {
	r := newFPRig(t)
	r.container("a", "10.94.0.1/24")
	r.container("b", "10.94.0.2/24")
	off, on := false, true
	cfg := func(fast *bool) vswitch.Config {
		return vswitch.Config{Bridges: []vswitch.Bridge{{Name: "br0", FastPath: fast,
			Ports: []vswitch.Port{{Name: "a"}, {Name: "b"}}}}}
	}
	require.NoError(t, r.s.Reconfigure(cfg(nil)))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.pingN("a", "10.94.0.2", 3))

	// -w, not -W: a late reply is not a lost one (see pingLossless).
	pinger := r.ns["a"].Command("ping", "-c", "200", "-i", "0.01", "-w", "20", "10.94.0.2")
	var out strings.Builder
	pinger.Stdout = &out
	require.NoError(t, pinger.Start())
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, r.s.Reconfigure(cfg(&off)))
	require.Equal(t, "off", r.port("a").FastPath.State)
	require.Zero(t, r.s.FastPathStatus().Ports)
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, r.s.Reconfigure(cfg(&on)))
	require.Equal(t, "on", r.port("a").FastPath.State)
	require.NoError(t, pinger.Wait(), out.String())
	require.Contains(t, out.String(), " 0% packet loss", out.String())
	require.Equal(t, 2, r.s.FastPathStatus().Entries, "entries replayed when the fast path came back")

	// A port-level switch too.
	require.NoError(t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{{Name: "br0",
		Ports: []vswitch.Port{{Name: "a", FastPath: &off}, {Name: "b"}}}}}))
	require.Equal(t, "off", r.port("a").FastPath.State)
	require.Equal(t, "on", r.port("b").FastPath.State)
	require.NoError(t, r.pingN("a", "10.94.0.2", 3))

	require.NoError(t, r.s.Close())
	for _, h := range r.hosts {
		l, err := netlink.LinkByName(h)
		require.NoError(t, err)
		require.False(t, l.Attrs().Xdp != nil && l.Attrs().Xdp.Attached, "XDP program left on %s", h)
	}
}

// TestFastPathKeepsActiveMACs: MACs that talk only through the fast path
// are not aged out of the switch.
func TestFastPathKeepsActiveMACs(t *testing.T) {
	r := newFPRig(t)
	r.container("a", "10.95.0.1/24")
	r.container("b", "10.95.0.2/24")
	require.NoError(t, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{{Name: "br0", MACAgeSeconds: 1,
		Ports: []vswitch.Port{{Name: "a"}, {Name: "b"}}}}}))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.pingN("a", "10.95.0.2", 3))
	pinger := r.ns["a"].Command("ping", "-c", "80", "-i", "0.05", "10.95.0.2")
	require.NoError(t, pinger.Start())
	time.Sleep(3500 * time.Millisecond)
	require.Len(t, r.s.FDB(), 2, "active MACs stay learned")
	require.Zero(t, r.s.MACStats().Aged)
	require.NoError(t, pinger.Wait())
	// Once silent, they age out of both tables.
	require.Eventually(t, func() bool { return len(r.s.FDB()) == 0 && r.s.FastPathStatus().Entries == 0 },
		10*time.Second, 100*time.Millisecond)
}

// TestFastPathPeerChangesLater: a container end whose GRO is switched off
// after the port joined would silently lose every frame the kernel
// redirects to it; the switch notices within its recheck interval, takes
// the port out (its traffic takes the pipeline) and puts it back once GRO
// is on again.
func TestFastPathPeerChangesLater(t *testing.T) {
	r := newFPRig(t)
	r.container("a", "10.96.0.1/24")
	r.container("b", "10.96.0.2/24")
	r.startBridge("a", "b")
	require.NoError(t, r.pingN("a", "10.96.0.2", 5))
	require.Positive(t, r.fastRx("a"))

	require.NoError(t, netdev.SetGROAt(r.ns["b"].Path(), "eth0", false))
	require.Eventually(t, func() bool { return r.port("b").FastPath.State == "unavailable" }, 10*time.Second, 100*time.Millisecond)
	require.Contains(t, r.port("b").FastPath.Reason, "GRO off")
	for _, e := range r.s.FDB() {
		if e.Port == "b" {
			require.Nil(t, e.FastPath, "b's MAC left the kernel with b")
		}
	}
	require.NoError(t, r.pingN("a", "10.96.0.2", 10), "the pipeline carries the traffic meanwhile")

	require.NoError(t, netdev.SetGROAt(r.ns["b"].Path(), "eth0", true))
	require.Eventually(t, func() bool { return r.port("b").FastPath.State == "on" }, 10*time.Second, 100*time.Millisecond)
	before := r.fastRx("a")
	require.NoError(t, r.pingN("a", "10.96.0.2", 10))
	require.Greater(t, r.fastRx("a"), before, "back in the fast path")
}
