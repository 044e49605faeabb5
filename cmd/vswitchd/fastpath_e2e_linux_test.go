package main_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// xdpAttached reports whether the host interface has an XDP program.
func xdpAttached(t *testing.T, name string) bool {
	l, err := netlink.LinkByName(name)
	require.NoError(t, err)
	return l.Attrs().Xdp != nil && l.Attrs().Xdp.Attached
}

// fastRx is port's fast-path rx count; 0 on any error (for the
// conditions of require.Eventually, which must not fail the test).
func fastRx(d *daemon, port string) uint64 {
	var st []ctl.PortStats
	if d.vsctlJSON(&st, "port/stats", port) != nil || len(st) != 1 || st[0].FastPath == nil || st[0].FastPath.Counters == nil {
		return 0
	}
	return st[0].FastPath.Counters.RxPackets
}

// TestFastPathWithVsctl drives the XDP fast path through vswitchd: on by
// default for the container veths it attaches by AF_XDP (io=afxdp), visible in show, port/stats
// and fdb/show, switched off and on per bridge and per port (durably),
// and gone from the interfaces when the daemon stops.
func TestFastPathWithVsctl(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	pa, pb := "fa"+nettest.Suffix(), "fb"+nettest.Suffix()
	d.must("add-br", "br0")
	// With port security (the default) on both: the XDP program runs
	// their guards (TestFastPathPortSecurity has a spoofed source).
	d.must("add-port", "br0", pa, "type=veth", "io=afxdp", "netns="+a.Path(), "ip=10.69.0.1/24")
	d.must("add-port", "br0", pb, "type=veth", "io=afxdp", "netns="+b.Path(), "ip=10.69.0.2/24")
	require.NoError(t, ping(a, "10.69.0.2"))
	require.True(t, xdpAttached(t, pa))

	// The learner installs the two MACs in the kernel's table soon after
	// the first frames, not at a set time: wait for it (a loaded VM).
	var show ctl.ShowView
	require.Eventually(t, func() bool { return d.vsctlJSON(&show, "show") == nil && show.FastPath.Entries == 2 },
		10*time.Second, 50*time.Millisecond, "two fast-path entries")
	require.True(t, show.FastPath.Enabled)
	require.Equal(t, 2, show.FastPath.Ports)
	require.Contains(t, d.must("show"), "fast path on")

	var pg vswitch.FDBPage
	require.NoError(t, d.vsctlJSON(&pg, "fdb/show", "br0"))
	require.Len(t, pg.Entries, 2)
	for _, e := range pg.Entries {
		require.NotNil(t, e.FastPath, "%+v offloaded", e)
	}
	require.Contains(t, d.must("fdb/show", "br0"), "offloaded")

	fast := func(port string) uint64 {
		var st []ctl.PortStats
		require.NoError(t, d.vsctlJSON(&st, "port/stats", port))
		require.NotNil(t, st[0].FastPath)
		if st[0].FastPath.Counters == nil {
			return 0
		}
		return st[0].FastPath.Counters.RxPackets
	}
	// Echoes after the entries are in are switched in the kernel.
	require.Eventually(t, func() bool { return ping(a, "10.69.0.2") == nil && fastRx(d, pa) > 0 },
		20*time.Second, time.Millisecond, "no frame switched by the fast path")
	// Misses by reason: the ARP broadcast is always one. (Whether a
	// unicast frame misses as src-unknown first depends on how fast the
	// learner got the ARP's source: since workers wake it, often not.)
	require.Contains(t, d.must("port/stats"), "group-dst")

	// Off for the bridge: durable, the pipeline carries everything.
	d.must("set", "bridge", "br0", "fast-path=off")
	require.Contains(t, d.must("show"), "fast path off")
	require.NoError(t, ping(a, "10.69.0.2"))
	var st []ctl.PortStats
	require.NoError(t, d.vsctlJSON(&st, "port/stats", pa))
	require.Equal(t, "off", st[0].FastPath.State)
	d.must("set", "bridge", "br0", "fast-path=on")
	d.must("set", "bridge", "br0", "fast-path=off")
	d.stop(syscall.SIGKILL)
	// The programs hang on BPF links the process held: killed, it leaves
	// nothing on the interfaces.
	require.False(t, xdpAttached(t, pa), "XDP program left after kill -9")
	d.start()
	require.NoError(t, ping(a, "10.69.0.2"))
	require.Contains(t, d.must("show"), "fast path off", "kept across a restart")
	require.NotContains(t, d.must("fdb/show", "br0"), "offloaded")

	// On again, then off for one port only.
	d.must("set", "bridge", "br0", "fast-path=on")
	require.NoError(t, ping(a, "10.69.0.2"))
	require.Positive(t, fast(pa))
	d.must("set", "port", pa, "fast-path=off")
	require.NoError(t, d.vsctlJSON(&st, "port/stats", pa))
	require.Equal(t, "off", st[0].FastPath.State)
	require.NoError(t, d.vsctlJSON(&st, "port/stats", pb))
	require.Equal(t, "on", st[0].FastPath.State)
	require.NoError(t, ping(a, "10.69.0.2"))

	// At add time too.
	pc := "fc" + nettest.Suffix()
	c := nettest.NewNS(t)
	d.must("add-port", "br0", pc, "type=veth", "io=afxdp", "netns="+c.Path(), "ip=10.69.0.3/24", "fast-path=off")
	require.NoError(t, d.vsctlJSON(&st, "port/stats", pc))
	require.Equal(t, "off", st[0].FastPath.State)
	_, err := d.vsctl("add-port", "br0", "fd"+nettest.Suffix(), "type=veth", "io=afxdp", "netns="+c.Path(), "fast-path=no")
	require.ErrorContains(t, err, "want on or off")

	// Without port security: the fast path too (to B: A is off), and any
	// source goes.
	pe := "fe" + nettest.Suffix()
	e := nettest.NewNS(t)
	d.must("add-port", "br0", pe, "type=veth", "io=afxdp", "netns="+e.Path(), "ip=10.69.0.5/24", "port_security=off")
	require.NoError(t, ping(e, "10.69.0.2"))
	require.Eventually(t, func() bool { return ping(e, "10.69.0.2") == nil && fastRx(d, pe) > 0 },
		20*time.Second, time.Millisecond, "no frame of a port without port security switched by the fast path")
	require.NoError(t, d.vsctlJSON(&st, "port/stats", pe))
	require.Equal(t, "on", st[0].FastPath.State)

	// Typed errors for bad input.
	_, err = d.vsctl("set", "bridge", "br0", "fast-path=maybe")
	require.ErrorContains(t, err, "want on or off")
	_, err = d.vsctl("set", "bridge", "nope", "fast-path=off")
	require.ErrorContains(t, err, "no bridge")
	_, err = d.vsctl("set-bridge", "br0", "speed=11")
	require.Error(t, err)

	// A clean stop leaves no program on the interfaces (the veths stay).
	d.stop(syscall.SIGTERM)
	require.False(t, xdpAttached(t, pa))
	require.False(t, xdpAttached(t, pb))
}

