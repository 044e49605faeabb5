package vswitch_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/vswitch"
)

// host gives container name an IPv6 address (no duplicate address
// detection, so it is usable at once) and default routes via gw4 and gw6,
// the switch's router interface addresses.
func (r *kernelRig) host(name, addr6, gw4, gw6 string) {
	r.t.Helper()
	nh := r.ns[name].Netlink(r.t)
	l, err := nh.LinkByName("eth0")
	require.NoError(r.t, err)
	if addr6 != "" {
		a, err := netlink.ParseAddr(addr6)
		require.NoError(r.t, err)
		a.Flags = unix.IFA_F_NODAD
		require.NoError(r.t, nh.AddrAdd(l, a))
	}
	for _, gw := range []string{gw4, gw6} {
		if gw == "" {
			continue
		}
		require.NoError(r.t, nh.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(gw)}), "default via %s", gw)
	}
}

// run runs a command in a container and returns its combined output.
func (r *kernelRig) run(name string, args ...string) (string, error) {
	out, err := r.ns[name].Command(args...).CombinedOutput()
	return string(out), err
}

func twoSubnets(mtuB int) vswitch.Config {
	return vswitch.Config{
		Bridges: []vswitch.Bridge{
			{Name: "bra", Ports: []vswitch.Port{{Name: "a"}}},
		},
		Interfaces: []vswitch.Interface{
			{Name: "ra", Bridge: "bra", Addrs: []string{"10.93.1.1/24", "fd00:93:1::1/64"}},
			// b is a routed port: the address sits directly on it.
			{Name: "rb", Port: "b", Addrs: []string{"10.93.2.1/24", "fd00:93:2::1/64"}, MTU: mtuB},
		},
	}
}

// TestRoutedBetweenSubnets: two namespaces in different subnets, the switch
// their default gateway (IPv4 and IPv6), ping each other and the switch,
// and move TCP data.
func TestRoutedBetweenSubnets(t *testing.T) {
	r := newKernelRig(t, 1)
	r.vethContainer("a", "10.93.1.2/24", 1)
	r.vethContainer("b", "10.93.2.2/24", 1)
	r.host("a", "fd00:93:1::2/64", "10.93.1.1", "fd00:93:1::1")
	r.host("b", "fd00:93:2::2/64", "10.93.2.1", "fd00:93:2::1")
	require.NoError(t, r.s.Reconfigure(twoSubnets(0)))
	require.NoError(t, r.s.Start())

	for _, c := range [][2]string{
		{"a", "10.93.1.1"}, {"a", "10.93.2.1"}, // the switch's own addresses
		{"a", "10.93.2.2"}, {"b", "10.93.1.2"},
		{"a", "fd00:93:1::1"}, {"a", "fd00:93:2::2"}, {"b", "fd00:93:1::2"},
	} {
		require.NoError(t, r.ping(c[0], c[1]), "%v", c)
	}
	r.transfer("a", "b", "10.93.2.2", false)
	r.transfer("b", "a", "fd00:93:1::2", false)

	var found4, found6 bool
	for _, n := range r.s.Neighbors() {
		found4 = found4 || n.Interface == "rb" && n.Addr == "10.93.2.2"
		found6 = found6 || n.Interface == "rb" && n.Addr == "fd00:93:2::2"
	}
	require.True(t, found4 && found6, "neighbors not learned: %+v", r.s.Neighbors())
}

