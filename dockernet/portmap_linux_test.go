package dockernet

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// outside is a namespace behind vswitchd's uplink: bridge "up" with a
// veth port into it (192.0.2.2/24, no route to the containers) and the
// router interface "up0" (192.0.2.1/24), the uplink of masquerades.
func (r *rig) outside() *nettest.NS {
	t := r.t
	ns := nettest.NewNS(t)
	for _, c := range [][]string{
		{"add-br", "up"},
		{"add-port", "up", "vso" + nettest.Suffix(), "type=veth", "netns=" + ns.Path(), "ip=192.0.2.2/24", "io=afpacket"},
		{"rif/add", "up0", "bridge=up", "addr=192.0.2.1/24"},
	} {
		require.NoError(t, r.vs(c[0], nil, c[1:]...), "%v", c)
	}
	return ns
}

// httpd serves "hello from NAME" on port 80 in ns with busybox httpd
// until the test ends.
func httpd(t *testing.T, ns *nettest.NS, name string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello from "+name+"\n"), 0o644))
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox for httpd")
	}
	cmd := ns.Command(bb, "httpd", "-f", "-p", "80", "-h", dir)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// fetch gets http://addr/ from ns, trying a few times.
func fetch(ns *nettest.NS, addr string, tries ...int) (string, error) {
	var out []byte
	var err error
	n := 5
	if len(tries) > 0 {
		n = tries[0]
	}
	for range n {
		out, err = ns.Command("wget", "-qO-", "-T", "2", "--tries=1", "http://"+addr+"/").CombinedOutput()
		if err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	return string(out), err
}

func natShow(r *rig) ctl.NATShowView {
	var v ctl.NATShowView
	require.NoError(r.t, r.vs("nat/show", &v))
	return v
}

// TestPublishedPorts: a network with -o masquerade=up0 gets a router
// interface and a masquerade; ProgramExternalConnectivity's bindings
// become port maps that the outside reaches (the container's gateway is
// the router interface) and a container of the network too (hairpin), a
// container reaches the outside through the masquerade, host port 0 takes the first free ephemeral port, bad
// bindings change nothing, a restart keeps the maps, and revoke, delete
// endpoint and delete network remove them.
func TestPublishedPorts(t *testing.T) {
	nettest.NeedRoot(t)
	if _, err := exec.LookPath("wget"); err != nil {
		t.Skip("no wget")
	}
	r := newRig(t, t.TempDir())
	out := r.outside()
	netID, poolID, gw := r.dockerNetwork("10.86.0.0/24", map[string]any{"masquerade": "up0"})
	plain, plainPool, _ := r.dockerNetwork("10.86.1.0/24", nil)
	v := natShow(r)
	require.Equal(t, []ctl.NATMasqueradeView{{Interface: routerName(netID), External: "up0"}}, v.Masquerade)

	c1, c2 := r.dockerRun(netID, poolID), r.dockerRun(netID, poolID)
	gwAddr := netip.MustParsePrefix(gw).Addr().String()
	for _, c := range []*container{c1, c2} {
		require.NoError(t, c.ns.Command("ip", "route", "add", "default", "via", gwAddr).Run())
	}
	httpd(t, c1.ns, "c1")
	httpd(t, c2.ns, "c2")
	ip1 := netip.MustParsePrefix(c1.addr).Addr().String()

	program := func(c *container, pbs ...portBinding) connectivityRequest {
		return connectivityRequest{NetworkID: netID, EndpointID: c.epID, Options: map[string]any{optPortMap: pbs}}
	}
	r.ok("NetworkDriver.ProgramExternalConnectivity", program(c1, portBinding{Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 8080}), nil)
	// Docker may call it again: the same maps.
	r.ok("NetworkDriver.ProgramExternalConnectivity", program(c1, portBinding{Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 8080}), nil)
	r.ok("NetworkDriver.ProgramExternalConnectivity", program(c2, portBinding{Proto: 6, Port: 80}, portBinding{Proto: 17, Port: 53, HostIP: "192.0.2.1", HostPort: 5353}), nil)
	v = natShow(r)
	require.ElementsMatch(t, []ctl.NATPortMapView{
		{Proto: "tcp", HostPort: 8080, Target: ip1, TargetPort: 80},
		{Proto: "tcp", HostPort: ephemeralFirst, Target: netip.MustParsePrefix(c2.addr).Addr().String(), TargetPort: 80},
		{Proto: "udp", Host: "192.0.2.1", HostPort: 5353, Target: netip.MustParsePrefix(c2.addr).Addr().String(), TargetPort: 53},
	}, v.PortMaps)

	got, err := fetch(out, "192.0.2.1:8080")
	require.NoError(t, err, got)
	require.Equal(t, "hello from c1\n", got)
	got, err = fetch(out, "192.0.2.1:49153")
	require.NoError(t, err, got)
	require.Equal(t, "hello from c2\n", got)
	// Hairpin: c2 reaches c1 through the uplink address.
	got, err = fetch(c2.ns, "192.0.2.1:8080")
	require.NoError(t, err, got)
	require.Equal(t, "hello from c1\n", got)
	require.NotZero(t, natShow(r).Hairpin)
	// Out through the masquerade: the outside has no route back to 10.86.
	o, err := c1.ns.Command("ping", "-c", "1", "-W", "3", "192.0.2.2").CombinedOutput()
	require.NoError(t, err, "%s", o)
	require.NotZero(t, natShow(r).SNAT)

	// Bad bindings: Docker's error, nothing changes.
	c3 := r.dockerRun(plain, plainPool)
	routed, routedPool, _ := r.dockerNetwork("10.86.2.0/24", map[string]any{"mode": "routed"})
	c4 := r.dockerRun(routed, routedPool)
	before := r.snapshot()
	beforeNAT := natShow(r).PortMaps
	for _, tc := range []struct {
		req  connectivityRequest
		want string
	}{
		{program(c1, portBinding{Proto: 132, Port: 80, HostPort: 80}), "tcp and udp"},
		{program(c2, portBinding{Proto: 6, Port: 80, HostPort: 8080}), "published already"},
		{program(c2, portBinding{Proto: 6, Port: 0, HostPort: 8081}), "container port 0"},
		{program(c2, portBinding{Proto: 6, Port: 80, HostIP: "fd00::1", HostPort: 8081}), "no address of that family"},
		{program(c2, portBinding{Proto: 6, Port: 80, HostIP: "300.1.1.1", HostPort: 8081}), "not an address"},
		{connectivityRequest{NetworkID: plain, EndpointID: c3.epID, Options: map[string]any{optPortMap: []portBinding{{Proto: 6, Port: 80, HostPort: 8082}}}}, "needs NAT"},
		// -p 127.0.0.1:8087:80: the host's loopback never reaches the
		// switch; the error names the addresses that can be published.
		{program(c2, portBinding{Proto: 6, Port: 80, HostIP: "127.0.0.1", HostPort: 8087}), "loopback address"},
		{program(c2, portBinding{Proto: 6, Port: 80, HostIP: "::1", HostPort: 8087}), "loopback address"},
		{program(c2, portBinding{Proto: 6, Port: 80, HostIP: "127.0.0.1", HostPort: 8087}), "up0 192.0.2.1"},
		// An address no uplink has would never match a packet.
		{program(c2, portBinding{Proto: 6, Port: 80, HostIP: "203.0.113.5", HostPort: 8086}), "no uplink of the switch has 203.0.113.5"},
		// A routed network is told what works there, not -o masquerade=
		// (which it refuses).
		{connectivityRequest{NetworkID: routed, EndpointID: c4.epID, Options: map[string]any{optPortMap: []portBinding{{Proto: 6, Port: 80, HostPort: 8083}}}}, "routed network"},
	} {
		r.fails("NetworkDriver.ProgramExternalConnectivity", tc.req, 500, tc.want)
		require.ElementsMatch(t, beforeNAT, natShow(r).PortMaps, "%+v", tc.req)
		require.Equal(t, before, r.snapshot(), "%+v", tc.req)
	}

	// A restart keeps the maps and what the driver made.
	r.restart()
	require.Len(t, natShow(r).PortMaps, 3)
	got, err = fetch(out, "192.0.2.1:8080")
	require.NoError(t, err, got)

	r.ok("NetworkDriver.RevokeExternalConnectivity", endpointRequest{NetworkID: netID, EndpointID: c1.epID}, nil)
	require.Len(t, natShow(r).PortMaps, 2)
	_, err = fetch(out, "192.0.2.1:8080", 1)
	require.Error(t, err, "an unpublished port still answers")
	r.dockerRm(netID, poolID, c2)
	require.Empty(t, natShow(r).PortMaps)
	r.dockerRm(netID, poolID, c1)
	r.dockerRm(plain, plainPool, c3)
	r.dockerRm(routed, routedPool, c4)
	r.dockerNetworkRm(netID, poolID, gw)
	v = natShow(r)
	require.Empty(t, v.Masquerade, "the network's masquerade goes with it")
	require.False(t, v.Enabled)
}
