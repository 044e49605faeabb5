package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/cnitest"
	"github.com/vecswitch/vecswitch/internal/dockertest"
)

// TestDockerNetwork: a real dockerd uses vswitchd as its network and IPAM
// driver: two containers on a network ping each other, a third on another
// network cannot reach them, disconnect/connect, -p refused, a pool too
// small refuses the next container, vswitchd killed and restarted under
// running containers keeps them connected, and rm -f and network rm leave
// no port, veth, endpoint, lease or pool behind.
func TestDockerNetwork(t *testing.T) {
	d, dk, name, img := dockerRig(t)

	netA, netB, small := cnitest.UniqueName("vsa"), cnitest.UniqueName("vsb"), cnitest.UniqueName("vss")
	dk.Docker(t, "network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.92.0.0/24", "-o", "mtu=1400", netA)
	dk.Docker(t, "network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.92.1.0/24", netB)
	run := func(ctr, network string) {
		dk.Docker(t, "run", "-d", "--name", ctr, "--network", network, "--cap-add", "NET_RAW", img, "sleep", "600")
	}
	ping := func(from, to string) error {
		_, err := dk.Try("exec", from, "ping", "-c", "1", "-W", "3", to)
		return err
	}
	c1, c2, c3 := cnitest.UniqueName("c1"), cnitest.UniqueName("c2"), cnitest.UniqueName("c3")
	run(c1, netA)
	run(c2, netA)
	run(c3, netB)
	ip1, ip2, ip3 := dk.IP(t, c1, netA), dk.IP(t, c2, netA), dk.IP(t, c3, netB)
	require.True(t, strings.HasPrefix(ip1, "10.92.0."), ip1)
	require.NotEqual(t, ip1, ip2)
	require.NoError(t, ping(c1, ip2))
	require.NoError(t, ping(c2, ip1))
	require.Error(t, ping(c3, ip1), "another network cannot reach them")
	require.Error(t, ping(c1, ip3))
	// The container's interface (libnetwork names it ethN) has -o mtu.
	links := dk.Docker(t, "exec", c1, "ip", "-o", "link")
	require.Regexp(t, `eth[0-9]+.* mtu 1400 `, links)
	eps := dockerEndpoints(t, d)
	require.Len(t, eps, 3)

	// Disconnect and connect again: a new endpoint, traffic again.
	dk.Docker(t, "network", "disconnect", netA, c2)
	require.Error(t, ping(c1, ip2))
	require.Len(t, dockerEndpoints(t, d), 2)
	dk.Docker(t, "network", "connect", netA, c2)
	ip2 = dk.IP(t, c2, netA)
	require.NoError(t, ping(c1, ip2))

	// Publishing a port needs NAT: refused, saying so, nothing left.
	out, err := dk.Try("run", "-d", "-p", "8080:80", "--network", netA, img, "sleep", "600")
	require.Error(t, err)
	require.ErrorContains(t, err, "needs NAT", "%s", out)
	require.Len(t, dockerEndpoints(t, d), 3)

	// A pool with one free address: the second container is refused.
	dk.Docker(t, "network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.92.2.0/30", small)
	c4, c5 := cnitest.UniqueName("c4"), cnitest.UniqueName("c5")
	run(c4, small)
	out, err = dk.Try("run", "-d", "--name", c5, "--network", small, img, "sleep", "600")
	require.Error(t, err)
	require.ErrorContains(t, err, "no free address", "%s", out)

	// An --ip-range equal to the subnet is taken, as Docker's IPAM takes
	// it; --ip of the gateway and an MTU no container port takes are
	// refused saying why.
	ranged := cnitest.UniqueName("vsr")
	dk.Docker(t, "network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.92.3.0/24", "--ip-range", "10.92.3.0/24", ranged)
	out, err = dk.Try("run", "-d", "--network", ranged, "--ip", "10.92.3.1", img, "sleep", "600")
	require.Error(t, err)
	require.ErrorContains(t, err, "10.92.3.1 is the network's gateway", "%s", out)
	out, err = dk.Try("network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.92.4.0/24", "-o", "mtu=1903", cnitest.UniqueName("vsm"))
	require.Error(t, err)
	require.ErrorContains(t, err, "mtu=1903: want 68 to 1902", "%s", out)

	// vswitchd killed and started again under running containers.
	d.stop(syscall.SIGKILL)
	d.start()
	require.NoError(t, ping(c1, ip2))
	require.NoError(t, ping(c2, ip1))

	// Everything goes with rm -f and network rm.
	dk.Docker(t, "rm", "-f", c1, c2, c3, c4)
	dk.Try("rm", "-f", c5)
	dk.Docker(t, "network", "rm", netA, netB, small, ranged)
	require.Empty(t, dockerEndpoints(t, d))
	var pools []ctl.PoolView
	require.NoError(t, d.vsctlJSON(&pools, "ipam/show"))
	require.Empty(t, pools, "no pool or lease left")
	var brs []string
	require.NoError(t, d.vsctlJSON(&brs, "list-br"))
	require.Empty(t, brs)
	requireNoEndpointVeths(t, d)
	out, err = exec.Command("ip", "-o", "link", "show").CombinedOutput()
	require.NoError(t, err)
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], "vdp") {
			t.Errorf("a container end waiting for Docker is left: %s", l)
		}
	}
}

