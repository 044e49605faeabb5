package main_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// l2InputDrops is l2-input's drop count for reason in show errors.
func l2InputDrops(t *testing.T, d *daemon, reason string) uint64 {
	var ec []ctl.ErrorCount
	require.NoError(t, d.vsctlJSON(&ec, "show", "errors"))
	for _, e := range ec {
		if e.Node == "l2-input" && e.Reason == reason {
			return e.Packets
		}
	}
	return 0
}

// fastMiss is port's fast-path miss count for reason.
func fastMiss(t *testing.T, d *daemon, port, reason string) uint64 {
	st := fpState(t, d, port)
	if st.Counters == nil {
		return 0
	}
	return st.Counters.Misses[reason]
}

// icmpInEchos is the echo requests the kernel in ns received
// (/proc/net/snmp of the namespace).
func icmpInEchos(t *testing.T, ns *nettest.NS) uint64 {
	out, err := ns.Command("cat", "/proc/net/snmp").Output()
	require.NoError(t, err)
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "Icmp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "InEchos" && i < len(f) {
				v, err := strconv.ParseUint(f[i], 10, 64)
				require.NoError(t, err)
				return v
			}
		}
	}
	t.Fatalf("no Icmp InEchos in /proc/net/snmp:\n%s", out)
	return 0
}

// TestFastPathPortSecurity: two containers attached as endpoints with
// io=afxdp, port security on (the default) and an IP source guard (their
// endpoint addresses): their IPv4 and IPv6 TCP traffic is switched by the
// XDP fast path, while a packet one sends from an address it added
// itself misses the fast path ("src-ip"), is dropped by the pipeline's
// guard (l2-input src-ip-not-allowed) and never reaches the other.
func TestFastPathPortSecurity(t *testing.T) {
	d := newDaemon(t)
	d.must("add-br", "br0")
	sfx := nettest.Suffix()
	type ctr struct {
		ns   *nettest.NS
		ep   ctl.EndpointView
		v4   string
		v6   string
		name string
	}
	cs := []*ctr{{ns: nettest.NewNS(t), v4: "10.73.0.1", v6: "fd73::1", name: "psa" + sfx},
		{ns: nettest.NewNS(t), v4: "10.73.0.2", v6: "fd73::2", name: "psb" + sfx}}
	for _, c := range cs {
		req, err := json.Marshal(ctl.EndpointRequest{Network: "psnet", ContainerID: c.name, IfName: "eth0", Netns: c.ns.Path(),
			Bridge: "br0", Addrs: []string{c.v4 + "/24", c.v6 + "/64"}, IO: "afxdp"})
		require.NoError(t, err)
		require.NoError(t, d.vsctlJSON(&c.ep, "endpoint/add", string(req)))
		t.Cleanup(func() { d.vsctl("endpoint/del", string(req)) })
		// Both ends sit behind a guard, in the fast path.
		st := fpState(t, d, c.ep.Port)
		require.Equal(t, "on", st.State, "%+v", st)
	}
	a, b := cs[0], cs[1]
	show := d.must("show")
	require.NotContains(t, show, "port_security=off")

	// IPv4 (ICMP from their own addresses) both ways: switched in the
	// kernel once the learner has mirrored the two MACs.
	require.NoError(t, ping(a.ns, b.v4))
	require.Eventually(t, func() bool {
		return ping(a.ns, b.v4) == nil && fastRx(d, a.ep.Port) > 0 && fastRx(d, b.ep.Port) > 0
	}, 20*time.Second, time.Millisecond, "no secured port's frame switched by the fast path")
	require.Zero(t, fastMiss(t, d, a.ep.Port, "src-ip"))

	// IPv6 TCP: switched too (its neighbor discovery takes the pipeline).
	echoListen(t, b.ns, 8080)
	var conn net.Conn
	require.Eventually(t, func() bool {
		c, err := dialFrom(t, a.ns, "["+b.v6+"]:8080", time.Second)
		conn = c
		return err == nil // DAD may not be done yet
	}, 10*time.Second, 100*time.Millisecond, "no IPv6 TCP connection between the containers")
	rx := fastRx(d, a.ep.Port)
	require.Eventually(t, func() bool { return echoOver(conn, "over IPv6", 5*time.Second) == nil && fastRx(d, a.ep.Port) > rx },
		20*time.Second, time.Millisecond, "no IPv6 TCP frame switched by the fast path")

	// A spoofed source: A adds an address of its own choosing and pings B
	// from it (B's MAC pinned, so that the echo requests themselves go
	// out). The fast path leaves them to the pipeline, whose guard drops
	// them; B receives none.
	_, err := run(a.ns, "ip", "addr", "add", "10.73.0.99/24", "dev", "eth0")
	require.NoError(t, err)
	_, err = run(a.ns, "ip", "neigh", "replace", b.v4, "lladdr", b.ep.MAC, "nud", "permanent", "dev", "eth0")
	require.NoError(t, err)
	echos, dropped, missed := icmpInEchos(t, b.ns), l2InputDrops(t, d, "src-ip-not-allowed"), fastMiss(t, d, a.ep.Port, "src-ip")
	const n = 5
	out, err := a.ns.Command("ping", "-c", strconv.Itoa(n), "-i", "0.2", "-W", "1", "-I", "10.73.0.99", b.v4).CombinedOutput()
	require.Error(t, err, "a ping from a spoofed source was answered: %s", out)
	require.Equal(t, echos, icmpInEchos(t, b.ns), "B received echo requests from a spoofed source")
	require.GreaterOrEqual(t, fastMiss(t, d, a.ep.Port, "src-ip")-missed, uint64(n), "fast-path src-ip misses")
	require.GreaterOrEqual(t, l2InputDrops(t, d, "src-ip-not-allowed")-dropped, uint64(n), "l2-input src-ip-not-allowed drops")
	require.Contains(t, d.must("port/stats", a.ep.Port), "src-ip")

	// Its own address still goes through the fast path.
	rx = fastRx(d, a.ep.Port)
	require.NoError(t, ping(a.ns, b.v4))
	require.Eventually(t, func() bool { return ping(a.ns, b.v4) == nil && fastRx(d, a.ep.Port) > rx },
		20*time.Second, time.Millisecond, "the fast path stopped switching the allowed source")
}

// run runs a command in ns and returns its combined output.
func run(ns *nettest.NS, args ...string) (string, error) {
	out, err := ns.Command(args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