// TestRoutedErrors: TTL expiry gives ICMP time exceeded from the switch
// (traceroute's first hop), and an oversized DF packet gives fragmentation
// needed (IPv6: packet too big), which the sender's kernel records in its
// path MTU cache.
func TestRoutedErrors(t *testing.T) {
	r := newKernelRig(t, 1)
	r.vethContainer("a", "10.94.1.2/24", 1)
	r.vethContainer("b", "10.94.2.2/24", 1)
	r.host("a", "fd00:94:1::2/64", "10.94.1.1", "fd00:94:1::1")
	r.host("b", "fd00:94:2::2/64", "10.94.2.1", "fd00:94:2::1")
	cfg := twoSubnets(1300)
	cfg.Interfaces[0].Addrs = []string{"10.94.1.1/24", "fd00:94:1::1/64"}
	cfg.Interfaces[1].Addrs = []string{"10.94.2.1/24", "fd00:94:2::1/64"}
	require.NoError(t, r.s.Reconfigure(cfg))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.ping("a", "10.94.2.2"))
	require.NoError(t, r.ping("a", "fd00:94:2::2"))

	out, err := r.run("a", "ping", "-c", "1", "-W", "2", "-t", "1", "10.94.2.2")
	require.Error(t, err, "TTL 1 crossed a router: %s", out)
	require.Contains(t, out, "From 10.94.1.1", out)
	require.Contains(t, out, "Time to live exceeded", out)
	out, err = r.run("a", "ping", "-6", "-c", "1", "-W", "2", "-t", "1", "fd00:94:2::2")
	require.Error(t, err, "hop limit 1 crossed a router: %s", out)
	require.Contains(t, out, "From fd00:94:1::1", out)
	require.Contains(t, strings.ToLower(out), "time exceeded", out)

	// 1400 bytes of payload + 28 = 1428 > 1300.
	out, _ = r.run("a", "ping", "-c", "2", "-i", "0.3", "-W", "1", "-M", "do", "-s", "1400", "10.94.2.2")
	require.Contains(t, out, "1300", "no fragmentation needed with the MTU: %s", out)
	requirePMTU(t, r, "a", "10.94.2.2", 1300)
	out, _ = r.run("a", "ping", "-6", "-c", "2", "-i", "0.3", "-W", "1", "-M", "do", "-s", "1400", "fd00:94:2::2")
	require.Contains(t, out, "1300", "no packet too big with the MTU: %s", out)
	requirePMTU(t, r, "a", "fd00:94:2::2", 1300)
	// Below the MTU, traffic still flows.
	require.NoError(t, r.ping("a", "10.94.2.2"))
}

// requirePMTU checks the kernel's route cache in a container for dst.
func requirePMTU(t *testing.T, r *kernelRig, name, dst string, mtu int) {
	t.Helper()
	nh := r.ns[name].Netlink(t)
	var got []netlink.Route
	require.Eventually(t, func() bool {
		var err error
		got, err = nh.RouteGet(net.ParseIP(dst))
		return err == nil && len(got) > 0 && got[0].MTU == mtu
	}, 3*time.Second, 50*time.Millisecond, "path MTU to %s not %d: %+v", dst, mtu, got)
}

// TestVRFIsolation: two VRFs with the same subnets; each routes only
// between its own interfaces.
func TestVRFIsolation(t *testing.T) {
	r := newKernelRig(t, 1)
	for _, c := range [][2]string{{"a1", "10.95.1.2/24"}, {"a2", "10.95.2.2/24"}, {"b1", "10.95.1.2/24"}, {"b2", "10.95.2.3/24"}} {
		r.vethContainer(c[0], c[1], 1)
	}
	r.host("a1", "", "10.95.1.1", "")
	r.host("a2", "", "10.95.2.1", "")
	r.host("b1", "", "10.95.1.1", "")
	r.host("b2", "", "10.95.2.1", "")
	require.NoError(t, r.s.Reconfigure(vswitch.Config{
		VRFs: []vswitch.VRF{{Name: "red"}, {Name: "blue"}},
		Interfaces: []vswitch.Interface{
			{Name: "r1", Port: "a1", VRF: "red", Addrs: []string{"10.95.1.1/24"}},
			{Name: "r2", Port: "a2", VRF: "red", Addrs: []string{"10.95.2.1/24"}},
			{Name: "b1", Port: "b1", VRF: "blue", Addrs: []string{"10.95.1.1/24"}},
			{Name: "b2", Port: "b2", VRF: "blue", Addrs: []string{"10.95.2.1/24"}},
		},
	}))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.ping("a1", "10.95.2.2"))
	require.NoError(t, r.ping("b1", "10.95.2.3"))
	require.Error(t, r.ping("a1", "10.95.2.3"), "red reached blue's host")
	require.Error(t, r.ping("b1", "10.95.2.2"), "blue reached red's host")
}