// TestFastPathPeerNotReady: an interface vswitchd did not create, whose
// veth peer has GRO off and TX checksum offload on, stays out of the fast
// path and show says why; its traffic still flows through the pipeline.
func TestFastPathPeerNotReady(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	ha := "fx" + nettest.Suffix()
	nettest.Veth(t, ha, a, "10.71.0.1/24", 1) // as a runtime might leave it
	d.must("add-br", "br0")
	d.must("add-port", "br0", ha, "type=afxdp")
	d.must("add-port", "br0", "fy"+nettest.Suffix(), "type=veth", "io=afxdp", "netns="+b.Path(), "ip=10.71.0.2/24")
	require.NoError(t, ping(a, "10.71.0.2"))
	var st []ctl.PortStats
	require.NoError(t, d.vsctlJSON(&st, "port/stats", ha))
	require.Equal(t, "unavailable", st[0].FastPath.State)
	require.Contains(t, st[0].FastPath.Reason, "GRO off")
	require.Contains(t, d.must("show"), "fast path unavailable")
}

// TestFastPathDisabledByFlag: --fast-path=false runs the pipeline alone
// and says so.
func TestFastPathDisabledByFlag(t *testing.T) {
	d := newDaemon(t, "--fast-path=false")
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	d.must("add-br", "br0")
	d.must("add-port", "br0", "ga"+nettest.Suffix(), "type=veth", "io=afxdp", "netns="+a.Path(), "ip=10.70.0.1/24")
	d.must("add-port", "br0", "gb"+nettest.Suffix(), "type=veth", "io=afxdp", "netns="+b.Path(), "ip=10.70.0.2/24")
	require.NoError(t, ping(a, "10.70.0.2"))
	out := d.must("show")
	require.True(t, strings.Contains(out, "fast path: not running"), out)
	var show ctl.ShowView
	require.NoError(t, d.vsctlJSON(&show, "show"))
	require.False(t, show.FastPath.Enabled)
}
