package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/cnitest"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// vecswitch-cni when a call goes unanswered, is repeated, or comes after
// the container's namespace went without a DEL; CHECK against the
// runtime's previous result.

// TestCNIUnansweredAddDelegated: an ADD that vswitchd does not answer in
// time (here: stopped after host-local leased the network's one address)
// keeps the lease, so another container cannot get the address that
// vswitchd, once running again, gives the first; the runtime's DEL frees
// it. A repeated ADD answers what was made without asking host-local
// again (which refuses a second allocation to one container).
func TestCNIUnansweredAddDelegated(t *testing.T) {
	d := newDaemon(t)
	pid := d.cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) }) // before the daemon's cleanup
	br := cnitest.UniqueName("ub")
	d.must("add-br", br)
	// An IPAM plugin that stops vswitchd once (when the marker file is
	// there), then is host-local.
	pluginDir, dataDir := t.TempDir(), t.TempDir()
	marker := filepath.Join(pluginDir, "stop-once")
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ] && rm %s 2>/dev/null; then kill -STOP %d; fi\nexec %s\n",
		marker, pid, cnitest.RequireTool(t, "host-local"))
	require.NoError(t, os.WriteFile(filepath.Join(pluginDir, "stop-host-local"), []byte(script), 0o755))
	e := newCNIEnvVersion(t, d, "1.0.0", map[string]any{"bridge": br, "timeout": 2,
		"ipam": map[string]any{"type": "stop-host-local", "subnet": "10.184.0.0/24", "rangeStart": "10.184.0.10", "rangeEnd": "10.184.0.10",
			"dataDir": dataDir}})
	e.env["CNI_PATH"] += ":" + pluginDir
	leases := func() []string {
		l, _ := filepath.Glob(filepath.Join(dataDir, e.network, "10.184.0.*"))
		return l
	}
	a, b := cnitest.NewNetns(t), cnitest.NewNetns(t)

	require.NoError(t, os.WriteFile(marker, nil, 0o600))
	_, err := e.run("add", a, nil)
	require.ErrorContains(t, err, "no answer from vswitchd")
	require.Len(t, leases(), 1, "the lease was released though vswitchd may still use it")
	require.ErrorContains(t, err, "DEL removes it and releases its addresses")
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	require.Eventually(t, func() bool { return len(e.endpoints()) == 1 }, 10*time.Second, 50*time.Millisecond,
		"vswitchd, running again, makes the endpoint it was asked for")

	_, err = e.run("add", b, nil)
	require.ErrorContains(t, err, "no IP addresses available", "a second container got the first one's address")
	require.False(t, b.HasLink(t, "eth0"))
	require.Len(t, e.endpoints(), 1)

	// The runtime's DEL after the failed ADD removes the endpoint and
	// frees the address.
	e.must("del", a)
	require.Empty(t, e.endpoints())
	require.Empty(t, leases())
	ip := cnitest.FirstIPv4(e.must("add", b))
	require.Equal(t, "10.184.0.10", ip.String())
	again := e.must("add", b)
	require.Equal(t, ip.String(), cnitest.FirstIPv4(again).String(), "ADD again answers what was made")
	require.Len(t, e.endpoints(), 1)
	require.Len(t, leases(), 1)
	e.must("check", b)
	e.must("del", b)
	require.Empty(t, leases())
	requireNoEndpointVeths(t, d)
}

