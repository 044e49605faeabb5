package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/ctl"
	daemonpkg "github.com/vecswitch/vecswitch/ctl/daemon"
	"github.com/vecswitch/vecswitch/internal/cnitest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// vecswitch-cni driven by real CNI clients: cnitool (the CNI project's
// own, at the library's version) against a running vswitchd.

// cniEnv is a private CNI configuration: a conflist of one vecswitch-cni
// network and the cnitool environment that uses it.
type cniEnv struct {
	t       *testing.T
	d       *daemon
	cnitool string
	network string
	env     map[string]string
}

// newCNIEnv writes a conflist (cniVersion 1.1.0) for a vecswitch network
// on bridge br with the given plugin settings.
func newCNIEnv(t *testing.T, d *daemon, plugin map[string]any) *cniEnv {
	t.Helper()
	return newCNIEnvVersion(t, d, "1.1.0", plugin)
}

// newCNIEnvVersion is newCNIEnv with the conflist's cniVersion.
func newCNIEnvVersion(t *testing.T, d *daemon, cniVersion string, plugin map[string]any) *cniEnv {
	t.Helper()
	netDir := t.TempDir()
	network := cnitest.UniqueName("vsn")
	plugin["type"] = "vecswitch-cni"
	plugin["socket"] = d.socket
	cnitest.WriteConflistVersion(t, netDir, network, cniVersion, plugin)
	return &cniEnv{t: t, d: d, cnitool: cnitest.Cnitool(t), network: network,
		env: map[string]string{"NETCONFPATH": netDir, "CNI_PATH": cnitest.PluginPath(t, bins.cni, "host-local")}}
}

func (e *cniEnv) run(op string, ns *cnitest.Netns, extra map[string]string) ([]byte, error) {
	env := map[string]string{}
	for k, v := range e.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	path := "/proc/self/ns/net" // gc and status take no namespace
	if ns != nil {
		path = ns.Path()
	}
	return cnitest.RunCnitool(e.t, e.cnitool, op, e.network, path, env)
}

func (e *cniEnv) must(op string, ns *cnitest.Netns) []byte {
	e.t.Helper()
	out, err := e.run(op, ns, nil)
	require.NoError(e.t, err)
	return out
}

func (e *cniEnv) endpoints() []ctl.EndpointView {
	e.t.Helper()
	var eps []ctl.EndpointView
	require.NoError(e.t, e.d.vsctlJSON(&eps, "endpoint/show", "network="+e.network))
	return eps
}

func vecswitchIPAM(subnet string) map[string]any {
	return map[string]any{"type": "vecswitch", "subnet": subnet, "routes": []map[string]any{{"dst": "0.0.0.0/0"}}}
}

