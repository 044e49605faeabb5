package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/cnitest"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/internal/nettest/netnsdir"
)

// vecswitch-cni run the way a runtime runs it (environment and stdin),
// with bad input and crashes: every failure is a CNI error with the
// spec's code, and nothing is left behind.

// cniCall is one plugin run's outcome: the result or the CNI error.
type cniCall struct {
	out  []byte
	err  error
	Code uint   `json:"code"`
	Msg  string `json:"msg"`
}

// execCNI runs vecswitch-cni with command cmd on netconf for container
// cid in namespace netnsPath.
func execCNI(t *testing.T, cmd string, netconf map[string]any, cid, netnsPath string) cniCall {
	t.Helper()
	conf, err := json.Marshal(netconf)
	require.NoError(t, err)
	c := exec.Command(bins.cni)
	c.Env = []string{"CNI_COMMAND=" + cmd, "CNI_CONTAINERID=" + cid, "CNI_NETNS=" + netnsPath, "CNI_IFNAME=eth0",
		"CNI_PATH=" + cnitest.PluginPath(t, bins.cni, "host-local"), "PATH=" + os.Getenv("PATH")}
	c.Stdin = bytes.NewReader(conf)
	r := cniCall{}
	r.out, r.err = c.Output()
	if r.err != nil {
		require.NoError(t, json.Unmarshal(r.out, &r), "a failing plugin prints a CNI error: %q", r.out)
	}
	return r
}

// netconf is a vecswitch network on bridge br with a vecswitch pool.
func netconf(network, br, socket, subnet string) map[string]any {
	return map[string]any{"cniVersion": "1.1.0", "name": network, "type": "vecswitch-cni", "bridge": br, "socket": socket,
		"ipam": map[string]any{"type": "vecswitch", "subnet": subnet}}
}

// portOf is the endpoint port name vswitchd derives from an attachment.
func portOf(network, cid, ifname string) string {
	h := sha256.Sum256([]byte(network + "\x00" + cid + "\x00" + ifname))
	return "vsc" + hex.EncodeToString(h[:6])
}

func (d *daemon) endpointCount(t *testing.T) int {
	t.Helper()
	var eps []ctl.EndpointView
	require.NoError(t, d.vsctlJSON(&eps, "endpoint/show"))
	return len(eps)
}

func TestCNIErrors(t *testing.T) {
	d := newDaemon(t)
	br := cnitest.UniqueName("eb")
	d.must("add-br", br)
	ns := cnitest.NewNetns(t)
	network := cnitest.UniqueName("ve")
	good := netconf(network, br, d.socket, "10.77.0.0/30") // one address: .2
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	cases := []struct {
		name  string
		cmd   string
		conf  map[string]any
		netns string
		code  uint
	}{
		{"malformed netconf", "ADD", with("vlan", "ten"), ns.Path(), 6},
		{"no bridge key", "ADD", with("bridge", ""), ns.Path(), 7},
		{"unknown bridge", "ADD", with("bridge", "nosuchbr"), ns.Path(), 7},
		{"bad subnet", "ADD", with("ipam", map[string]any{"type": "vecswitch", "subnet": "10.77.0.1/33"}), ns.Path(), 7},
		{"unreachable vswitchd", "ADD", with("socket", d.dir+"/nothing.sock"), ns.Path(), 11},
		{"netns does not exist", "ADD", good, "/run/netns/vs-no-such-ns", 8},
		{"status of an unreachable vswitchd", "STATUS", with("socket", d.dir+"/nothing.sock"), "", 50},
		{"status of an unknown bridge", "STATUS", with("bridge", "nosuchbr"), "", 50},
	}
	for _, c := range cases {
		r := execCNI(t, c.cmd, c.conf, "c-err", c.netns)
		require.Error(t, r.err, c.name)
		require.Equal(t, c.code, r.Code, "%s: %s", c.name, r.Msg)
		require.Contains(t, r.Msg, "vecswitch-cni", c.name)
		require.Equal(t, 0, d.endpointCount(t), c.name)
		require.False(t, ns.HasLink(t, "eth0"), "%s left an interface", c.name)
	}
	requireNoEndpointVeths(t, d)

	// The pool's one address, then exhaustion.
	r := execCNI(t, "ADD", good, "c1", ns.Path())
	require.NoError(t, r.err, "%s", r.out)
	ns2 := cnitest.NewNetns(t)
	r = execCNI(t, "ADD", good, "c2", ns2.Path())
	require.Equal(t, uint(100), r.Code, r.Msg)
	require.Contains(t, r.Msg, "10.77.0.0/30")
	require.False(t, ns2.HasLink(t, "eth0"))
	require.Equal(t, 1, d.endpointCount(t))
	r = execCNI(t, "STATUS", good, "", "")
	require.Equal(t, uint(50), r.Code, "STATUS says the pool is full: %s", r.Msg)
	require.NoError(t, execCNI(t, "DEL", good, "c1", ns.Path()).err)
	require.NoError(t, execCNI(t, "STATUS", good, "", "").err)
	requireNoEndpointVeths(t, d)
}