// namedNetns is a namespace the test deletes and makes again at the same
// path (cnitest's namespaces hold a handle: deleting the name would not
// end them).
func namedNetns(t *testing.T) (path string, add, del func()) {
	t.Helper()
	nettest.NeedRoot(t)
	name := "vst-" + nettest.Suffix()
	ip := func(op string) {
		t.Helper()
		out, err := exec.Command("ip", "netns", op, name).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	ip("add")
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return "/run/netns/" + name, func() { ip("add") }, func() { ip("del") }
}

// hasLink reports whether the namespace at path has interface name.
func hasLink(path, name string) bool {
	return exec.Command("ip", "-n", filepath.Base(path), "link", "show", name).Run() == nil
}

// TestCNIStaleEndpoint: an endpoint whose namespace was made anew at the
// same path, or is gone, is made again by the next ADD of its container
// (with host-local, whose lease it keeps), not answered with an
// interface that is not there or refused as attached already.
func TestCNIStaleEndpoint(t *testing.T) {
	d := newDaemon(t)
	br := cnitest.UniqueName("sb")
	d.must("add-br", br)
	dataDir := t.TempDir()
	network := cnitest.UniqueName("vst")
	conf := map[string]any{"cniVersion": "1.0.0", "name": network, "type": "vecswitch-cni", "bridge": br, "socket": d.socket,
		"ipam": map[string]any{"type": "host-local", "subnet": "10.186.0.0/24", "routes": []map[string]any{{"dst": "0.0.0.0/0"}},
			"dataDir": dataDir}}
	leases := func() []string {
		l, _ := filepath.Glob(filepath.Join(dataDir, network, "10.186.0.*"))
		return l
	}
	ipOf := func(r cniCall) string {
		t.Helper()
		require.NoError(t, r.err, "%s", r.out)
		return cnitest.FirstIPv4(r.out).String()
	}
	path, add, del := namedNetns(t)
	ip := ipOf(execCNI(t, "ADD", conf, "c1", path))
	require.Equal(t, ip, ipOf(execCNI(t, "ADD", conf, "c1", path)), "ADD again")

	// The namespace made anew at its path.
	del()
	add()
	require.Equal(t, ip, ipOf(execCNI(t, "ADD", conf, "c1", path)))
	require.True(t, hasLink(path, "eth0"), "the ADD answered an interface that is not there")
	require.NoError(t, execCNI(t, "CHECK", conf, "c1", path).err)

	// The namespace gone (a container stopped while vswitchd was down,
	// so its DEL failed), the container started again in another.
	del()
	other := cnitest.NewNetns(t)
	require.Equal(t, ip, ipOf(execCNI(t, "ADD", conf, "c1", other.Path())))
	require.True(t, other.HasLink(t, "eth0"))
	require.Len(t, leases(), 1)
	var eps []struct{ Netns, State string }
	require.NoError(t, d.vsctlJSON(&eps, "endpoint/show", "network="+network))
	require.Len(t, eps, 1)
	require.Equal(t, other.Path(), eps[0].Netns)
	require.Equal(t, "up", eps[0].State)

	// A live endpoint is still not taken over from another namespace.
	third := cnitest.NewNetns(t)
	r := execCNI(t, "ADD", conf, "c1", third.Path())
	require.Error(t, r.err)
	require.Contains(t, r.Msg, "attached already")

	require.NoError(t, execCNI(t, "DEL", conf, "c1", other.Path()).err)
	require.Empty(t, leases())
	requireNoEndpointVeths(t, d)
}

// TestCNICheckPrevResult: CHECK fails (code 101) when the container lacks
// an address of the runtime's previous result, or a route of it.
func TestCNICheckPrevResult(t *testing.T) {
	d := newDaemon(t)
	br := cnitest.UniqueName("kb")
	d.must("add-br", br)
	ns := cnitest.NewNetns(t)
	conf := netconf(cnitest.UniqueName("vsk"), br, d.socket, "10.187.0.0/24")
	conf["ipam"].(map[string]any)["routes"] = []map[string]any{{"dst": "0.0.0.0/0"}}
	r := execCNI(t, "ADD", conf, "c1", ns.Path())
	require.NoError(t, r.err, "%s", r.out)
	var prev map[string]any
	require.NoError(t, json.Unmarshal(r.out, &prev))
	withPrev := func(p map[string]any) map[string]any {
		c := map[string]any{}
		for k, v := range conf {
			c[k] = v
		}
		c["prevResult"] = p
		return c
	}
	require.NoError(t, execCNI(t, "CHECK", withPrev(prev), "c1", ns.Path()).err)

	// An address the container lacks.
	var more map[string]any
	require.NoError(t, json.Unmarshal(r.out, &more))
	more["ips"] = append(more["ips"].([]any), map[string]any{"address": "10.188.0.99/24", "interface": 1})
	r = execCNI(t, "CHECK", withPrev(more), "c1", ns.Path())
	require.Equal(t, uint(101), r.Code, "%s", r.out)
	require.Contains(t, r.Msg, "lacks address 10.188.0.99/24")

	// The default route deleted.
	_, err := ns.Exec(t, "ip", "route", "del", "default")
	require.NoError(t, err)
	r = execCNI(t, "CHECK", withPrev(prev), "c1", ns.Path())
	require.Equal(t, uint(101), r.Code, "%s", r.out)
	require.Contains(t, r.Msg, "lacks route 0.0.0.0/0 via 10.187.0.1")

	require.NoError(t, execCNI(t, "DEL", conf, "c1", ns.Path()).err)
	requireNoEndpointVeths(t, d)
}

// TestCNIWithPodmanAfterCrash: vswitchd killed (-9), a container stopped
// meanwhile (its DEL fails: its endpoint stays, its namespace goes),
// vswitchd started again: `podman start` attaches the container again
// (it failed: the endpoint was "attached already" in the gone namespace).
func TestCNIWithPodmanAfterCrash(t *testing.T) {
	d, p, img, network := podmanRig(t, "pc")
	run := []string{"run", "-d", "--network", network, "--cap-add", "NET_RAW", img, "sleep", "300"}
	c1 := p.Run(t, run...)
	c2 := p.Run(t, run...)
	ip1 := p.IP(t, c1, network)

	d.stop(syscall.SIGKILL)
	p.Try(t, "stop", "-t", "0", c1) // its DEL fails: vswitchd is down
	d.start()
	e := &cniEnv{t: t, d: d, network: network}
	require.Len(t, e.endpoints(), 2, "the stopped container's endpoint stays")

	p.Run(t, "start", c1)
	require.Equal(t, ip1, p.IP(t, c1, network), "the same address")
	p.Run(t, "exec", c2, "ping", "-c", "1", "-W", "5", ip1)
	eps := e.endpoints()
	require.Len(t, eps, 2)
	for _, ep := range eps {
		require.Equal(t, "up", ep.State)
	}
	p.Run(t, "rm", "-f", "-t", "0", c1)
	p.Run(t, "rm", "-f", "-t", "0", c2)
	require.Empty(t, e.endpoints())
	requireNoEndpointVeths(t, d)
}