func TestCNIWithCnitool(t *testing.T) {
	d := newDaemon(t)
	br := cnitest.UniqueName("cb")
	d.must("add-br", br)
	subnet := cnitest.RandomSubnet4()
	e := newCNIEnv(t, d, map[string]any{"bridge": br, "ipam": vecswitchIPAM(subnet), "dns": map[string]any{"nameservers": []string{"10.0.0.53"}}})
	a, b := cnitest.NewNetns(t), cnitest.NewNetns(t)

	resA := e.must("add", a)
	resB := e.must("add", b)
	ipA, ipB := cnitest.FirstIPv4(resA), cnitest.FirstIPv4(resB)
	require.NotNil(t, ipA, "%s", resA)
	require.NotNil(t, ipB, "%s", resB)
	require.NotEqual(t, ipA.String(), ipB.String())

	// The result is what the spec asks for.
	var r struct {
		CNIVersion string `json:"cniVersion"`
		Interfaces []struct {
			Name, Mac, Sandbox string
		} `json:"interfaces"`
		IPs []struct {
			Address, Gateway string
			Interface        *int
		} `json:"ips"`
		Routes []struct{ Dst, Gw string } `json:"routes"`
		DNS    struct{ Nameservers []string }
	}
	require.NoError(t, json.Unmarshal(resA, &r))
	require.Equal(t, "1.1.0", r.CNIVersion)
	require.Len(t, r.Interfaces, 2)
	require.Equal(t, "eth0", r.Interfaces[1].Name)
	require.Equal(t, a.Path(), r.Interfaces[1].Sandbox)
	require.Len(t, r.IPs, 1)
	require.Equal(t, 1, *r.IPs[0].Interface)
	require.Equal(t, strings.TrimSuffix(subnet, "0/24")+"1", r.IPs[0].Gateway)
	require.Equal(t, []string{"10.0.0.53"}, r.DNS.Nameservers)
	require.Len(t, r.Routes, 1)
	require.Equal(t, "0.0.0.0/0", r.Routes[0].Dst)
	require.True(t, a.HasLink(t, "eth0"))
	link, err := a.Exec(t, "ip", "-o", "link", "show", "eth0")
	require.NoError(t, err)
	require.Contains(t, string(link), r.Interfaces[1].Mac)

	require.NoError(t, a.Ping(t, ipB.String()))
	require.NoError(t, b.Ping(t, ipA.String()))
	e.must("check", a)
	e.must("check", b)
	require.Len(t, e.endpoints(), 2)

	// ADD again answers what was made.
	again := e.must("add", a)
	require.Equal(t, ipA.String(), cnitest.FirstIPv4(again).String())
	require.Len(t, e.endpoints(), 2)

	// CHECK notices a container interface that lost its address.
	_, err = a.Exec(t, "ip", "addr", "flush", "dev", "eth0")
	require.NoError(t, err)
	_, err = e.run("check", a, nil)
	require.ErrorContains(t, err, "lacks address")

	// DEL removes the port, the veth and the lease; DEL again succeeds.
	e.must("del", a)
	require.False(t, a.HasLink(t, "eth0"))
	e.must("del", a)
	eps := e.endpoints()
	require.Len(t, eps, 1)
	_, err = e.run("check", a, nil)
	require.Error(t, err)

	// STATUS: the network is ready.
	e.must("status", nil)

	// GC with no valid attachments (cnitool passes none) removes b too.
	e.must("gc", nil)
	require.Empty(t, e.endpoints())
	require.False(t, b.HasLink(t, "eth0"))
	var pools []ctl.PoolView
	require.NoError(t, d.vsctlJSON(&pools, "ipam/show", e.network))
	require.Equal(t, 0, pools[0].Ranges[0].Used)
	requireNoEndpointVeths(t, d)
}

// requireNoEndpointVeths fails if a host interface of an endpoint port
// made by daemon d is left on the host. Only d's veths count (their alias
// carries d's host ID): other tests' daemons, running at the same time,
// have theirs.
func requireNoEndpointVeths(t *testing.T, d *daemon) {
	t.Helper()
	alias := vethAliasOf(t, d)
	links, err := netlink.LinkList()
	require.NoError(t, err)
	for _, l := range links {
		a := l.Attrs()
		if strings.HasPrefix(a.Name, "vsc") && len(a.Name) == 15 && a.Alias == alias {
			t.Errorf("endpoint veth left: %s (%s)", a.Name, a.Alias)
		}
	}
}

// vethAliasOf is the alias daemon d gives the veths it makes: its host ID,
// read from its stored state.
func vethAliasOf(t *testing.T, d *daemon) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(d.dir, "state", daemonpkg.StateFile))
	require.NoError(t, err)
	var st struct {
		HostID string `json:"host_id"`
	}
	require.NoError(t, json.Unmarshal(raw, &st))
	require.NotEmpty(t, st.HostID, "the daemon stored no host ID")
	return "vecswitch:" + st.HostID
}

