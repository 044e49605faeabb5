package vswitch_test

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Hairpin without masquerade, through a real kernel. Bridge hpf has
// router interface hf (10.97.1.1/24, fd97:1::1/64): client c1 (.2, ::2)
// and backends b1 (.5, ::5) and b2 (.6, ::6), each serving TCP 8080.
// Bridge hpb has the uplink hb (10.97.2.1/24, fd97:2::1/64) and client c2
// (.2, ::2). Services: 10.97.9.9:80 and [fd97:9::9]:80 over b1 and b2;
// a port map: 8088 on the uplink addresses to b1's 8080. No network is
// masqueraded.

// hpContainer makes a namespace behind a veth with addrs and a default
// route per gateway (IPv6 without duplicate address detection).
func (r *kernelRig) hpContainer(name string, addrs, gws []string) {
	ns := nettest.NewNS(r.t)
	o := netdev.VethOptions{HostName: "vh" + name + nettest.Suffix(), Netns: ns.Path()}
	for _, a := range addrs {
		o.Addrs = append(o.Addrs, netip.MustParsePrefix(a))
	}
	for _, g := range gws {
		o.Gateways = append(o.Gateways, netip.MustParseAddr(g))
	}
	v, err := netdev.CreateVeth(o)
	require.NoError(r.t, err)
	r.t.Cleanup(func() { v.Delete() })
	p, err := afxdp.New(afxdp.Config{Name: name, Ifname: v.HostName, RingSize: 1024})
	require.NoError(r.t, err)
	require.NoError(r.t, r.s.AddPort(p))
	r.ns[name] = ns
}

// hpServe serves TCP port (both families) in namespace name: each
// connection gets one line, "name seen-from-address", and is closed.
func (r *kernelRig) hpServe(name string, port int) {
	r.serveLines(name, "tcp", port, func(c net.Conn) string {
		return name + " " + c.RemoteAddr().(*net.TCPAddr).IP.String()
	})
}

// hpAsk connects from namespace from to addr and returns the server's
// line: which server answered and the address it saw.
func (r *kernelRig) hpAsk(from, addr string) (server, seen string, err error) {
	var line string
	err = netdev.Do(r.ns[from].Path(), func() error {
		c, err := net.DialTimeout("tcp", addr, sgAwait)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(sgAwait))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("%s: connect to %s: %w", from, addr, err)
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return "", "", fmt.Errorf("%s: %s answered %q", from, addr, line)
	}
	return f[0], f[1], nil
}

// TestNATKernelHairpinUnmasqueraded: a client in a service backend's own
// network reaches the VIP (IPv4 and IPv6), and a port map's target's
// network reaches the map at the uplink address, with no masquerade
// configured: the target sees the network's gateway as the client (a
// hairpin, Docker's bridge's way); a client of another network keeps its
// own address. On the code before, only a masqueraded network
// hairpinned: the SYN reached the backend with c1's own source, the
// backend answered c1 directly over the bridge from its own address, c1
// reset it, and every connection timed out.
func TestNATKernelHairpinUnmasqueraded(t *testing.T) {
	r := newKernelRig(t, 1)
	r.hpContainer("c1", []string{"10.97.1.2/24", "fd97:1::2/64"}, []string{"10.97.1.1", "fd97:1::1"})
	r.hpContainer("b1", []string{"10.97.1.5/24", "fd97:1::5/64"}, []string{"10.97.1.1", "fd97:1::1"})
	r.hpContainer("b2", []string{"10.97.1.6/24", "fd97:1::6/64"}, []string{"10.97.1.1", "fd97:1::1"})
	r.hpContainer("c2", []string{"10.97.2.2/24", "fd97:2::2/64"}, []string{"10.97.2.1", "fd97:2::1"})
	svc := func(vip, b1, b2 string) vswitch.Service {
		return vswitch.Service{Name: "web", Proto: "tcp", VIP: vip, Port: 80,
			Backends: []vswitch.ServiceBackend{{Addr: b1, Port: 8080}, {Addr: b2, Port: 8080}}}
	}
	require.NoError(t, r.s.Reconfigure(vswitch.Config{
		Bridges: []vswitch.Bridge{
			{Name: "hpf", Ports: []vswitch.Port{{Name: "c1"}, {Name: "b1"}, {Name: "b2"}}},
			{Name: "hpb", Ports: []vswitch.Port{{Name: "c2"}}},
		},
		Interfaces: []vswitch.Interface{
			{Name: "hf", Bridge: "hpf", Addrs: []string{"10.97.1.1/24", "fd97:1::1/64"}},
			{Name: "hb", Bridge: "hpb", Addrs: []string{"10.97.2.1/24", "fd97:2::1/64"}},
		},
		NAT: &vswitch.NAT{
			Uplinks:  []string{"hb"},
			Services: []vswitch.Service{svc("10.97.9.9", "10.97.1.5", "10.97.1.6"), svc("fd97:9::9", "fd97:1::5", "fd97:1::6")},
			PortMaps: []vswitch.PortMap{
				{Proto: "tcp", HostPort: 8088, Target: "10.97.1.5", TargetPort: 8080},
				{Proto: "tcp", HostPort: 8088, Target: "fd97:1::5", TargetPort: 8080},
			},
		},
	}))
	require.NoError(t, r.s.Start())
	r.hpServe("b1", 8080)
	r.hpServe("b2", 8080)

	for _, c := range []struct {
		from, to, seen string
		servers        []string
	}{
		// The client in the backends' own network: hairpinned.
		{"c1", "10.97.9.9:80", "10.97.1.1", []string{"b1", "b2"}},
		{"c1", "[fd97:9::9]:80", "fd97:1::1", []string{"b1", "b2"}},
		{"c1", "10.97.2.1:8088", "10.97.1.1", []string{"b1"}},
		{"c1", "[fd97:2::1]:8088", "fd97:1::1", []string{"b1"}},
		// A backend reaching the service: hairpinned too (to itself or
		// the other backend).
		{"b2", "10.97.9.9:80", "10.97.1.1", []string{"b1", "b2"}},
		// Another network's client: its own address.
		{"c2", "10.97.9.9:80", "10.97.2.2", []string{"b1", "b2"}},
		{"c2", "[fd97:9::9]:80", "fd97:2::2", []string{"b1", "b2"}},
		{"c2", "10.97.2.1:8088", "10.97.2.2", []string{"b1"}},
	} {
		for i := range 4 { // several source ports: both backends' turn
			server, seen, err := r.hpAsk(c.from, c.to)
			require.NoError(t, err, "connection %d", i)
			require.Contains(t, c.servers, server, "%s -> %s", c.from, c.to)
			require.Equal(t, c.seen, seen, "%s -> %s: the address %s saw", c.from, c.to, server)
		}
	}
	st := r.s.NATStats()
	require.Positive(t, st.Hairpin, "port maps' hairpins")
	require.Empty(t, st.Refused)
}