func TestCNICrashSafety(t *testing.T) {
	d := newDaemon(t)
	br := cnitest.UniqueName("sb")
	d.must("add-br", br)
	network := cnitest.UniqueName("vs")
	conf := netconf(network, br, d.socket, "10.78.0.0/24")
	a, b := cnitest.NewNetns(t), cnitest.NewNetns(t)
	r := execCNI(t, "ADD", conf, "ca", a.Path())
	require.NoError(t, r.err, "%s", r.out)
	r = execCNI(t, "ADD", conf, "cb", b.Path())
	require.NoError(t, r.err, "%s", r.out)
	ipB := cnitest.FirstIPv4(r.out)
	require.NotNil(t, ipB)
	require.NoError(t, a.Ping(t, ipB.String()))

	// kill -9 between ADD and DEL: DEL fails "try again" while vswitchd
	// is down, and works once it is back.
	d.stop(syscall.SIGKILL)
	r = execCNI(t, "DEL", conf, "ca", a.Path())
	require.Equal(t, uint(11), r.Code, r.Msg)
	d.start()
	require.Equal(t, 2, d.endpointCount(t), "the endpoints came back")
	require.NoError(t, a.Ping(t, ipB.String()), "traffic flows after the restart")
	require.NoError(t, execCNI(t, "DEL", conf, "ca", a.Path()).err)
	require.False(t, a.HasLink(t, "eth0"))
	// GC with no valid attachment removes b's endpoint, veth and lease.
	gc := map[string]any{}
	for k, v := range conf {
		gc[k] = v
	}
	gc["cni.dev/valid-attachments"] = []map[string]string{}
	require.NoError(t, execCNI(t, "GC", gc, "", "").err)
	require.Equal(t, 0, d.endpointCount(t))
	require.False(t, b.HasLink(t, "eth0"))
	var pools []ctl.PoolView
	require.NoError(t, d.vsctlJSON(&pools, "ipam/show", network))
	require.Empty(t, pools[0].Leases)
	requireNoEndpointVeths(t, d)

	// The container's namespace is gone before DEL (the runtime tore it
	// down first): DEL still removes the endpoint and its lease.
	name := "vst-gone-" + nettest.Suffix()
	h, err := netnsdir.NewNamed(name)
	require.NoError(t, err)
	h.Close()
	t.Cleanup(func() { netns.DeleteNamed(name) })
	r = execCNI(t, "ADD", conf, "cg", "/run/netns/"+name)
	require.NoError(t, r.err, "%s", r.out)
	require.NoError(t, netns.DeleteNamed(name))
	require.NoError(t, execCNI(t, "DEL", conf, "cg", "/run/netns/"+name).err)
	require.Equal(t, 0, d.endpointCount(t))
	require.NoError(t, d.vsctlJSON(&pools, "ipam/show", network))
	require.Empty(t, pools[0].Leases)

	// A veth of the endpoint's name made before a crash, never stored:
	// ADD replaces it, and GC removes one that nothing names.
	mine := vethAliasOf(t, d)
	stray := portOf(network, "cs", "eth0")
	makeVeth(t, stray, mine)
	r = execCNI(t, "ADD", conf, "cs", a.Path())
	require.NoError(t, r.err, "%s", r.out)
	require.True(t, a.HasLink(t, "eth0"))
	require.NoError(t, execCNI(t, "DEL", conf, "cs", a.Path()).err)
	orphan := portOf(network, "never-stored", "eth0")
	makeVeth(t, orphan, mine)
	// Another daemon's endpoint veth (its host ID in the alias), and one
	// from a version before aliases, are not this daemon's to remove.
	other := portOf(network, "other-daemons", "eth0")
	makeVeth(t, other, "vecswitch:0123456789abcdef")
	legacy := portOf(network, "legacy", "eth0")
	makeVeth(t, legacy, "")
	require.NoError(t, execCNI(t, "GC", gc, "", "").err)
	_, err = netlink.LinkByName(orphan)
	require.Error(t, err, "GC removes a stray endpoint veth")
	for _, n := range []string{other, legacy} {
		_, err = netlink.LinkByName(n)
		require.NoError(t, err, "GC removed %s, not this daemon's", n)
	}
	requireNoEndpointVeths(t, d)
}

// makeVeth makes a veth pair whose one end is called name, with alias
// (the other "vsp"+..., no alias), both in the host namespace, removed at
// cleanup.
func makeVeth(t *testing.T, name, alias string) {
	t.Helper()
	la := netlink.NewLinkAttrs()
	la.Name = name
	peer := "vsp" + name[3:]
	require.NoError(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: peer}))
	if alias != "" {
		l, err := netlink.LinkByName(name)
		require.NoError(t, err)
		require.NoError(t, netlink.LinkSetAlias(l, alias))
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(name); err == nil {
			netlink.LinkDel(l)
		}
	})
}