// TestCNIDualStackAndFixedAddresses: a dual-stack pool gives each
// container one IPv4 and one IPv6 address, both usable; a runtime's fixed
// IP and MAC (runtimeConfig, through cnitool's CAP_ARGS) are honoured.
func TestCNIDualStackAndFixedAddresses(t *testing.T) {
	d := newDaemon(t)
	br := cnitest.UniqueName("db")
	d.must("add-br", br)
	e := newCNIEnv(t, d, map[string]any{"bridge": br, "capabilities": map[string]bool{"ips": true, "mac": true},
		"ipam": map[string]any{"type": "vecswitch", "ranges": [][]map[string]any{{{"subnet": "10.79.0.0/24"}}, {{"subnet": "fd00:79::/64"}}}}})
	a, b := cnitest.NewNetns(t), cnitest.NewNetns(t)
	e.must("add", a)
	resB, err := e.run("add", b, map[string]string{"CAP_ARGS": `{"ips":["10.79.0.50/24","fd00:79::50/64"],"mac":"02:79:00:00:00:50"}`})
	require.NoError(t, err)
	var r struct {
		Interfaces []struct{ Mac string }
		IPs        []struct{ Address string }
	}
	require.NoError(t, json.Unmarshal(resB, &r))
	require.Equal(t, "02:79:00:00:00:50", r.Interfaces[1].Mac)
	require.Len(t, r.IPs, 2)
	require.Equal(t, "10.79.0.50/24", r.IPs[0].Address)
	require.Equal(t, "fd00:79::50/64", r.IPs[1].Address)
	require.NoError(t, a.Ping(t, "10.79.0.50"))
	require.NoError(t, a.Ping(t, "fd00:79::50"))
	// The same address for another container is refused.
	c := cnitest.NewNetns(t)
	_, err = e.run("add", c, map[string]string{"CAP_ARGS": `{"ips":["10.79.0.50/24"]}`})
	require.ErrorContains(t, err, "10.79.0.50")
	require.False(t, c.HasLink(t, "eth0"))
	e.must("del", a)
	e.must("del", b)
	requireNoEndpointVeths(t, d)
}

// TestCNIDelegatedIPAM: with another IPAM plugin (the standard
// host-local), vecswitch-cni runs it by delegation and configures what it
// returns; DEL releases host-local's lease.
func TestCNIDelegatedIPAM(t *testing.T) {
	d := newDaemon(t)
	br := cnitest.UniqueName("hb")
	d.must("add-br", br)
	dataDir := t.TempDir()
	// Debian's host-local (1.1.1) speaks CNI up to 1.0.0.
	e := newCNIEnvVersion(t, d, "1.0.0", map[string]any{"bridge": br,
		"ipam": map[string]any{"type": "host-local", "ranges": [][]map[string]any{{{"subnet": "10.80.0.0/24"}}}, "dataDir": dataDir}})
	a, b := cnitest.NewNetns(t), cnitest.NewNetns(t)
	e.must("add", a)
	ipB := cnitest.FirstIPv4(e.must("add", b))
	require.NotNil(t, ipB)
	require.NoError(t, a.Ping(t, ipB.String()))
	e.must("check", a)
	leases, _ := filepath.Glob(filepath.Join(dataDir, e.network, "10.80.0.*"))
	require.Len(t, leases, 2)
	e.must("del", a)
	e.must("del", b)
	leases, _ = filepath.Glob(filepath.Join(dataDir, e.network, "10.80.0.*"))
	require.Empty(t, leases, "host-local's leases released by DEL")
	require.Empty(t, e.endpoints())
	requireNoEndpointVeths(t, d)
}

// TestCNIAFPacket: a network with "io": "afpacket" gives its containers
// veths read by AF_PACKET: they keep checksum offload (and so TSO), reach
// each other, and DEL leaves nothing.
func TestCNIAFPacket(t *testing.T) {
	d := newDaemon(t)
	br := cnitest.UniqueName("pk")
	d.must("add-br", br)
	e := newCNIEnv(t, d, map[string]any{"bridge": br, "io": "afpacket",
		"ipam": map[string]any{"type": "vecswitch", "subnet": "10.82.0.0/24"}})
	a, b := cnitest.NewNetns(t), cnitest.NewNetns(t)
	e.must("add", a)
	ipB := cnitest.FirstIPv4(e.must("add", b))
	require.NotNil(t, ipB)
	require.NoError(t, a.Ping(t, ipB.String()))
	on, err := netdev.TxChecksumAt(a.Path(), "eth0")
	require.NoError(t, err)
	require.True(t, on, "the container's checksum offload is off: its frames are not large")
	eps := e.endpoints()
	require.Len(t, eps, 2)
	var stats []ctl.PortStats
	require.NoError(t, d.vsctlJSON(&stats, "port/stats", eps[0].Port))
	require.Len(t, stats, 1)
	drv, _ := json.Marshal(stats[0].Driver)
	require.Contains(t, string(drv), "RxInvalid", "the port's driver is not AF_PACKET's: %s", drv)
	e.must("del", a)
	e.must("del", b)
	requireNoEndpointVeths(t, d)
}