func dockerEndpoints(t *testing.T, d *daemon) []ctl.EndpointView {
	t.Helper()
	var eps []ctl.EndpointView
	require.NoError(t, d.vsctlJSON(&eps, "endpoint/show"))
	return eps
}

// TestDockerOutage: Docker's calls during a vswitchd outage longer than
// its retries (about 15 s a call) are lost, and vswitchd repairs what they
// left. docker rm -f of a container while vswitchd is down: at its next
// start vswitchd deletes the endpoint, its veth pair and its lease (the
// container end came back to its namespace, a minute after Join), and
// keeps the other container's. docker network rm while vswitchd is down:
// a later network of an overlapping subnet is refused naming the network
// left and the command that removes it; once its bridge is removed, the
// driver forgets the network and its pool, and the new network is made.
func TestDockerOutage(t *testing.T) {
	d, dk, name, img := dockerRig(t)

	netA := cnitest.UniqueName("vsa")
	dk.Docker(t, "network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.94.0.0/24", netA)
	c1, c2 := cnitest.UniqueName("c1"), cnitest.UniqueName("c2")
	for _, c := range []string{c1, c2} {
		dk.Docker(t, "run", "-d", "--name", c, "--network", netA, img, "sleep", "600")
	}
	joined := time.Now()
	ip1 := dk.IP(t, c1, netA)
	eps := dockerEndpoints(t, d)
	require.Len(t, eps, 2)
	var ifname1 string // c1's container end, vdp + 12 digits of its endpoint ID
	for _, ep := range eps {
		if ep.Addrs[0] == ip1+"/24" {
			ifname1 = ep.IfName
		}
	}
	require.NotEmpty(t, ifname1)

	d.stop(syscall.SIGKILL)
	dk.Docker(t, "rm", "-f", c1) // Docker gives up on each call and goes on
	// The driver collects an endpoint a minute (joinGrace) after its Join.
	time.Sleep(time.Until(joined.Add(61 * time.Second)))
	d.start()
	eps = dockerEndpoints(t, d)
	require.Len(t, eps, 1, "the endpoint of the container removed during the outage is gone")
	require.Equal(t, dk.IP(t, c2, netA)+"/24", eps[0].Addrs[0])
	out, err := exec.Command("ip", "link", "show", ifname1).CombinedOutput()
	require.Error(t, err, "its container end, back in vswitchd's namespace, is gone: %s", out)
	var pools []ctl.PoolView
	require.NoError(t, d.vsctlJSON(&pools, "ipam/show"))
	require.Len(t, pools, 1)
	require.NoError(t, d.vsctlJSON(&pools, "ipam/show", pools[0].Name))
	require.Len(t, pools[0].Leases, 1, "the lease of the container removed is released: %+v", pools[0].Leases)
	require.NotEqual(t, []string{ip1 + "/24"}, pools[0].Leases[0].Addrs)

	dk.Docker(t, "rm", "-f", c2)
	d.stop(syscall.SIGKILL)
	dk.Docker(t, "network", "rm", netA)
	d.start()
	var brs []string
	require.NoError(t, d.vsctlJSON(&brs, "list-br"))
	require.Len(t, brs, 1, "the bridge of the network removed during the outage is left")
	netB := cnitest.UniqueName("vsb")
	out2, err := dk.Try("network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.94.0.0/16", netB)
	require.Error(t, err)
	require.ErrorContains(t, err, "vsctl del-br", "%s", out2)
	require.ErrorContains(t, err, brs[0], "%s", out2)
	d.must("del-br", brs[0])
	dk.Docker(t, "network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.94.0.0/16", netB)
	dk.Docker(t, "network", "rm", netB)
	require.NoError(t, d.vsctlJSON(&pools, "ipam/show"))
	require.Empty(t, pools, "the pool of the network forgotten went with it")
	require.NoError(t, d.vsctlJSON(&brs, "list-br"))
	require.Empty(t, brs)
}

// dockerRig starts vswitchd serving the Docker plugin (registered as
// name, for both the network and the IPAM driver), a private dockerd
// and a busybox image img in it; it skips without Docker.
func dockerRig(t *testing.T) (d *daemon, dk *dockertest.Daemon, name, img string) {
	dockertest.RequireDocker(t)
	plugin := filepath.Join(t.TempDir(), "docker.sock")
	d = newDaemon(t, "--docker-plugin", plugin)
	name = cnitest.UniqueName("vsd")
	dockertest.WritePluginSpec(t, name, plugin)
	dk = dockertest.Start(t)
	return d, dk, name, dk.ImportBusybox(t)
}
